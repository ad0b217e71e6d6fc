import {
  MAX_IDENTITIES,
  MAX_ITEMS,
  MAX_METADATA_ENTRIES,
  MAX_STRING_LENGTH,
  MAX_TEXT_LENGTH,
} from './access-request.limits';
import { ITEM_TYPES, REQUEST_TYPES } from './access-request.types';
import type { AccessRequestDto } from './dto/access-request.dto';
import { parseIsoDateTimeMs } from './dto/validators';

/** Skips work only: same verdict as the DTOs for the usual shape; keep bounds in step (fast-path spec). */
export function isCommonValidShape(body: unknown): body is AccessRequestDto {
  if (!isPlainObject(body)) return false;
  let hasFor = false;
  let hasItems = false;
  for (const key in body) {
    const v = body[key];
    switch (key) {
      case 'requestedFor':
        if (!isIdentityList(v)) return false;
        hasFor = true;
        break;
      case 'requestType':
        if (typeof v !== 'string' || !REQUEST_TYPE_SET.has(v)) return false;
        break;
      case 'requestedItems':
        if (!isItemList(v)) return false;
        hasItems = true;
        break;
      case 'clientMetadata':
        if (!isMetadata(v)) return false;
        break;
      default:
        return false;
    }
  }
  return hasFor && hasItems;
}

const REQUEST_TYPE_SET: ReadonlySet<string> = new Set(REQUEST_TYPES);
const ITEM_TYPE_SET: ReadonlySet<string> = new Set(ITEM_TYPES);

const nonBlank = (v: unknown, max = MAX_STRING_LENGTH): boolean =>
  typeof v === 'string' && v.length <= max && v.trim().length > 0;

const isDateTime = (v: unknown): boolean => typeof v === 'string' && parseIsoDateTimeMs(v) !== undefined;

/** Only what JSON.parse makes: class-transformer treats other prototypes in ways not modelled here. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function isIdentityList(v: unknown): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_IDENTITIES) return false;
  for (let i = 0; i < v.length; i++) if (!nonBlank(v[i])) return false;
  return true;
}

function isItemList(v: unknown): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_ITEMS) return false;
  for (let i = 0; i < v.length; i++) if (!isItem(v[i])) return false;
  return true;
}

function isItem(item: unknown): boolean {
  if (!isPlainObject(item)) return false;
  let hasType = false;
  let hasId = false;
  for (const key in item) {
    const v = item[key];
    switch (key) {
      case 'type':
        if (typeof v !== 'string' || !ITEM_TYPE_SET.has(v)) return false;
        hasType = true;
        break;
      case 'id':
        if (!nonBlank(v)) return false;
        hasId = true;
        break;
      case 'comment':
        if (!nonBlank(v, MAX_TEXT_LENGTH)) return false;
        break;
      case 'clientMetadata':
        if (!isMetadata(v)) return false;
        break;
      case 'startDate':
      case 'removeDate':
        if (!isDateTime(v)) return false;
        break;
      case 'assignmentId':
      case 'nativeIdentity':
        if (!nonBlank(v)) return false;
        break;
      default:
        return false;
    }
  }
  return hasType && hasId;
}

/** Leaves prototype-named keys to the DTO path, which refuses them or lets class-transformer drop them. */
function isMetadata(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  let n = 0;
  for (const key in v) {
    n += 1;
    if (
      n > MAX_METADATA_ENTRIES ||
      key.length === 0 ||
      key.length > MAX_STRING_LENGTH ||
      key in Object.prototype ||
      key === 'prototype'
    )
      return false;
    const value = v[key];
    if (typeof value !== 'string' || value.length > MAX_TEXT_LENGTH) return false;
  }
  return true;
}
