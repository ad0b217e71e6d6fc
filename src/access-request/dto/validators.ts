import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { MAX_METADATA_ENTRIES, MAX_STRING_LENGTH, MAX_TEXT_LENGTH } from '../access-request.limits';

/** A time and an offset are required, so that "when" is never guessed from a server's time zone. */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;
const OFFSET = /^([+-])(\d{2}):(\d{2})$/;

export function parseIsoDateTime(value: string): Date | undefined {
  const ms = parseIsoDateTimeMs(value);
  return ms === undefined ? undefined : new Date(ms);
}

/**
 * The instant `new Date(value)` gives, computed from the fields for the usual forms (`new Date` was a
 * visible cost on the accept path); iso-date-time.spec.ts checks both agree.
 */
export function parseIsoDateTimeMs(value: string): number | undefined {
  const m = ISO_DATE_TIME.exec(value);
  if (m === null) return undefined;
  const [, y = '', mo = '', d = '', h = '', mi = '', s, frac, zone = ''] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? '0');
  let ms: number;
  const offset = zone === 'Z' ? null : OFFSET.exec(zone);
  if (
    year >= 100 &&
    month >= 1 &&
    month <= 12 &&
    (zone === 'Z' || (offset !== null && Number(offset[2]) <= 23 && Number(offset[3]) <= 59))
  ) {
    ms = Date.UTC(
      year,
      month - 1,
      day,
      hour,
      minute,
      second,
      frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0')),
    );
    if (offset !== null) {
      const minutes = Number(offset[2]) * 60 + Number(offset[3]);
      ms += (offset[1] === '+' ? -minutes : minutes) * 60_000;
    }
  } else {
    ms = new Date(value).getTime();
  }
  if (Number.isNaN(ms)) return undefined;
  // Reject dates JavaScript would silently roll over (2026-02-30 → March 2).
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return ms;
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
