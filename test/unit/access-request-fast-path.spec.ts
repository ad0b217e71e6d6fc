import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCommonValidShape } from '../../src/access-request/access-request.fast-path';
import { validateAccessRequest, validateWithDtos } from '../../src/access-request/access-request.validator';
import { grant, modify, perIdentity, revoke } from '../support/bodies';

/**
 * The fast path (access-request.fast-path.ts) may only skip class-transformer/class-validator, never
 * change an answer: for any body, valid or broken, validateAccessRequest must return exactly what the
 * DTO path returns (accept/reject, every message, the normalised job body, key order included).
 */
const NOW = new Date('2027-03-15T12:00:00Z');
const opts = { now: NOW };

// Bodies reach the validator through JSON.parse; round-trip so generated values look the same
// (own `__proto__` keys kept, undefined dropped).
/** JSON text of a value; `undefined` (which JSON.stringify returns for it despite its type) becomes null. */
const json = (v: unknown): string => (v === undefined ? 'null' : JSON.stringify(v));
const viaJson = (v: unknown): unknown => JSON.parse(json(v));

/** An object built by JSON.parse, so keys like `__proto__` become own properties as they would over HTTP. */
const objectFromEntries = (entries: [string, unknown][]): unknown =>
  JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${json(v)}`).join(',')}}`);

const often = <T>(valid: fc.Arbitrary<T>, ...broken: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: valid, weight: 15 }, ...broken.map((arbitrary) => ({ arbitrary, weight: 1 })));

const junk = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.constant(['x']),
);

const idArb = often(
  fc.constantFrom(
    '2c918084660f45d6016617daa9210584',
    '2c9180835d2e5168015d32f890ca1581',
    'ent-1',
    ' padded ',
  ),
  fc.constantFrom('', '   ', 'x'.repeat(256), 'y'.repeat(255), '\u00e9\u0301\u{1f600}'),
  fc.string({ maxLength: 8 }),
  junk,
);

const dateArb = often(
  fc.constantFrom(
    '2030-01-01T09:00:00Z',
    '2029-06-30T17:00:00+02:00',
    '2031-12-31T23:59:59.123456789-05:30',
    '2028-02-29T00:00Z',
    '2030-01-01T09:00:00+0200',
  ),
  fc.constantFrom(
    '2020-01-01T00:00:00Z',
    '2027-03-15T12:00:00Z',
    '2026-02-30T00:00:00Z',
    '2030-01-01',
    '2030-01-01T24:00:00Z',
    '2030-01-01T10:00:00',
    '',
    'tomorrow',
  ),
  fc
    .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  junk,
);

const metaKeyArb = often(
  fc.constantFrom('ticket', 'approver', 'requestedBy', 'CHG'),
  fc.constantFrom(
    'gatewayClientId',
    'GatewayX',
    'constructor',
    '__proto__',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '',
    'k'.repeat(256),
    '0',
    '12',
  ),
  fc.string({ maxLength: 6 }),
);
const metaArb = often(
  fc.array(fc.tuple(metaKeyArb as fc.Arbitrary<string>, often(fc.string({ maxLength: 10 }), junk)), {
    maxLength: 4,
  }),
  fc.constant(Array.from({ length: 65 }, (_, i): [string, unknown] => [`k${i}`, 'v'])),
  fc.constant(Array.from({ length: 64 }, (_, i): [string, unknown] => [`k${i}`, 'v'])),
  fc.constant([['long', 'v'.repeat(4001)]] as [string, unknown][]),
).map((v) =>
  Array.isArray(v) && v.every((e) => Array.isArray(e)) ? objectFromEntries(v as [string, unknown][]) : v,
);

const itemTypeArb = often(
  fc.constantFrom('ROLE', 'ACCESS_PROFILE', 'ENTITLEMENT'),
  fc.constantFrom('role', 'BAD', ''),
  junk,
);

const itemArb = fc.record(
  {
    type: itemTypeArb,
    id: idArb,
    comment: often(
      fc.constantFrom('needed', 'leaver', 'c'.repeat(4000)),
      fc.constantFrom('', ' ', 'c'.repeat(4001)),
      junk,
    ),
    clientMetadata: metaArb,
    startDate: dateArb,
    removeDate: dateArb,
    assignmentId: often(idArb, fc.constant(null)),
    nativeIdentity: often(idArb, fc.constant(null)),
    accountSelection: fc.constant([{ sourceId: 's', accounts: [{ nativeIdentity: 'CN=a' }] }]),
    extra: junk,
  },
  { requiredKeys: [] },
);

const commonItemArb = fc.record(
  {
    type: itemTypeArb,
    id: idArb,
    comment: often(fc.constantFrom('needed', 'leaver'), fc.constant('')),
    clientMetadata: metaArb,
    startDate: dateArb,
    removeDate: dateArb,
  },
  { requiredKeys: ['type', 'id'] },
);

const bodyArb = fc.record(
  {
    requestedFor: often(
      fc.array(idArb, { minLength: 1, maxLength: 3 }),
      fc.array(idArb, { minLength: 0, maxLength: 12 }),
      fc.constant(Array.from({ length: 11 }, (_, i) => `identity-${i}`)),
      fc.constant(Array.from({ length: 1001 }, (_, i) => `identity-${i}`)),
      junk,
    ),
    requestType: often(
      fc.constantFrom('GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS'),
      fc.constantFrom('grant_access', 'DELETE'),
      junk,
    ),
    requestedItems: often(
      fc.array(fc.oneof(commonItemArb, itemArb), { minLength: 1, maxLength: 3 }),
      fc.constant(Array.from({ length: 26 }, (_, i) => ({ type: 'ENTITLEMENT', id: `ent-${i}` }))),
      fc.array(itemArb, { minLength: 0, maxLength: 2 }),
      junk,
    ),
    clientMetadata: metaArb,
    requestedForWithRequestedItems: often(
      fc.constant([{ identityId: 'id-1', requestedItems: [{ type: 'ROLE', id: 'r-1' }] }]),
      junk,
    ),
    unknownField: junk,
  },
  { requiredKeys: [] },
);
/** Sometimes with an own `__proto__` key, as JSON.parse makes it from `{"__proto__": …}`. */
const anyBodyArb = fc
  .tuple(bodyArb, fc.boolean())
  .map(([body, proto]) => (proto ? objectFromEntries([...Object.entries(body), ['__proto__', 'x']]) : body));

/** Mostly the shape callers send, so the fast path is exercised on valid and nearly-valid bodies. */
const commonBodyArb = fc.record(
  {
    requestedFor: fc.array(idArb, { minLength: 1, maxLength: 3 }),
    requestType: fc.constantFrom('GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS'),
    requestedItems: fc.array(commonItemArb, { minLength: 1, maxLength: 3 }),
    clientMetadata: metaArb,
  },
  { requiredKeys: ['requestedFor', 'requestedItems'] },
);

type Outcome = { result: ReturnType<typeof validateWithDtos> } | { threw: string };

/** class-transformer throws on some inputs (see the last test); the fast path must then throw too. */
function outcome(validate: () => ReturnType<typeof validateWithDtos>): Outcome {
  try {
    return { result: validate() };
  } catch (e) {
    return { threw: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

function expectSameAnswer(body: unknown): { fast: boolean; ok: boolean } {
  const reference = outcome(() => validateWithDtos(body, opts));
  const actual = outcome(() => validateAccessRequest(body, opts));
  expect(actual).toStrictEqual(reference);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(reference));
  // Equal answers also prove the fast path never claims a body the DTOs reject: their messages
  // (shape) and the rules' messages never coincide.
  return { fast: isCommonValidShape(body), ok: 'result' in reference && reference.result.ok };
}

describe('validation fast path agrees with the class-validator DTOs', () => {
  it('on random near-valid common-shape bodies (the fast path runs for accepted and rule-rejected bodies)', () => {
    let fastAccepted = 0;
    let fastRejectedByRules = 0;
    fc.assert(
      fc.property(commonBodyArb.map(viaJson), (body) => {
        const { fast, ok } = expectSameAnswer(body);
        if (fast && ok) fastAccepted += 1;
        if (fast && !ok) fastRejectedByRules += 1;
      }),
      { numRuns: 3000, seed: 20261128 },
    );
    // Not vacuous: the fast path really ran, for accepted bodies and for bodies the rules reject.
    expect(fastAccepted).toBeGreaterThan(100);
    expect(fastRejectedByRules).toBeGreaterThan(10);
  });

  it('on random bodies of every shape, with nulls, unknown and prototype-named keys', () => {
    fc.assert(
      fc.property(anyBodyArb.map(viaJson), (body) => {
        expectSameAnswer(body);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (body) => {
        expectSameAnswer(body);
      }),
      { numRuns: 1000, seed: 11 },
    );
  });

  it('takes the fast path for the common shapes and not for per-identity requests', () => {
    for (const body of [grant(), revoke(), modify()].map(viaJson))
      expect(isCommonValidShape(body)).toBe(true);
    expect(isCommonValidShape(viaJson(perIdentity()))).toBe(false);
    // The DTO path refuses or drops metadata keys named like prototype members; the fast path leaves them to it.
    const proto = JSON.parse(
      '{"requestedFor":["a"],"requestedItems":[{"type":"ROLE","id":"r"}],"clientMetadata":{"constructor":"x"}}',
    ) as unknown;
    expect(isCommonValidShape(proto)).toBe(false);
    expectSameAnswer(proto);
  });
});
