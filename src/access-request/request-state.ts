import type { PairStatus, RequestState } from './request-record';

/** CANCELLED counts as FAILED, unless all pairs are CANCELLED or DUPLICATE (>= 1 CANCELLED): CANCELLED. */
export function requestState(pairs: readonly Pick<PairStatus, 'outcome'>[]): RequestState {
  let submitted = 0;
  let failed = 0;
  let cancelled = 0;
  let duplicate = 0;
  for (const p of pairs) {
    if (p.outcome === 'PENDING') return 'PROCESSING';
    if (p.outcome === 'SUBMITTED') submitted += 1;
    else if (p.outcome === 'FAILED') failed += 1;
    else if (p.outcome === 'CANCELLED') cancelled += 1;
    else duplicate += 1;
  }
  if (submitted > 0) return failed + cancelled > 0 ? 'PARTIALLY_SUBMITTED' : 'SUBMITTED';
  if (failed > 0) return 'FAILED';
  if (cancelled > 0) return 'CANCELLED';
  return duplicate > 0 ? 'DUPLICATE' : 'FAILED';
}
