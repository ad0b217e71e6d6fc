import type { HolderOutcome, PairStatus, RequestRecord, RequestState } from './request-record';

/** The request's state from its pairs' outcomes, as the contract's status body defines it. */
export function requestState(pairs: readonly Pick<PairStatus, 'outcome'>[]): RequestState {
  let submitted = 0;
  let failed = 0;
  let duplicate = 0;
  for (const p of pairs) {
    if (p.outcome === 'PENDING') return 'PROCESSING';
    if (p.outcome === 'SUBMITTED') submitted += 1;
    else if (p.outcome === 'FAILED') failed += 1;
    else duplicate += 1;
  }
  if (submitted > 0) return failed > 0 ? 'PARTIALLY_SUBMITTED' : 'SUBMITTED';
  if (failed > 0) return 'FAILED';
  return duplicate > 0 ? 'DUPLICATE' : 'FAILED';
}

const samePair = (a: PairStatus, b: PairStatus): boolean =>
  a.requestedFor === b.requestedFor && a.type === b.type && a.id === b.id && a.requestType === b.requestType;

export function holderOutcomeOf(pair: PairStatus, holder: RequestRecord | undefined): HolderOutcome {
  // A claim exists before its holder's first status write: not written yet means still pending.
  if (holder === undefined) return 'PENDING';
  const candidates = holder.pairs.filter((p) => samePair(p, pair));
  const decided = candidates.find((p) => p.outcome !== 'PENDING') ?? candidates[0];
  switch (decided?.outcome) {
    case 'SUBMITTED':
      return 'SUBMITTED';
    case 'FAILED':
      return 'FAILED';
    case 'DUPLICATE':
      // IdentityNow reported it existing to the holder: it is there.
      return decided.duplicateOf === 'identitynow' ? 'SUBMITTED' : (decided.holderOutcome ?? 'PENDING');
    default:
      return 'PENDING';
  }
}

/** Fills in `holderOutcome` of DUPLICATE pairs held by another request; true when anything changed. */
export async function refreshHolderOutcomes(
  pairs: PairStatus[],
  load: (trackingId: string) => Promise<RequestRecord | undefined>,
  // A SUBMITTED holder is final; a FAILED one can still be re-driven.
  skipSubmitted = false,
): Promise<boolean> {
  const wanted = pairs.filter(
    (p) =>
      p.outcome === 'DUPLICATE' &&
      p.duplicateOf !== undefined &&
      p.duplicateOf !== 'identitynow' &&
      (!skipSubmitted || p.holderOutcome !== 'SUBMITTED'),
  );
  if (wanted.length === 0) return false;
  const holders = new Map<string, RequestRecord | undefined>();
  for (const id of new Set(wanted.map((p) => p.duplicateOf as string))) holders.set(id, await load(id));
  let changed = false;
  for (const p of wanted) {
    const next = holderOutcomeOf(p, holders.get(p.duplicateOf as string));
    if (p.holderOutcome !== next) {
      p.holderOutcome = next;
      changed = true;
    }
  }
  return changed;
}
