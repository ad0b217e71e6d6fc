import type { AccessRequestDto } from './dto/access-request.dto';
import { RESERVED_METADATA_PREFIX, type Metadata } from './access-request.types';
import { parseIsoDateTimeMs } from './dto/validators';
import { MAX_ENTITLEMENTS, MAX_IDENTITIES_WITH_ENTITLEMENTS, MAX_PAIRS } from './access-request.limits';

export interface RuleOptions {
  readonly now: Date;
  /** The worker's planned requests carry gateway* metadata; callers may not send it. */
  readonly allowGatewayMetadata?: boolean;
}

/**
 * The cross-field rules IdentityNow enforces with a 400, checked before anything is queued, plus
 * the gateway's own (reserved metadata keys, pair cap). Input has already passed the DTO's shape
 * checks. Each broken rule yields one message naming the field path and the rule.
 */
export function checkIdentityNowRules(dto: AccessRequestDto, opts: RuleOptions): string[] {
  const problems: string[] = [];
  const nowMs = opts.now.getTime();
  const type = dto.requestType ?? 'GRANT_ACCESS';
  const rfwri = dto.requestedForWithRequestedItems ?? undefined;

  if (!opts.allowGatewayMetadata) checkReserved('clientMetadata', dto.clientMetadata, problems);

  if (rfwri !== undefined) {
    if (dto.requestedFor != null) {
      problems.push('requestedFor must be omitted when requestedForWithRequestedItems is used');
    }
    if (dto.requestedItems != null) {
      problems.push('requestedItems must be omitted when requestedForWithRequestedItems is used');
    }
    if (type !== 'GRANT_ACCESS') {
      problems.push(
        `requestedForWithRequestedItems is only allowed for GRANT_ACCESS (requestType is ${type})`,
      );
    }
    let entitlements = 0;
    let pairs = 0;
    rfwri.forEach((target, i) => {
      pairs += target.requestedItems.length;
      target.requestedItems.forEach((item, j) => {
        const path = `requestedForWithRequestedItems[${i}].requestedItems[${j}]`;
        if (item.type === 'ENTITLEMENT') entitlements += 1;
        checkDates(path, item.startDate, item.removeDate, nowMs, problems);
        if (!opts.allowGatewayMetadata)
          checkReserved(`${path}.clientMetadata`, item.clientMetadata, problems);
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

  const identities = dto.requestedFor;
  const items = dto.requestedItems;
  if (identities == null) {
    problems.push(
      'requestedFor is required (an array of identity ids), unless requestedForWithRequestedItems is used',
    );
  }
  if (items == null) {
    problems.push(
      'requestedItems is required (at least one item), unless requestedForWithRequestedItems is used',
    );
  }
  if (identities == null || items == null) return problems;

  const entitlements = items.filter((i) => i.type === 'ENTITLEMENT').length;
  checkEntitlementCaps('requestedItems', identities.length, entitlements, problems);
  const distinctIdentities = new Set(identities.map((i) => i.trim())).size;
  if (distinctIdentities * items.length > MAX_PAIRS) {
    problems.push(
      `requestedFor x requestedItems is ${distinctIdentities * items.length} identity-item pairs; the gateway accepts at most ${MAX_PAIRS} per request`,
    );
  }

  if (type === 'REVOKE_ACCESS') {
    if (distinctIdentities !== 1) {
      problems.push(
        `requestedFor must contain exactly one identity for REVOKE_ACCESS (found ${distinctIdentities})`,
      );
    }
    if (entitlements > 1) {
      problems.push(
        `requestedItems may contain at most one ENTITLEMENT for REVOKE_ACCESS (found ${entitlements})`,
      );
    }
  }
  items.forEach((item, i) => {
    const path = `requestedItems[${i}]`;
    if (type === 'REVOKE_ACCESS') {
      if (item.comment === undefined) problems.push(`${path}.comment is required for REVOKE_ACCESS`);
      if (item.startDate !== undefined) problems.push(`${path}.startDate is not allowed for REVOKE_ACCESS`);
    }
    checkDates(path, item.startDate, item.removeDate, nowMs, problems);
    if (!opts.allowGatewayMetadata) checkReserved(`${path}.clientMetadata`, item.clientMetadata, problems);
  });
  return problems;
}

function checkEntitlementCaps(
  field: string,
  identities: number,
  entitlements: number,
  problems: string[],
): void {
  if (entitlements === 0) return;
  if (entitlements > MAX_ENTITLEMENTS) {
    problems.push(
      `${field} may contain at most ${MAX_ENTITLEMENTS} ENTITLEMENT items per request (found ${entitlements})`,
    );
  }
  if (identities > MAX_IDENTITIES_WITH_ENTITLEMENTS) {
    const target = field === 'requestedItems' ? 'requestedFor' : field;
    problems.push(
      `${target} may contain at most ${MAX_IDENTITIES_WITH_ENTITLEMENTS} identities when ENTITLEMENT items are requested (found ${identities})`,
    );
  }
}

function checkDates(
  path: string,
  start: string | undefined,
  remove: string | undefined,
  nowMs: number,
  problems: string[],
): void {
  // Shape errors were reported by the DTO; only well-formed dates are compared here.
  const removeAt = remove === undefined ? undefined : parseIsoDateTimeMs(remove);
  const startAt = start === undefined ? undefined : parseIsoDateTimeMs(start);
  if (removeAt !== undefined && removeAt <= nowMs) {
    problems.push(`${path}.removeDate must be in the future (got ${remove ?? ''})`);
  }
  if (removeAt !== undefined && startAt !== undefined && removeAt <= startAt) {
    problems.push(`${path}.removeDate must be after ${path}.startDate`);
  }
}

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
