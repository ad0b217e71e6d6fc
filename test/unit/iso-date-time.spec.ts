import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIsoDateTime, parseIsoDateTimeMs, utcIsoString } from '../../src/access-request/dto/validators';

/** The parser as it was before it computed instants itself: `new Date(value)` plus the roll-over checks. */
function reference(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.exec(
    value,
  );
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  const month = Number(mo);
  const day = Number(d);
  const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? '0') > 59) return undefined;
  return date.getTime();
}

/** What normalisation wrote before it built UTC strings itself. */
function referenceIso(value: string): string | undefined {
  const ms = reference(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
const dateTimeArb = fc
  .tuple(
    fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 99, 100, 1900, 2000, 2024, 2100)),
    two(13),
    two(32),
    two(25),
    two(60),
    fc.option(two(61)),
    fc.option(fc.stringMatching(/^\d{1,9}$/)),
    fc.oneof(
      fc.constant('Z'),
      fc
        .tuple(fc.constantFrom('+', '-'), two(25), two(61), fc.boolean())
        .map(([sign, hh, mm, colon]) => `${sign}${hh}${colon ? ':' : ''}${mm}`),
    ),
  )
  .map(
    ([y, mo, d, h, mi, s, frac, zone]) =>
      `${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}${s === null ? '' : `:${s}${frac === null ? '' : `.${frac}`}`}${zone}`,
  );

describe('ISO date-time parsing', () => {
  it('gives the instant new Date() gives, and rejects the same strings, for every date-time form', () => {
    fc.assert(
      fc.property(dateTimeArb, (value) => {
        expect(parseIsoDateTimeMs(value)).toBe(reference(value));
        expect(parseIsoDateTime(value)?.getTime()).toBe(reference(value));
        expect(utcIsoString(value)).toBe(referenceIso(value));
      }),
      { numRuns: 20_000, seed: 42 },
    );
  });

  it('agrees on date-times with one character replaced, inserted or removed', () => {
    const alphabet = fc.constantFrom(...'0159-:.TZz+ \u0663\n'.split(''));
    const edit = fc.tuple(fc.nat(), alphabet, fc.constantFrom('replace', 'insert', 'remove'));
    fc.assert(
      fc.property(dateTimeArb, fc.array(edit, { minLength: 1, maxLength: 3 }), (valid, edits) => {
        let value = valid;
        for (const [at, c, how] of edits) {
          const i = at % (value.length + 1);
          value =
            how === 'insert'
              ? value.slice(0, i) + c + value.slice(i)
              : value.slice(0, i) + (how === 'replace' ? c : '') + value.slice(i + 1);
        }
        expect(parseIsoDateTimeMs(value), value).toBe(reference(value));
        expect(utcIsoString(value), value).toBe(referenceIso(value));
      }),
      { numRuns: 20_000, seed: 44 },
    );
  });

  it('agrees on arbitrary strings and on the edge cases', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        expect(parseIsoDateTimeMs(value)).toBe(reference(value));
      }),
      { numRuns: 2000, seed: 43 },
    );
    for (const value of [
      '0000-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2024-02-29T23:59:59.999999999+23:59',
      '2030-01-01T09:00:00+0200',
      '2030-01-01T24:00:00Z',
      '2030-12-31T23:59:60Z',
      '9999-12-31T23:59:59-23:59',
      '0100-01-01T00:00Z',
      '2030-01-01T09:00:00.1Z',
      '2030-01-01T09:00:00.123Z',
      '2030-01-01T09:00:00.1239Z',
    ]) {
      expect(parseIsoDateTimeMs(value)).toBe(reference(value));
      expect(utcIsoString(value)).toBe(referenceIso(value));
    }
  });
});
