import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { MAX_METADATA_ENTRIES, MAX_STRING_LENGTH, MAX_TEXT_LENGTH } from '../access-request.limits';

// A time and an offset are required, so that "when" is never guessed from a server's time zone. The
// grammar: YYYY-MM-DDTHH:MM[:SS[.F{1,9}]](Z|±HH[:]MM), ASCII digits only.

export function parseIsoDateTime(value: string): Date | undefined {
  const ms = parseIsoDateTimeMs(value);
  return ms === undefined ? undefined : new Date(ms);
}

/** The fields of the last string `scan` accepted (one per call, read at once: no allocation per date). */
const f = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, millis: 0, zone: 0, offH: 0, offM: 0 };
const ZULU = 0;
const OFFSET_WITH_COLON = 1;
const OFFSET_WITHOUT_COLON = 2;

/** The digit at `i`, or -1. */
function digitAt(value: string, i: number): number {
  const c = value.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function twoDigitsAt(value: string, i: number): number {
  const a = digitAt(value, i);
  const b = digitAt(value, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/** Whether `value` is in the grammar above; fills `f`. A scan, not a regex: it ran on every date twice. */
function scan(value: string): boolean {
  const n = value.length;
  if (n < 17 || value[4] !== '-' || value[7] !== '-' || value[10] !== 'T' || value[13] !== ':') return false;
  const hi = twoDigitsAt(value, 0);
  const lo = twoDigitsAt(value, 2);
  f.month = twoDigitsAt(value, 5);
  f.day = twoDigitsAt(value, 8);
  f.hour = twoDigitsAt(value, 11);
  f.minute = twoDigitsAt(value, 14);
  if (hi < 0 || lo < 0 || f.month < 0 || f.day < 0 || f.hour < 0 || f.minute < 0) return false;
  f.year = hi * 100 + lo;
  f.second = 0;
  f.millis = 0;
  let i = 16;
  if (value[i] === ':') {
    f.second = twoDigitsAt(value, i + 1);
    if (f.second < 0) return false;
    i += 3;
    if (value[i] === '.') {
      const start = ++i;
      while (i < n && i - start < 9 && digitAt(value, i) >= 0) {
        // Milliseconds: the first three digits, the rest dropped (not rounded), as Date does.
        if (i - start < 3) f.millis += digitAt(value, i) * (i === start ? 100 : i === start + 1 ? 10 : 1);
        i++;
      }
      if (i === start) return false;
    }
  }
  if (value[i] === 'Z') {
    f.zone = ZULU;
    return i + 1 === n;
  }
  if (value[i] !== '+' && value[i] !== '-') return false;
  const sign = value[i] === '+' ? -1 : 1;
  f.offH = twoDigitsAt(value, i + 1);
  if (f.offH < 0) return false;
  i += 3;
  f.zone = OFFSET_WITHOUT_COLON;
  if (value[i] === ':') {
    f.zone = OFFSET_WITH_COLON;
    i++;
  }
  f.offM = twoDigitsAt(value, i);
  if (f.offM < 0 || i + 2 !== n) return false;
  // Minutes to add to the local time to get UTC.
  f.offH *= sign;
  f.offM *= sign;
  return true;
}

/** `new Date(value)` computed by hand (it was a visible accept-path cost); iso-date-time.spec.ts checks. */
export function parseIsoDateTimeMs(value: string): number | undefined {
  if (!scan(value)) return undefined;
  const { year, month, day, hour, minute, second } = f;
  let ms: number;
  if (
    year >= 100 &&
    month >= 1 &&
    month <= 12 &&
    (f.zone === ZULU || (f.zone === OFFSET_WITH_COLON && Math.abs(f.offH) <= 23 && Math.abs(f.offM) <= 59))
  ) {
    ms = Date.UTC(year, month - 1, day, hour, minute, second, f.millis);
    if (f.zone === OFFSET_WITH_COLON) ms += (f.offH * 60 + f.offM) * 60_000;
  } else {
    ms = new Date(value).getTime();
  }
  if (Number.isNaN(ms)) return undefined;
  // Reject dates JavaScript would silently roll over (2026-02-30 → March 2).
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return ms;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/**
 * `new Date(parseIsoDateTimeMs(value)).toISOString()`: a Z date-time is rewritten from its own fields
 * (Date's formatting was the largest cost of normalising a request); others go through Date.
 */
export function utcIsoString(value: string): string | undefined {
  const ms = parseIsoDateTimeMs(value);
  if (ms === undefined) return undefined;
  if (f.zone !== ZULU || f.year < 100) return new Date(ms).toISOString();
  // Already canonical (seconds and exactly three fraction digits): nothing to build.
  if (value.length === 24 && value[19] === '.') return value;
  return `${value.slice(0, 16)}:${pad2(f.second)}.${pad3(f.millis)}Z`;
}

/** Years 0-99 read as 1900-1999, as Date.UTC does. */
function daysInMonth(year: number, month: number): number {
  const y = year < 100 ? year + 1900 : year;
  if (month === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export function IsIsoDateTimeWithOffset(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isIsoDateTimeWithOffset',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: (args: ValidationArguments) =>
          args.value === ''
            ? `${args.property} must not be an empty string (omit the field instead)`
            : `${args.property} must be an ISO-8601 date-time with a time and a UTC offset, e.g. 2030-01-31T17:00:00Z`,
        ...options,
      },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseIsoDateTimeMs(value) !== undefined,
      },
    });
  };
}

/** IdentityNow rejects empty strings: omit the field instead. */
export function IsNonBlankString(options?: ValidationOptions & { maxLength?: number }): PropertyDecorator {
  const maxLength = options?.maxLength ?? MAX_STRING_LENGTH;
  return (target, propertyName) => {
    registerDecorator({
      name: 'isNonBlankString',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: (args: ValidationArguments) => {
          const each = options?.each === true ? 'each value in ' : '';
          if (typeof args.value !== 'string' && options?.each !== true)
            return `${args.property} must be a string`;
          return `${each}${args.property} must be a non-empty string of at most ${maxLength} characters`;
        },
        ...options,
      },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && value.trim().length > 0 && value.length <= maxLength,
      },
    });
  };
}

export function IsClientMetadata(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isClientMetadata',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: (args: ValidationArguments) => describeMetadataProblem(args.property, args.value) ?? '',
        ...options,
      },
      validator: { validate: (value: unknown) => describeMetadataProblem('', value) === undefined },
    });
  };
}

function describeMetadataProblem(property: string, value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${property} must be an object mapping strings to strings`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_METADATA_ENTRIES) {
    return `${property} may have at most ${MAX_METADATA_ENTRIES} entries`;
  }
  for (const [key, v] of entries) {
    if (key.length === 0 || key.length > MAX_STRING_LENGTH)
      return `${property} keys must be 1 to ${MAX_STRING_LENGTH} characters`;
    if (typeof v !== 'string') return `${property}.${key} must be a string`;
    if (v.length > MAX_TEXT_LENGTH) return `${property}.${key} must be at most ${MAX_TEXT_LENGTH} characters`;
  }
  return undefined;
}
