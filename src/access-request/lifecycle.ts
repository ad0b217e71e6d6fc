import type { RequestType } from './access-request.types';
import { IDENTITYNOW_STATES, type IdentityNowState, type PairOutcome } from './request-record';

// The pinned lifecycle rules: which IdentityNow states end a pair, and which of those free its claim.
const FINAL: ReadonlySet<IdentityNowState> = new Set([
  'REQUEST_COMPLETED',
  'CANCELLED',
  'TERMINATED',
  'REJECTED',
  'PROVISIONING_FAILED',
  'NOT_ALL_ITEMS_PROVISIONED',
  'ERROR',
]);

export function isIdentityNowState(v: unknown): v is IdentityNowState {
  return typeof v === 'string' && (IDENTITYNOW_STATES as readonly string[]).includes(v);
}

export function isFinalState(state: IdentityNowState | undefined): boolean {
  return state !== undefined && FINAL.has(state);
}

/** A GRANT or MODIFY that did not end in the access being there: the same pair may be asked again. */
export function releasesClaim(requestType: RequestType, state: IdentityNowState | undefined): boolean {
  return requestType !== 'REVOKE_ACCESS' && isFinalState(state) && state !== 'REQUEST_COMPLETED';
}

/** Whether anything can still happen to a pair (the request closes when nothing can). */
export function pairIsOpen(outcome: PairOutcome, state: IdentityNowState | undefined): boolean {
  if (outcome === 'PENDING') return true;
  return outcome === 'SUBMITTED' && !isFinalState(state);
}
