import { IDN_V3_SCHEMAS } from './idn-schemas.generated';
import { describeSchemaErrors, OpenApiValidator } from './openapi-schema';
import type { SimAccountSelection, SimItemType, SimRequestType } from './simulator.types';

export type RequestType = SimRequestType;
export type ItemType = SimItemType;

/** One identity × one item of a submitted request, as the simulator stores it. */
export interface SubmittedPair {
  readonly identityId: string;
  readonly type: ItemType;
  readonly id: string;
  readonly comment: string | null;
  readonly clientMetadata: Readonly<Record<string, string>> | null;
  readonly startDate: string | null;
  readonly removeDate: string | null;
  readonly assignmentId: string | null;
  readonly nativeIdentity: string | null;
  readonly accountSelection: readonly SimAccountSelection[] | null;
}

export interface NormalizedRequest {
  readonly requestType: RequestType;
  readonly clientMetadata: Readonly<Record<string, string>> | null;
  /** Identities in submission order, each with its items (duplicates inside the request collapsed). */
  readonly identities: readonly { readonly identityId: string; readonly pairs: readonly SubmittedPair[] }[];
}

export type RuleResult =
  | { readonly ok: true; readonly request: NormalizedRequest }
  | { readonly ok: false; readonly messages: readonly string[] };

// How IdentityNow counts toward its caps is undocumented: entries as written count, duplicates included.
export const MAX_ENTITLEMENTS_PER_REQUEST = 25;
export const MAX_IDENTITIES_WITH_ENTITLEMENTS = 10;

const ALT_FORM = 'AccessRequestWithRequestedForWithRequestedItems';

function buildValidator(): OpenApiValidator {
  const accessRequest = IDN_V3_SCHEMAS.AccessRequest as Record<string, unknown>;
  // The spec requires requestedFor and requestedItems, yet documents requestedForWithRequestedItems as
  // the form used without them: that form is checked against the same schema minus that `required`.
  const alt = Object.fromEntries(Object.entries(accessRequest).filter(([k]) => k !== 'required'));
  return new OpenApiValidator({ components: { schemas: { ...IDN_V3_SCHEMAS, [ALT_FORM]: alt } } });
}

let validator: OpenApiValidator | undefined;
export function getValidator(): OpenApiValidator {
  validator ??= buildValidator();
  return validator;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function metadata(v: unknown): Readonly<Record<string, string>> | null {
  return isRecord(v) ? (v as Record<string, string>) : null;
}

/** Validates a cancel body against the official `CancelAccessRequest` schema. */
export function checkCancelRequest(body: unknown): string[] {
  const res = getValidator().validateSchema('CancelAccessRequest', body);
  return describeSchemaErrors(res.errors).map((p) => p.message);
}

/** Official schema plus IdentityNow's 400 rules, normalised into pairs (self-revoke refused). */
export function checkAccessRequest(body: unknown, tokenIdentityId: string | null, now: number): RuleResult {
  const alt = isRecord(body) && Array.isArray(body.requestedForWithRequestedItems);
  const schemaResult = getValidator().validateSchema(alt ? ALT_FORM : 'AccessRequest', body);
  if (!schemaResult.valid) {
    return { ok: false, messages: describeSchemaErrors(schemaResult.errors).map((p) => p.message) };
  }
  const b = body as Record<string, unknown>;
  const messages: string[] = [];
  const requestType = (str(b.requestType) ?? 'GRANT_ACCESS') as RequestType;

  let identities: { identityId: string; items: { raw: Record<string, unknown>; at: string }[] }[];
  if (alt) {
    if (b.requestedFor !== undefined || b.requestedItems !== undefined) {
      messages.push(
        'requestedForWithRequestedItems can only be used when requestedFor and requestedItems are not provided',
      );
    }
    if (requestType !== 'GRANT_ACCESS') {
      messages.push(`requestedForWithRequestedItems is only supported for GRANT_ACCESS, not ${requestType}`);
    }
    const groups = b.requestedForWithRequestedItems as Record<string, unknown>[];
    if (groups.length === 0) messages.push('requestedForWithRequestedItems must have at least 1 item(s)');
    identities = groups.map((g, gi) => {
      const items = (g.requestedItems as Record<string, unknown>[]).map((raw, ii) => ({
        raw,
        at: `requestedForWithRequestedItems[${gi}].requestedItems[${ii}]`,
      }));
      if (items.length === 0) {
        messages.push(`requestedForWithRequestedItems[${gi}].requestedItems must have at least 1 item(s)`);
      }
      return { identityId: g.identityId as string, items };
    });
  } else {
    const requestedFor = b.requestedFor as string[];
    const items = (b.requestedItems as Record<string, unknown>[]).map((raw, i) => ({
      raw,
      at: `requestedItems[${i}]`,
    }));
    if (requestedFor.length === 0) messages.push('requestedFor must have at least 1 item(s)');
    identities = requestedFor.map((identityId) => ({ identityId, items }));
  }

  for (const [i, g] of identities.entries()) {
    const at = alt ? `requestedForWithRequestedItems[${i}].identityId` : `requestedFor[${i}]`;
    if (g.identityId.trim() === '') messages.push(`${at} must not be empty`);
  }
  const allItems = identities.flatMap((g) => g.items);
  const writtenItems = alt ? allItems : (identities[0]?.items ?? []);
  const entitlements = writtenItems.filter((x) => x.raw.type === 'ENTITLEMENT').length;

  for (const { raw, at } of writtenItems) {
    if ((raw.id as string).trim() === '') messages.push(`${at}.id must not be empty`);
    const removeDate = str(raw.removeDate);
    if (removeDate !== null && Date.parse(removeDate) <= now) {
      messages.push(`${at}.removeDate must be a future date-time (got ${removeDate})`);
    }
    if (requestType === 'REVOKE_ACCESS') {
      const comment = str(raw.comment);
      if (comment === null || comment.trim() === '') {
        messages.push(`${at}.comment is required for REVOKE_ACCESS`);
      }
      if (raw.startDate !== undefined) messages.push(`${at}.startDate is not allowed for REVOKE_ACCESS`);
    }
  }

  if (entitlements > 0) {
    if (entitlements > MAX_ENTITLEMENTS_PER_REQUEST) {
      messages.push(
        `at most ${MAX_ENTITLEMENTS_PER_REQUEST} entitlements can be requested in one request (got ${entitlements})`,
      );
    }
    if (identities.length > MAX_IDENTITIES_WITH_ENTITLEMENTS) {
      messages.push(
        `at most ${MAX_IDENTITIES_WITH_ENTITLEMENTS} identities can be requested for when entitlements are requested (got ${identities.length})`,
      );
    }
  }
  if (requestType === 'REVOKE_ACCESS') {
    if (identities.length !== 1) {
      messages.push(`REVOKE_ACCESS requires exactly one identity in requestedFor (got ${identities.length})`);
    }
    if (entitlements > 1) {
      messages.push(`REVOKE_ACCESS allows at most 1 entitlement per request (got ${entitlements})`);
    }
    if (tokenIdentityId !== null && identities.some((g) => g.identityId === tokenIdentityId)) {
      messages.push('REVOKE_ACCESS does not support self request (requestedFor is the caller itself)');
    }
  }
  if (messages.length > 0) return { ok: false, messages };

  const seen = new Set<string>();
  const normalized: { identityId: string; pairs: SubmittedPair[] }[] = [];
  for (const g of identities) {
    let group = normalized.find((n) => n.identityId === g.identityId);
    if (group === undefined) {
      group = { identityId: g.identityId, pairs: [] };
      normalized.push(group);
    }
    for (const { raw } of g.items) {
      const key = `${g.identityId}|${String(raw.type)}|${String(raw.id)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      group.pairs.push({
        identityId: g.identityId,
        type: raw.type as ItemType,
        id: raw.id as string,
        comment: str(raw.comment),
        clientMetadata: metadata(raw.clientMetadata),
        startDate: str(raw.startDate),
        removeDate: str(raw.removeDate),
        assignmentId: str(raw.assignmentId),
        nativeIdentity: str(raw.nativeIdentity),
        accountSelection: Array.isArray(raw.accountSelection)
          ? structuredClone(raw.accountSelection as SimAccountSelection[])
          : null,
      });
    }
  }
  return {
    ok: true,
    request: { requestType, clientMetadata: metadata(b.clientMetadata), identities: normalized },
  };
}

/** Compiles the validators now, so the first submit does not pay for it. */
export function warmUpValidators(): void {
  checkAccessRequest({}, null, 0);
  checkCancelRequest({});
}
