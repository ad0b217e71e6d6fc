import type { ValidationError } from 'class-validator';

export const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

export const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** Integer, with an empty value meaning "not set" (a copied .env.example may leave it blank). */
export const toOptionalInt = ({ value }: { value: unknown }): unknown =>
  toInt({ value: emptyToUndefined({ value }) });

export function flattenValidationErrors(errors: readonly ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((msg) =>
      msg.startsWith(e.property) ? msg : `${e.property}: ${msg}`,
    ),
  );
}
