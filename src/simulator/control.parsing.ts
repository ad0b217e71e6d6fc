import { asRecord } from './request-values';
import {
  SIM_FINAL_STATES,
  SIM_OPERATIONS,
  type SimFaultSettings,
  type SimFinalState,
  type SimItemMatch,
  type SimLatency,
  type SimOperation,
  type SimProgression,
  type SimProgressionRule,
  type SimScriptedAction,
  type SimScriptedFault,
} from './simulator.types';

/** Each parser answers the parsed value, or a string saying why the input is invalid. */
type Parsed<T> = T | string;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const nonNegative = (v: unknown): v is number => num(v) !== undefined && (v as number) >= 0;
type Writable<T> = { -readonly [K in keyof T]: T[K] };

function parseRange(v: unknown, name: string): Parsed<SimLatency> {
  const l = asRecord(v);
  const minMs = num(l.minMs) ?? num(l.ms);
  const maxMs = num(l.maxMs) ?? minMs;
  if (minMs === undefined || maxMs === undefined) return `${name} needs {ms} or {minMs, maxMs}`;
  return { minMs, maxMs };
}

export function parseSeed(v: unknown): Parsed<number | null | undefined> {
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isInteger(v)) return 'seed must be an integer or null';
  return v;
}

export function parseFaultSettings(input: unknown): Parsed<SimFaultSettings> {
  const b = asRecord(input);
  const settings: Writable<SimFaultSettings> = {};
  if (b.latency === null) settings.latency = null;
  else if (b.latency !== undefined) {
    const latency = parseRange(b.latency, 'latency');
    if (typeof latency === 'string') return latency;
    settings.latency = latency;
  }
  if (b.errorRates !== undefined) {
    const rates: Record<number, number> = {};
    for (const [k, v] of Object.entries(asRecord(b.errorRates))) {
      const rate = num(v);
      if (!['500', '502', '503', '504'].includes(k) || rate === undefined || rate < 0 || rate > 1) {
        return 'errorRates maps 500, 502, 503, 504 to a probability between 0 and 1';
      }
      rates[Number(k)] = rate;
    }
    settings.errorRates = rates;
  }
  if (b.errorRateOperations !== undefined) {
    const ops = b.errorRateOperations;
    if (!Array.isArray(ops) || !ops.every((o) => SIM_OPERATIONS.includes(o as SimOperation))) {
      return `errorRateOperations must list operations among ${SIM_OPERATIONS.join(', ')}`;
    }
    settings.errorRateOperations = ops as SimOperation[];
  }
  if (b.statusLagMs !== undefined) {
    if (typeof b.statusLagMs === 'number') {
      if (!nonNegative(b.statusLagMs)) return 'statusLagMs must be >= 0';
      settings.statusLagMs = b.statusLagMs;
    } else {
      const lag = parseRange(b.statusLagMs, 'statusLagMs');
      if (typeof lag === 'string') return lag;
      settings.statusLagMs = lag;
    }
  }
  if (b.createsLate === null) settings.createsLate = null;
  else if (b.createsLate !== undefined) {
    const c = asRecord(b.createsLate);
    const rate = num(c.rate);
    if (rate === undefined || rate < 0 || rate > 1) return 'createsLate.rate must be between 0 and 1';
    if (c.afterMs !== undefined && !nonNegative(c.afterMs)) return 'createsLate.afterMs must be >= 0';
    settings.createsLate = { rate, ...(c.afterMs === undefined ? {} : { afterMs: c.afterMs }) };
  }
  const seed = parseSeed(b.seed);
  if (typeof seed === 'string') return seed;
  if (seed !== undefined) settings.seed = seed;
  if (b.unknownItems !== undefined) {
    const ids = b.unknownItems;
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string'))
      return 'unknownItems must list item ids';
    settings.unknownItems = ids;
  }
  return settings;
}

/** Parses one scripted fault from the control API. */
export function parseScripted(input: unknown): Parsed<SimScriptedFault> {
  const f = asRecord(input);
  const operation = f.operation ?? 'any';
  if (operation !== 'any' && !SIM_OPERATIONS.includes(operation as SimOperation)) {
    return `operation must be one of any, ${SIM_OPERATIONS.join(', ')}`;
  }
  const count = f.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1)
    return 'count must be a positive integer';
  const a = asRecord(f.action);
  if (a.statusLagMs !== undefined && !nonNegative(a.statusLagMs)) return 'statusLagMs must be >= 0';
  const lag = a.statusLagMs === undefined ? {} : { statusLagMs: a.statusLagMs };
  let action: SimScriptedAction;
  switch (a.kind) {
    case 'error': {
      const status = a.status;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
        return 'error action needs a status between 400 and 599';
      }
      action = {
        kind: 'error',
        status,
        commit: a.commit === true,
        ...(typeof a.retryAfterSeconds === 'number' ? { retryAfterSeconds: a.retryAfterSeconds } : {}),
        ...(typeof a.message === 'string' ? { message: a.message } : {}),
      };
      break;
    }
    case 'lost-response':
    case 'drop':
    case 'hang':
      action = { kind: a.kind };
      break;
    case 'delay':
      if (!nonNegative(a.ms)) return 'delay action needs ms >= 0';
      action = { kind: 'delay', ms: a.ms };
      break;
    case 'create-late':
      if (a.afterMs !== undefined && !nonNegative(a.afterMs)) return 'create-late afterMs must be >= 0';
      action = { kind: 'create-late', ...(a.afterMs === undefined ? {} : { afterMs: a.afterMs }) };
      break;
    case 'status-lag':
      if (!nonNegative(a.lagMs)) return 'status-lag action needs lagMs >= 0';
      action = { kind: 'status-lag', lagMs: a.lagMs };
      break;
    case 'proxy-error': {
      const status = a.status ?? 502;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
        return 'proxy-error action needs a status between 400 and 599';
      }
      if (a.bytes !== undefined && !nonNegative(a.bytes)) return 'proxy-error bytes must be >= 0';
      action = {
        kind: 'proxy-error',
        status,
        ...(a.bytes === undefined ? {} : { bytes: a.bytes }),
      };
      break;
    }
    default:
      return 'action.kind must be one of error, lost-response, drop, hang, delay, create-late, status-lag, proxy-error';
  }
  return { operation: operation as SimOperation | 'any', count, action: { ...action, ...lag } };
}

const MATCH_FIELDS = [
  'itemId',
  'identityId',
  'itemType',
  'requestType',
  'accessRequestId',
  'accountActivityItemId',
  'gatewaySubmissionId',
] as const;
const ITEM_TYPES = ['ACCESS_PROFILE', 'ROLE', 'ENTITLEMENT'];
const REQUEST_TYPES = ['GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS'];

export function parseMatch(input: unknown, at: string): Parsed<SimItemMatch> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return `${at} must be an object`;
  const m = input as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (!(MATCH_FIELDS as readonly string[]).includes(k)) {
      return `${at}.${k} is not a match field (use ${MATCH_FIELDS.join(', ')})`;
    }
    if (typeof v !== 'string') return `${at}.${k} must be a string`;
    out[k] = v;
  }
  if (out.itemType !== undefined && !ITEM_TYPES.includes(out.itemType)) {
    return `${at}.itemType must be one of ${ITEM_TYPES.join(', ')}`;
  }
  if (out.requestType !== undefined && !REQUEST_TYPES.includes(out.requestType)) {
    return `${at}.requestType must be one of ${REQUEST_TYPES.join(', ')}`;
  }
  return out;
}

export function isFinalState(v: unknown): v is SimFinalState {
  return typeof v === 'string' && (SIM_FINAL_STATES as readonly string[]).includes(v);
}

export function parseProgression(input: unknown): Parsed<Partial<SimProgression>> {
  const b = asRecord(input);
  const p: Writable<Partial<SimProgression>> = {};
  if (b.completeAfterMs === null) p.completeAfterMs = null;
  else if (b.completeAfterMs !== undefined) {
    if (!nonNegative(b.completeAfterMs)) return 'completeAfterMs must be >= 0 or null';
    p.completeAfterMs = b.completeAfterMs;
  }
  if (b.rejectRate !== undefined) {
    const v = num(b.rejectRate);
    if (v === undefined || v < 0 || v > 1) return 'rejectRate must be between 0 and 1';
    p.rejectRate = v;
  }
  if (b.rules !== undefined) {
    if (!Array.isArray(b.rules)) return 'rules must be an array';
    const rules: SimProgressionRule[] = [];
    for (const [i, raw] of (b.rules as unknown[]).entries()) {
      const r = asRecord(raw);
      const match = parseMatch(r.match ?? {}, `rules[${i}].match`);
      if (typeof match === 'string') return match;
      if (!isFinalState(r.state)) return `rules[${i}].state must be one of ${SIM_FINAL_STATES.join(', ')}`;
      if (r.afterMs !== undefined && r.afterMs !== null && !nonNegative(r.afterMs)) {
        return `rules[${i}].afterMs must be >= 0 or null`;
      }
      const afterMs = r.afterMs;
      rules.push({ match, state: r.state, ...(afterMs === undefined ? {} : { afterMs }) });
    }
    p.rules = rules;
  }
  return p;
}
