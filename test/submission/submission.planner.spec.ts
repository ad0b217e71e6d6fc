import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GATEWAY_META, type AccessRequestBody } from '../../src/access-request/access-request.types';
import { validateAccessRequest } from '../../src/access-request/access-request.validator';
import { expandPairs, type RequestPair } from '../../src/access-request/pairs';
import { planSubmissions, type PlanContext } from '../../src/submission/submission.planner';

const NOW = new Date('2030-01-01T00:00:00Z');
const TRACKING = '0b7f1c9e-3f7a-4c55-9d0e-6a1f2b3c4d5e';

// Small alphabets so identities and items collide often (duplicates inside one request, shared items).
const identityArb = fc.constantFrom(
  'id-a',
  'id-b',
  'id-c',
  'id-d',
  'id-e',
  'id-f',
  'id-g',
  'id-h',
  'id-i',
  'id-j',
  'id-k',
  'id-l',
);
const itemIdArb = fc.integer({ min: 0, max: 40 }).map((n) => `item-${n}`);
const itemTypeArb = fc.constantFrom('ROLE', 'ACCESS_PROFILE', 'ENTITLEMENT', 'ENTITLEMENT');
const metaArb = fc.option(
  fc.dictionary(fc.constantFrom('ticket', 'app', 'note'), fc.string({ minLength: 1, maxLength: 5 })),
  {
    nil: undefined,
  },
);
const futureArb = fc
  .integer({ min: 1, max: 3 })
  .map((d) => new Date(NOW.getTime() + d * 86_400_000).toISOString().replace('Z', '+00:00'));

const grantItemArb = fc.record(
  {
    type: itemTypeArb,
    id: itemIdArb,
    comment: fc.constantFrom('c1', 'c2'),
    clientMetadata: metaArb,
    removeDate: futureArb,
  },
  { requiredKeys: ['type', 'id'] },
);
const revokeItemArb = fc.record(
  {
    type: itemTypeArb,
    id: itemIdArb,
    comment: fc.constantFrom('why', 'because'),
    clientMetadata: metaArb,
    assignmentId: fc.constantFrom('as-1', 'as-2'),
  },
  { requiredKeys: ['type', 'id', 'comment'] },
);

const rectangleArb = fc.oneof(
  fc.record({
    requestType: fc.constantFrom('GRANT_ACCESS', 'MODIFY_ACCESS'),
    requestedFor: fc.array(identityArb, { minLength: 1, maxLength: 14 }),
    requestedItems: fc.array(grantItemArb, { minLength: 1, maxLength: 30 }),
    clientMetadata: metaArb,
  }),
  fc.record({
    requestType: fc.constant('REVOKE_ACCESS'),
    requestedFor: fc.array(identityArb, { minLength: 1, maxLength: 1 }),
    requestedItems: fc.array(revokeItemArb, { minLength: 1, maxLength: 6 }),
  }),
);
const perIdentityArb = fc.record({
  requestType: fc.constant('GRANT_ACCESS'),
  requestedForWithRequestedItems: fc.array(
    fc.record({
      identityId: identityArb,
      requestedItems: fc.array(grantItemArb, { minLength: 1, maxLength: 8 }),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  clientMetadata: metaArb,
});

/** Bodies the HTTP edge would accept, plus a survivor mask (which pairs were not duplicates). */
const acceptedArb = fc
  .oneof(rectangleArb, perIdentityArb)
  .map((raw) => {
    const r = validateAccessRequest(JSON.parse(JSON.stringify(raw)), { now: NOW });
    return r.ok ? r.value : undefined;
  })
  .filter((b): b is AccessRequestBody => b !== undefined);

/** Bodies that may be over the caps: only the worker's planning matters (survivors can be anything). */
const anyBodyArb = fc
  .oneof(rectangleArb, perIdentityArb)
  .map((raw) => {
    // The caps are what the planner must restore; validate everything else.
    const r = validateAccessRequest(JSON.parse(JSON.stringify(raw)), { now: NOW });
    if (r.ok) return r.value;
    const capsOnly = r.messages.every((m) => /at most (25|10|one) /.test(m));
    return capsOnly ? (JSON.parse(JSON.stringify(raw)) as AccessRequestBody) : undefined;
  })
  .filter((b): b is AccessRequestBody => b !== undefined);

function ctxFor(body: AccessRequestBody): PlanContext {
  return {
    trackingId: TRACKING,
    requestType: body.requestType,
    clientMetadata: { ...body.clientMetadata, [GATEWAY_META.clientId]: 'hr-portal' },
    shape: body.requestedForWithRequestedItems !== undefined ? 'perIdentity' : 'requestedFor',
  };
}

function checkPlan(survivors: RequestPair[], body: AccessRequestBody, maxIdentities?: number): number {
  const plan = planSubmissions(survivors, {
    ...ctxFor(body),
    ...(maxIdentities === undefined ? {} : { maxIdentities }),
  });
  const seen = new Set<string>();
  for (const planned of plan) {
    const v = validateAccessRequest(JSON.parse(JSON.stringify(planned.body)), {
      now: NOW,
      allowGatewayMetadata: true,
    });
    expect(v.ok ? [] : v.messages).toEqual([]);
    // What the body really contains is exactly what the plan says it covers.
    const covered = expandPairs(planned.body);
    expect(covered.map((p) => p.fingerprint)).toEqual([...planned.fingerprints]);
    for (const p of covered) {
      expect(seen.has(p.fingerprint)).toBe(false);
      seen.add(p.fingerprint);
      expect(p.item.clientMetadata?.[GATEWAY_META.trackingId]).toBe(TRACKING);
      expect(p.item.clientMetadata?.[GATEWAY_META.submissionId]).toBe(planned.submissionId);
      expect(p.requestType).toBe(body.requestType);
    }
    expect(planned.body.clientMetadata?.[GATEWAY_META.clientId]).toBe('hr-portal');
    if (maxIdentities !== undefined)
      expect(new Set(covered.map((p) => p.identityId)).size).toBeLessThanOrEqual(maxIdentities);
  }
  expect([...seen].sort()).toEqual(survivors.map((p) => p.fingerprint).sort());
  expect(new Set(plan.map((p) => p.submissionId)).size).toBe(plan.length);
  return plan.length;
}

describe('planSubmissions (property-based)', () => {
  it('covers exactly the surviving pairs with valid requests, none twice', () => {
    fc.assert(
      fc.property(anyBodyArb, fc.array(fc.boolean(), { minLength: 400, maxLength: 400 }), (body, mask) => {
        const pairs = expandPairs(body);
        const survivors = pairs.filter((_, i) => mask[i % mask.length] === true);
        checkPlan(survivors, body);
      }),
      { numRuns: 400 },
    );
  });

  it('IDN_MAX_IDENTITIES_PER_CALL caps every request, with entitlements or not', () => {
    fc.assert(
      fc.property(anyBodyArb, fc.integer({ min: 1, max: 12 }), (body, max) => {
        checkPlan(expandPairs(body), body, max);
      }),
      { numRuns: 300 },
    );
  });

  it('a request the edge accepted, with no duplicates, is sent as exactly one request', () => {
    fc.assert(
      fc.property(acceptedArb, (body) => {
        expect(checkPlan(expandPairs(body), body)).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps comments, dates and caller metadata of each item', () => {
    fc.assert(
      fc.property(acceptedArb, (body) => {
        const pairs = expandPairs(body);
        const plan = planSubmissions(pairs, ctxFor(body));
        const sent = new Map(plan.flatMap((p) => expandPairs(p.body)).map((p) => [p.fingerprint, p.item]));
        for (const p of pairs) {
          const item = sent.get(p.fingerprint);
          expect(item?.comment).toBe(p.item.comment);
          expect(item?.removeDate).toBe(p.item.removeDate);
          for (const [k, v] of Object.entries(p.item.clientMetadata ?? {}))
            expect(item?.clientMetadata?.[k]).toBe(v);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic: the same pairs give the same submission ids and bodies', () => {
    fc.assert(
      fc.property(anyBodyArb, (body) => {
        const pairs = expandPairs(body);
        expect(planSubmissions(pairs, ctxFor(body))).toEqual(planSubmissions(pairs, ctxFor(body)));
      }),
      { numRuns: 100 },
    );
  });

  it('groups identities that share the same remaining items (examples)', () => {
    const body: AccessRequestBody = {
      requestType: 'GRANT_ACCESS',
      requestedFor: ['a', 'b', 'c'],
      requestedItems: [
        { type: 'ROLE', id: 'r1' },
        { type: 'ROLE', id: 'r2' },
      ],
    };
    const pairs = expandPairs(body);
    // c's r2 was a duplicate: a and b share {r1, r2}; c has {r1}.
    const survivors = pairs.filter((p) => !(p.identityId === 'c' && p.item.id === 'r2'));
    const plan = planSubmissions(survivors, ctxFor(body));
    expect(plan.map((p) => (p.body.requestedFor ?? []).join(','))).toEqual(['a,b', 'c']);

    const revoke: AccessRequestBody = {
      requestType: 'REVOKE_ACCESS',
      requestedFor: ['a'],
      requestedItems: [
        { type: 'ROLE', id: 'r1', comment: 'x' },
        { type: 'ENTITLEMENT', id: 'e1', comment: 'x' },
      ],
    };
    expect(planSubmissions(expandPairs(revoke), ctxFor(revoke))).toHaveLength(1);

    const many: AccessRequestBody = {
      requestType: 'GRANT_ACCESS',
      requestedFor: Array.from({ length: 23 }, (_, i) => `i${i}`),
      requestedItems: [
        ...Array.from({ length: 30 }, (_, i) => ({ type: 'ENTITLEMENT' as const, id: `e${i}` })),
        { type: 'ROLE' as const, id: 'r' },
      ],
    };
    // 3 identity chunks (10, 10, 3) x 2 entitlement chunks (25, 5); the role rides with the first.
    expect(checkPlan(expandPairs(many), many)).toBe(6);
  });
});
