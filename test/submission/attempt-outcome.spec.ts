import { describe, expect, it } from 'vitest';
import type { RequestPair } from '../../src/access-request/pairs';
import {
  IdnAuthConfigError,
  IdnPermanentError,
  IdnRateLimitedError,
  IdnRetryableError,
} from '../../src/identitynow/identitynow.errors';
import type { IdnAccessRequestResponse } from '../../src/identitynow/identitynow.types';
import {
  type AttemptOutcome,
  attemptOutcome,
  keepsClaimOnGiveUp,
  sentOutcome,
} from '../../src/submission/attempt-outcome';
import type { SubmissionState } from '../../src/submission/submission-progress.store';
import type { PairResult } from '../../src/tracking/request-record.builder';

const submit = 'createAccessRequest';
const read = 'listAccessRequestStatus';

interface Row {
  readonly name: string;
  readonly err: unknown;
  readonly state: SubmissionState;
  readonly final?: boolean;
  readonly expected: AttemptOutcome;
}

const rows: Row[] = [
  {
    name: '429 on the submit: wait, the in-flight mark goes back to pending',
    err: new IdnRateLimitedError(submit, 3000, 'IdentityNow 429'),
    state: 'in-flight',
    expected: { kind: 'wait', retryAfterMs: 3000, reason: 'IdentityNow 429', state: 'pending' },
  },
  {
    name: '429 on a pending submission: wait, still pending',
    err: new IdnRateLimitedError(submit, 1000, 'IdentityNow 429'),
    state: 'pending',
    final: true,
    expected: { kind: 'wait', retryAfterMs: 1000, reason: 'IdentityNow 429', state: 'pending' },
  },
  {
    name: 'budget exhausted while reconciling an ambiguous submission: wait, still ambiguous',
    err: new IdnRateLimitedError(read, 40_000, 'budget exhausted', undefined),
    state: 'ambiguous',
    expected: { kind: 'wait', retryAfterMs: 40_000, reason: 'budget exhausted', state: 'ambiguous' },
  },
  {
    // As built: the orphaned call is not reconciled again on the next attempt.
    name: 'budget exhausted while reconciling an in-flight mark: wait, pending',
    err: new IdnRateLimitedError(read, 40_000, 'budget exhausted', undefined),
    state: 'in-flight',
    expected: { kind: 'wait', retryAfterMs: 40_000, reason: 'budget exhausted', state: 'pending' },
  },
  {
    name: '400 on the submit: fail, release the claims',
    err: new IdnPermanentError(submit, 400, 'IdentityNow 400: bad item'),
    state: 'pending',
    expected: { kind: 'fail', reason: 'IdentityNow 400: bad item', release: true },
  },
  {
    name: '404 on the submit (final attempt): fail, release the claims',
    err: new IdnPermanentError(submit, 404, 'IdentityNow 404'),
    state: 'pending',
    final: true,
    expected: { kind: 'fail', reason: 'IdentityNow 404', release: true },
  },
  {
    name: '403 on the submit: fail, release, and stop every other submission',
    err: new IdnPermanentError(submit, 403, 'IdentityNow 403: no user context'),
    state: 'pending',
    expected: {
      kind: 'fail',
      reason: 'IdentityNow 403: no user context',
      release: true,
      stopOthers: 'IdentityNow 403: no user context',
    },
  },
  {
    name: 'refused credentials: fail, release, and stop every other submission',
    err: new IdnAuthConfigError(submit, 'refused again after a token refresh', 401),
    state: 'pending',
    expected: {
      kind: 'fail',
      reason: 'refused again after a token refresh',
      release: true,
      stopOthers: 'refused again after a token refresh',
    },
  },
  {
    name: 'token endpoint refuses the credentials: fail, release, and stop every other submission',
    err: new IdnAuthConfigError('token', 'token endpoint 401', 401),
    state: 'pending',
    expected: { kind: 'fail', reason: 'token endpoint 401', release: true, stopOthers: 'token endpoint 401' },
  },
  {
    name: '400 on the status read: fail but keep the claims (it may have arrived)',
    err: new IdnPermanentError(read, 400, 'IdentityNow 400: bad filter'),
    state: 'ambiguous',
    expected: {
      kind: 'fail',
      reason: 'could not check whether an earlier attempt reached IdentityNow: IdentityNow 400: bad filter',
      release: false,
    },
  },
  {
    name: '403 on the status read: fail, keep the claims, stop the others with the plain reason',
    err: new IdnPermanentError(read, 403, 'IdentityNow 403'),
    state: 'in-flight',
    expected: {
      kind: 'fail',
      reason: 'could not check whether an earlier attempt reached IdentityNow: IdentityNow 403',
      release: false,
      stopOthers: 'IdentityNow 403',
    },
  },
  {
    name: '5xx on the submit: retry, the in-flight mark becomes ambiguous',
    err: new IdnRetryableError(submit, true, 'IdentityNow 502', 502),
    state: 'in-flight',
    expected: { kind: 'retry', reason: 'IdentityNow 502', state: 'ambiguous', giveUp: false },
  },
  {
    name: '5xx on the submit, final attempt: give up',
    err: new IdnRetryableError(submit, true, 'IdentityNow 502', 502),
    state: 'in-flight',
    final: true,
    expected: { kind: 'retry', reason: 'IdentityNow 502', state: 'ambiguous', giveUp: true },
  },
  {
    name: 'connection refused before sending: retry, back to pending',
    err: new IdnRetryableError(submit, false, 'IdentityNow unreachable (ECONNREFUSED)'),
    state: 'in-flight',
    expected: {
      kind: 'retry',
      reason: 'IdentityNow unreachable (ECONNREFUSED)',
      state: 'pending',
      giveUp: false,
    },
  },
  {
    name: 'connection refused on a pending submission, final attempt: give up, still pending',
    err: new IdnRetryableError(submit, false, 'IdentityNow unreachable (ECONNREFUSED)'),
    state: 'pending',
    final: true,
    expected: {
      kind: 'retry',
      reason: 'IdentityNow unreachable (ECONNREFUSED)',
      state: 'pending',
      giveUp: true,
    },
  },
  {
    name: 'status read fails (5xx) for an ambiguous submission: retry, still ambiguous',
    err: new IdnRetryableError(read, false, 'IdentityNow 503', 503),
    state: 'ambiguous',
    expected: { kind: 'retry', reason: 'IdentityNow 503', state: 'ambiguous', giveUp: false },
  },
  {
    // As built: the orphaned call is not reconciled again on the next attempt.
    name: 'status read fails (5xx) for an in-flight mark: retry, pending',
    err: new IdnRetryableError(read, false, 'IdentityNow 503', 503),
    state: 'in-flight',
    expected: { kind: 'retry', reason: 'IdentityNow 503', state: 'pending', giveUp: false },
  },
  {
    name: 'an unknown exception counts as ambiguous',
    err: new Error('The operation was aborted'),
    state: 'in-flight',
    expected: { kind: 'retry', reason: 'The operation was aborted', state: 'ambiguous', giveUp: false },
  },
  {
    name: 'something thrown that is not an Error: its text is the reason',
    err: 'boom',
    state: 'in-flight',
    final: true,
    expected: { kind: 'retry', reason: 'boom', state: 'ambiguous', giveUp: true },
  },
];

describe('attemptOutcome (pure)', () => {
  it.each(rows)('$name', ({ err, state, final, expected }) => {
    expect(attemptOutcome(err, state, final ?? false)).toEqual(expected);
  });
});

describe('keepsClaimOnGiveUp', () => {
  it.each([
    ['pending', false],
    ['in-flight', true],
    ['ambiguous', true],
    ['done', false],
    ['failed', false],
  ] as const)('%s → %s', (state, keep) => {
    expect(keepsClaimOnGiveUp(state)).toBe(keep);
  });
});

describe('sentOutcome', () => {
  const pair: RequestPair = {
    requestType: 'GRANT_ACCESS',
    identityId: 'id-1',
    item: { type: 'ROLE', id: 'role-1' },
    fingerprint: 'fp',
  };
  const tracking = (ids?: string[]) => ({
    requestedFor: 'id-1',
    requestedItemsDetails: [{ type: 'ROLE', id: 'role-1' }],
    ...(ids === undefined ? {} : { accessRequestIds: ids }),
  });
  const other = { requestedFor: 'id-2', requestedItemsDetails: [{ type: 'ROLE', id: 'role-1' }] };

  it.each<[string, IdnAccessRequestResponse, PairResult]>([
    [
      'in newRequests: SUBMITTED with its ids',
      { newRequests: [tracking(['ar-1'])], existingRequests: [] },
      { outcome: 'SUBMITTED', accessRequestIds: ['ar-1'] },
    ],
    [
      'in existingRequests: DUPLICATE of IdentityNow',
      { newRequests: [other], existingRequests: [tracking(['ar-0'])] },
      { outcome: 'DUPLICATE', duplicateOf: 'identitynow', accessRequestIds: ['ar-0'] },
    ],
    [
      'in both: newRequests wins',
      { newRequests: [tracking(['ar-2'])], existingRequests: [tracking(['ar-0'])] },
      { outcome: 'SUBMITTED', accessRequestIds: ['ar-2'] },
    ],
    [
      'an answer of {}: SUBMITTED without ids',
      { newRequests: [], existingRequests: [] },
      { outcome: 'SUBMITTED' },
    ],
  ])('%s', (_name, res, expected) => {
    expect(sentOutcome(res, pair)).toEqual(expected);
  });
});
