import { MAX_ENTITLEMENTS, MAX_IDENTITIES_WITH_ENTITLEMENTS, MAX_PAIRS } from './access-request.limits';
import { RESERVED_METADATA_PREFIX, type Metadata } from './access-request.types';
import type { AccessRequestDto } from './dto/access-request.dto';
import { parseIsoDateTimeMs } from './dto/validators';

export interface RuleOptions {
  readonly now: Date;
  /** The worker's planned requests carry gateway* metadata; callers may not send it. */
  readonly allowGatewayMetadata?: boolean;
}

/** Field paths (as messages name them) that failed a shape check. */
export type MalformedPaths = ReadonlySet<string>;

const NONE: MalformedPaths = new Set();

/**
 * IdentityNow's cross-field rules plus the gateway's own (reserved metadata keys, pair cap), one
 * message per broken rule. On a body with shape errors, a rule runs only when the values it reads are
 * well-formed (neither they nor a parent is in `malformed`); whether a field is present is always known.
 */
export function checkIdentityNowRules(
  dto: AccessRequestDto,
  opts: RuleOptions,
  malformed: MalformedPaths = NONE,
): string[] {
  const ok = wellFormed(malformed);
  const problems: string[] = [];
  const nowMs = opts.now.getTime();
  const type = ok('requestType') ? (dto.requestType ?? 'GRANT_ACCESS') : undefined;
  const checkItem = (path: string, item: ItemFields): void => {
    checkDates(path, item, nowMs, ok, problems);
    if (!opts.allowGatewayMetadata && ok(`${path}.clientMetadata`))
      checkReserved(`${path}.clientMetadata`, item.clientMetadata, problems);
  };

  if (!opts.allowGatewayMetadata && ok('clientMetadata'))
    checkReserved('clientMetadata', dto.clientMetadata, problems);

  const rfwri = dto.requestedForWithRequestedItems ?? undefined;
  if (rfwri !== undefined) {
    if (dto.requestedFor != null) {
      problems.push('requestedFor must be omitted when requestedForWithRequestedItems is used');
    }
    if (dto.requestedItems != null) {
      problems.push('requestedItems must be omitted when requestedForWithRequestedItems is used');
    }
    if (type !== undefined && type !== 'GRANT_ACCESS') {
      problems.push(
        `requestedForWithRequestedItems is only allowed for GRANT_ACCESS (requestType is ${type})`,
      );
    }
    if (!ok('requestedForWithRequestedItems')) return problems;
    let entitlements = 0;
    let pairs = 0;
    rfwri.forEach((target, i) => {
      const itemsPath = `requestedForWithRequestedItems[${i}].requestedItems`;
      if (!ok(itemsPath)) return;
      pairs += target.requestedItems.length;
      target.requestedItems.forEach((item, j) => {
        const path = `${itemsPath}[${j}]`;
        if (!ok(path)) return;
        if (ok(`${path}.type`) && item.type === 'ENTITLEMENT') entitlements += 1;
        checkItem(path, item);
      });
    });
    checkEntitlementCaps('requestedForWithRequestedItems', rfwri.length, entitlements, problems);
    if (pairs > MAX_PAIRS) {
      problems.push(
        `requestedForWithRequestedItems expands to ${pairs} identity-item pairs; the gateway accepts at most ${MAX_PAIRS} per request`,
      );
    }
    return problems;
  }

  if (dto.requestedFor == null) {
    problems.push(
      'requestedFor is required (an array of identity ids), unless requestedForWithRequestedItems is used',
    );
  }
  if (dto.requestedItems == null) {
    problems.push(
      'requestedItems is required (at least one item), unless requestedForWithRequestedItems is used',
    );
  }
  const identities = dto.requestedFor != null && ok('requestedFor') ? dto.requestedFor : undefined;
  const items = dto.requestedItems != null && ok('requestedItems') ? dto.requestedItems : undefined;
  const distinctIdentities =
    identities === undefined ? undefined : new Set(identities.map((i) => i.trim())).size;
  const entitlements = items?.filter(
    (item, i) => ok(`requestedItems[${i}].type`) && item.type === 'ENTITLEMENT',
  ).length;

  if (entitlements !== undefined)
    checkEntitlementCaps('requestedItems', identities?.length, entitlements, problems);
  if (distinctIdentities !== undefined && items !== undefined) {
    const pairs = distinctIdentities * items.length;
    if (pairs > MAX_PAIRS) {
      problems.push(
        `requestedFor x requestedItems is ${pairs} identity-item pairs; the gateway accepts at most ${MAX_PAIRS} per request`,
      );
    }
  }

  if (type === 'REVOKE_ACCESS') {
    if (distinctIdentities !== undefined && distinctIdentities !== 1) {
      problems.push(
        `requestedFor must contain exactly one identity for REVOKE_ACCESS (found ${distinctIdentities})`,
      );
    }
    if (entitlements !== undefined && entitlements > 1) {
      problems.push(
        `requestedItems may contain at most one ENTITLEMENT for REVOKE_ACCESS (found ${entitlements})`,
      );
    }
  }
  items?.forEach((item, i) => {
    const path = `requestedItems[${i}]`;
    if (!ok(path)) return;
    if (type === 'REVOKE_ACCESS') {
      if (item.comment === undefined) problems.push(`${path}.comment is required for REVOKE_ACCESS`);
      if (item.startDate !== undefined) problems.push(`${path}.startDate is not allowed for REVOKE_ACCESS`);
    }
    checkItem(path, item);
  });
  return problems;
}

interface ItemFields {
  readonly startDate?: string;
  readonly removeDate?: string;
  readonly clientMetadata?: Metadata;
}

/** `path` and every parent of it passed their shape checks. */
function wellFormed(malformed: MalformedPaths): (path: string) => boolean {
  if (malformed.size === 0) return () => true;
  return (path) => {
    for (let i = 0; i < path.length; i++) {
      if ((path[i] === '.' || path[i] === '[') && malformed.has(path.slice(0, i))) return false;
    }
    return !malformed.has(path);
  };
}

function checkEntitlementCaps(
  field: string,
  identities: number | undefined,
  entitlements: number,
  problems: string[],
): void {
  if (entitlements === 0) return;
  if (entitlements > MAX_ENTITLEMENTS) {
    problems.push(
      `${field} may contain at most ${MAX_ENTITLEMENTS} ENTITLEMENT items per request (found ${entitlements})`,
    );
  }
  if (identities !== undefined && identities > MAX_IDENTITIES_WITH_ENTITLEMENTS) {
    const target = field === 'requestedItems' ? 'requestedFor' : field;
    problems.push(
      `${target} may contain at most ${MAX_IDENTITIES_WITH_ENTITLEMENTS} identities when ENTITLEMENT items are requested (found ${identities})`,
    );
  }
}

function checkDates(
  path: string,
  item: ItemFields,
  nowMs: number,
  ok: (path: string) => boolean,
  problems: string[],
): void {
  const removeAt = dateMs(item.removeDate, ok(`${path}.removeDate`));
  const startAt = dateMs(item.startDate, ok(`${path}.startDate`));
  if (removeAt !== undefined && removeAt <= nowMs) {
    problems.push(`${path}.removeDate must be in the future (got ${item.removeDate ?? ''})`);
  }
  if (removeAt !== undefined && startAt !== undefined && removeAt <= startAt) {
    problems.push(`${path}.removeDate must be after ${path}.startDate`);
  }
}

const dateMs = (value: string | undefined, valid: boolean): number | undefined =>
  value === undefined || !valid ? undefined : parseIsoDateTimeMs(value);

function checkReserved(path: string, metadata: Metadata | undefined, problems: string[]): void {
  if (metadata === undefined) return;
  for (const key of Object.keys(metadata)) {
    if (key.toLowerCase().startsWith(RESERVED_METADATA_PREFIX)) {
      problems.push(
        `${path}.${key} is reserved: clientMetadata keys starting with "${RESERVED_METADATA_PREFIX}" are set by the gateway`,
      );
    }
  }
}
