/** The pinned "never twice" contract; docs/architecture.md, "Never twice: the call state machine". */
export const CALL_STATES = [
  'pending',
  'in-flight',
  'unknown',
  'verified-absent',
  'settled',
  'abandoned',
  'split',
] as const;
export type CallState = (typeof CALL_STATES)[number];

export type CallEvent =
  | { readonly kind: 'seal' }
  | { readonly kind: 'created' }
  | { readonly kind: 'rejected'; readonly pairs: number; readonly splittable: boolean }
  | { readonly kind: 'not-created' }
  | { readonly kind: 'ambiguous'; readonly at: number }
  | { readonly kind: 'orphaned'; readonly sentAt: number }
  | { readonly kind: 'read-found' }
  | { readonly kind: 'read-absent'; readonly readStartedAt: number }
  | { readonly kind: 'read-failed' }
  | { readonly kind: 'emptied' }
  | { readonly kind: 'split' }
  | { readonly kind: 'give-up' };
export type CallEventKind = CallEvent['kind'];
export const CALL_EVENT_KINDS: readonly CallEventKind[] = [
  'seal',
  'created',
  'rejected',
  'not-created',
  'ambiguous',
  'orphaned',
  'read-found',
  'read-absent',
  'read-failed',
  'emptied',
  'split',
  'give-up',
];

/** What becomes of the call's pairs: final outcomes are written with the transition. */
export type PairEffect = 'none' | 'submitted' | 'failed-release' | 'failed-keep-claim' | 'moved';

export interface CallStatus {
  readonly state: CallState;
  /** When the call whose outcome is unknown ended (or, orphaned, the latest it can have ended). */
  readonly endedAt?: number;
}

export interface Transition {
  readonly next: CallStatus;
  readonly pairs: PairEffect;
}

export interface CallRules {
  readonly settleMs: number;
  /** An orphaned call (its worker died mid-call) ended at the latest this long after it was sent. */
  readonly orphanMs: number;
}

export class IllegalTransitionError extends Error {
  constructor(state: CallState, event: CallEventKind) {
    super(`call state ${state} does not accept ${event}`);
    this.name = 'IllegalTransitionError';
  }
}

const SENDABLE: readonly CallState[] = ['pending', 'verified-absent'];

/** The earliest moment a status read may prove that an unknown call created nothing. */
export function readAllowedAt(status: CallStatus, rules: CallRules): number {
  return (status.endedAt ?? 0) + rules.settleMs;
}

export function transition(status: CallStatus, event: CallEvent, rules: CallRules): Transition {
  const s = status.state;
  const to = (state: CallState, pairs: PairEffect, endedAt?: number): Transition => ({
    next: endedAt === undefined ? { state } : { state, endedAt },
    pairs,
  });
  switch (event.kind) {
    case 'seal':
      if (SENDABLE.includes(s)) return to('in-flight', 'none');
      break;
    case 'created':
      if (s === 'in-flight') return to('settled', 'submitted');
      break;
    case 'rejected':
      // Nothing was created: a call of several pairs is split so that a bad pair fails alone.
      if (s === 'in-flight')
        return event.splittable && event.pairs > 1 ? to('split', 'moved') : to('settled', 'failed-release');
      break;
    case 'not-created':
      if (s === 'in-flight') return to('pending', 'none');
      break;
    case 'ambiguous':
      if (s === 'in-flight') return to('unknown', 'none', event.at);
      break;
    case 'orphaned':
      if (s === 'in-flight') return to('unknown', 'none', event.sentAt + rules.orphanMs);
      break;
    case 'read-found':
      if (s === 'unknown') return to('settled', 'submitted');
      break;
    case 'read-absent':
      // Absent means "not created" only once IdentityNow has had time to list what it created late.
      if (s === 'unknown')
        return event.readStartedAt >= readAllowedAt(status, rules)
          ? to('verified-absent', 'none')
          : { next: status, pairs: 'none' };
      break;
    case 'read-failed':
      if (s === 'unknown') return { next: status, pairs: 'none' };
      break;
    case 'emptied':
      if (SENDABLE.includes(s)) return to('abandoned', 'none');
      break;
    case 'split':
      if (SENDABLE.includes(s)) return to('split', 'moved');
      break;
    case 'give-up':
      if (SENDABLE.includes(s)) return to('abandoned', 'failed-release');
      if (s === 'unknown') return { next: status, pairs: 'failed-keep-claim' };
      break;
    default: {
      const never: never = event;
      throw new Error(`unknown call event ${JSON.stringify(never)}`);
    }
  }
  throw new IllegalTransitionError(s, event.kind);
}
