import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateWithDtos } from '../../src/access-request/access-request.validator';
import type { AccessRequestDto } from '../../src/access-request/dto/access-request.dto';
import { checkIdentityNowRules } from '../../src/access-request/identitynow.rules';
import { grant, perIdentity, revoke } from '../support/bodies';

const opts = { now: new Date('2027-03-15T12:00:00Z') };

const junk = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.constantFrom('', ' ', 'GROUP', '2020-01-01T00:00:00Z', 'soon', 'gatewayX'),
  fc.constant({}),
  fc.constant(['x']),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Replaces the value at a random path of a valid body with junk (or, in an object, drops it). */
function mutate(body: unknown, path: number[], value: unknown, remove: boolean): unknown {
  if (path.length === 0 || typeof body !== 'object' || body === null) return value;
  const entries = Object.entries(body);
  if (entries.length === 0) return body;
  const at = (path[0] ?? 0) % entries.length;
  const changed = entries.flatMap(([k, v], i): [string, unknown][] => {
    if (i !== at) return [[k, v]];
    if (path.length === 1 && remove && !Array.isArray(body)) return [];
    return [[k, mutate(v, path.slice(1), value, remove)]];
  });
  return Array.isArray(body) ? changed.map(([, v]) => v) : Object.fromEntries(changed);
}

const brokenBody = fc
  .tuple(
    fc.constantFrom(grant, revoke, perIdentity),
    fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), junk, fc.boolean()), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([make, edits]) =>
    edits.reduce<unknown>((b, [path, value, remove]) => mutate(b, path, value, remove), make()),
  )
  .map((b) => JSON.parse(JSON.stringify(b)) as unknown);

describe('validateWithDtos on bodies with shape errors', () => {
  it('never throws and never repeats a message', () => {
    fc.assert(
      fc.property(brokenBody, (body) => {
        const result = validateWithDtos(body, opts);
        if (!result.ok) expect(new Set(result.messages).size).toBe(result.messages.length);
      }),
      { numRuns: 3000, seed: 20260514 },
    );
  });

  it('adds the cross-field rules to the shape errors, which come first', () => {
    const body = { ...revoke(), priority: 'high', requestedItems: [{ type: 'ROLE', id: 'r' }] };
    expect(validateWithDtos(body, opts)).toEqual({
      ok: false,
      messages: [
        'priority is not a field of an IdentityNow access request; remove it',
        'requestedItems[0].comment is required for REVOKE_ACCESS',
      ],
    });
  });

  it('skips a rule whose input, or a parent of it, is malformed', () => {
    const body: AccessRequestDto = {
      requestType: 'REVOKE_ACCESS',
      requestedFor: ['a', 'b'],
      requestedItems: [{ type: 'ROLE', id: 'r', removeDate: '2020-01-01T00:00:00Z' }],
    };
    const all = checkIdentityNowRules(body, opts);
    expect(all).toEqual([
      'requestedFor must contain exactly one identity for REVOKE_ACCESS (found 2)',
      'requestedItems[0].comment is required for REVOKE_ACCESS',
      'requestedItems[0].removeDate must be in the future (got 2020-01-01T00:00:00Z)',
    ]);
    expect(checkIdentityNowRules(body, opts, new Set(['requestType']))).toEqual([
      'requestedItems[0].removeDate must be in the future (got 2020-01-01T00:00:00Z)',
    ]);
    expect(checkIdentityNowRules(body, opts, new Set(['requestedItems[0]']))).toEqual([all[0]]);
    expect(checkIdentityNowRules(body, opts, new Set(['requestedItems[0].removeDate']))).toEqual(
      all.slice(0, 2),
    );
  });
});
