import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type {
  AccessItem,
  AccessRequestBody,
  AccountSelection,
  Metadata,
  PerIdentityItem,
  PerIdentityRequest,
} from './access-request.types';
import {
  AccessRequestDto,
  type AccessRequestItemDto,
  type RequestedItemDtoRefDto,
} from './dto/access-request.dto';
import { isCommonValidShape } from './access-request.fast-path';
import { utcIsoString } from './dto/validators';
import { checkIdentityNowRules, type RuleOptions } from './identitynow.rules';

export type ValidationResult = { ok: true; value: AccessRequestBody } | { ok: false; messages: string[] };

/** A valid body nests 9 levels (requestedForWithRequestedItems…accounts[i]); deeper is a recursion bomb. */
const MAX_DEPTH = 10;

/** The one validator of the edge and the worker (docs/architecture.md, Validation). */
export function validateAccessRequest(body: unknown, opts: RuleOptions): ValidationResult {
  if (isCommonValidShape(body)) return checkRulesAndNormalise(body, opts);
  return validateWithDtos(body, opts);
}

/** The reference path, DTO shape checks for every body; exported for the fast path's equivalence test. */
export function validateWithDtos(body: unknown, opts: RuleOptions): ValidationResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, messages: ['the request body must be a JSON object (an IdentityNow AccessRequest)'] };
  }
  const structural = structuralProblem(body, '', MAX_DEPTH);
  if (structural !== undefined) return { ok: false, messages: [structural] };
  const dto = plainToInstance(AccessRequestDto, body, { enableImplicitConversion: false });
  const errors = validateSync(dto, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length === 0) return checkRulesAndNormalise(dto, opts);
  const malformed = new Set<string>();
  const shape = flattenErrors(errors, '', malformed);
  // The rules still judge the well-formed parts, so one answer lists every broken rule.
  return { ok: false, messages: [...new Set([...shape, ...checkIdentityNowRules(dto, opts, malformed)])] };
}

function checkRulesAndNormalise(dto: AccessRequestDto, opts: RuleOptions): ValidationResult {
  const problems = checkIdentityNowRules(dto, opts);
  if (problems.length > 0) return { ok: false, messages: problems };
  return { ok: true, value: normalise(dto) };
}

// class-transformer walks plain maps (clientMetadata) key by key and breaks on these names.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Nesting bombs, prototype-ish keys and arrays in arrays, found before class-transformer walks the body. */
function structuralProblem(value: unknown, path: string, budget: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (budget === 0) return `the request body is nested deeper than ${MAX_DEPTH} levels`;
  const isArray = Array.isArray(value);
  for (const [k, v] of Object.entries(value)) {
    const here = isArray ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`;
    if (!isArray && FORBIDDEN_KEYS.has(k)) return `${here}: "${k}" is not allowed as a key`;
    // ValidateNested takes an array element that is itself an array as a list of items, which no field is.
    if (isArray && Array.isArray(v)) return `${here} must not be an array`;
    const problem = structuralProblem(v, here, budget - 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Every path with a failed constraint is also added to `malformed`. */
function flattenErrors(
  errors: readonly ValidationError[],
  parentPath: string,
  malformed: Set<string>,
): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const isIndex = /^\d+$/.test(e.property);
    const path =
      parentPath === ''
        ? e.property
        : isIndex
          ? `${parentPath}[${e.property}]`
          : `${parentPath}.${e.property}`;
    for (const [rule, message] of Object.entries(e.constraints ?? {})) {
      out.push(rewrite(rule, message, e.property, path));
      malformed.add(path);
    }
    if (e.children !== undefined && e.children.length > 0)
      out.push(...flattenErrors(e.children, path, malformed));
  }
  return out;
}

/** class-validator names only the last property; our messages name the whole path. */
function rewrite(rule: string, message: string, property: string, path: string): string {
  if (rule === 'whitelistValidation')
    return `${path} is not a field of an IdentityNow access request; remove it`;
  if (rule === 'nestedValidation') return `${path} must be an object or an array of objects`;
  if (message.startsWith(`${property} `) || message.startsWith(`${property}.`))
    return path + message.slice(property.length);
  const each = `each value in ${property} `;
  if (message.startsWith(each)) return `each value in ${path} ${message.slice(each.length)}`;
  return `${path}: ${message}`;
}

const utc = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : (utcIsoString(v) ?? new Date(v).toISOString());

function meta(m: Metadata | undefined): Metadata | undefined {
  return m === undefined ? undefined : { ...m };
}

function dropUndefined<T extends object>(o: T): T {
  // A loop rather than entries/filter/fromEntries: this runs for every item of every request.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}

function normaliseItem(i: AccessRequestItemDto): AccessItem {
  return dropUndefined({
    type: i.type,
    id: i.id.trim(),
    comment: i.comment,
    clientMetadata: meta(i.clientMetadata),
    startDate: utc(i.startDate),
    removeDate: utc(i.removeDate),
    assignmentId: i.assignmentId?.trim() ?? undefined,
    nativeIdentity: i.nativeIdentity?.trim() ?? undefined,
  });
}

function normaliseSelection(s: RequestedItemDtoRefDto['accountSelection']): AccountSelection[] | undefined {
  if (s == null) return undefined;
  return s.map((sel) =>
    dropUndefined({
      sourceId: sel.sourceId ?? undefined,
      accounts: sel.accounts?.map((a) =>
        dropUndefined({ accountUuid: a.accountUuid ?? undefined, nativeIdentity: a.nativeIdentity }),
      ),
    }),
  );
}

function normalisePerIdentityItem(i: RequestedItemDtoRefDto): PerIdentityItem {
  return dropUndefined({
    type: i.type,
    id: i.id.trim(),
    comment: i.comment,
    clientMetadata: meta(i.clientMetadata),
    startDate: utc(i.startDate),
    removeDate: utc(i.removeDate),
    accountSelection: normaliseSelection(i.accountSelection),
  });
}

function normalise(dto: AccessRequestDto): AccessRequestBody {
  if (dto.requestedForWithRequestedItems != null) {
    const targets: PerIdentityRequest[] = dto.requestedForWithRequestedItems.map((t) => ({
      identityId: t.identityId.trim(),
      requestedItems: t.requestedItems.map(normalisePerIdentityItem),
    }));
    return dropUndefined({
      requestType: 'GRANT_ACCESS' as const,
      clientMetadata: meta(dto.clientMetadata),
      requestedForWithRequestedItems: targets,
    });
  }
  return dropUndefined({
    requestType: dto.requestType ?? 'GRANT_ACCESS',
    requestedFor: (dto.requestedFor ?? []).map((id) => id.trim()),
    requestedItems: (dto.requestedItems ?? []).map(normaliseItem),
    clientMetadata: meta(dto.clientMetadata),
  });
}
