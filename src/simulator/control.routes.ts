import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorResponse } from './simulator.errors';
import { asRecord, firstString } from './request-values';
import {
  SIM_OPERATIONS,
  type SimFaultSettings,
  type SimOperation,
  type SimScriptedAction,
  type SimScriptedFault,
  type SimulatorControl,
} from './simulator.types';

/** `/__sim/*`: the HTTP face of `SimulatorControl`. */
export function registerControlRoutes(app: FastifyInstance, control: SimulatorControl): void {
  const bad = (reply: FastifyReply, text: string): FastifyReply =>
    reply.code(400).send(errorResponse(400, [text]));
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : undefined;

  app.get('/__sim/health', () => ({ ok: true }));

  app.get('/__sim/records', (req) => {
    const q = asRecord(req.query);
    const since = firstString(q.since);
    return control.records({
      operation: firstString(q.operation),
      clientId: firstString(q.clientId),
      identityId: firstString(q.identityId),
      pairKey: firstString(q.pairKey),
      sinceSeq: since === undefined ? undefined : Number(since),
    });
  });
  app.delete('/__sim/records', (_req, reply) => {
    control.clearRecords();
    return reply.code(204).send();
  });
  app.post('/__sim/reset', (_req, reply) => {
    control.reset();
    return reply.code(204).send();
  });

  app.get('/__sim/faults', () => control.faultsSnapshot());
  app.put('/__sim/faults', (req, reply) => {
    const b = asRecord(req.body);
    const settings: { -readonly [K in keyof SimFaultSettings]: SimFaultSettings[K] } = {};
    if (b.latency === null) settings.latency = null;
    else if (b.latency !== undefined) {
      const l = asRecord(b.latency);
      const minMs = num(l.minMs) ?? num(l.ms);
      const maxMs = num(l.maxMs) ?? minMs;
      if (minMs === undefined || maxMs === undefined)
        return bad(reply, 'latency needs {ms} or {minMs, maxMs}');
      settings.latency = { minMs, maxMs };
    }
    if (b.errorRates !== undefined) {
      const rates: Record<number, number> = {};
      for (const [k, v] of Object.entries(asRecord(b.errorRates))) {
        const rate = num(v);
        if (!['500', '502', '503', '504'].includes(k) || rate === undefined || rate < 0 || rate > 1) {
          return bad(reply, 'errorRates maps 500, 502, 503, 504 to a probability between 0 and 1');
        }
        rates[Number(k)] = rate;
      }
      settings.errorRates = rates;
    }
    if (b.errorRateOperations !== undefined) {
      const ops = b.errorRateOperations;
      if (!Array.isArray(ops) || !ops.every((o) => SIM_OPERATIONS.includes(o as SimOperation))) {
        return bad(reply, `errorRateOperations must list operations among ${SIM_OPERATIONS.join(', ')}`);
      }
      settings.errorRateOperations = ops as SimOperation[];
    }
    control.configureFaults(settings);
    return control.faultsSnapshot();
  });

  app.post('/__sim/faults/script', (req, reply) => {
    const list = Array.isArray(req.body) ? (req.body as unknown[]) : [req.body];
    const parsed: SimScriptedFault[] = [];
    for (const item of list) {
      const f = parseScripted(item);
      if (typeof f === 'string') return bad(reply, f);
      parsed.push(f);
    }
    for (const f of parsed) control.script(f);
    return control.faultsSnapshot();
  });
  app.delete('/__sim/faults/script', (_req, reply) => {
    control.clearScript();
    return reply.code(204).send();
  });

  app.post('/__sim/faults/rate-limit-storm', (req, reply) => {
    const b = asRecord(req.body);
    const seconds = num(b.seconds);
    if (seconds === undefined || seconds <= 0) return bad(reply, 'seconds must be a positive number');
    control.startRateLimitStorm(seconds, num(b.retryAfterSeconds));
    return control.faultsSnapshot();
  });
  app.delete('/__sim/faults/rate-limit-storm', (_req, reply) => {
    control.stopRateLimitStorm();
    return reply.code(204).send();
  });

  app.post('/__sim/tokens/expire', () => ({ expired: control.expireAllTokens() }));

  app.put('/__sim/rate-limit', (req, reply) => {
    const b = asRecord(req.body);
    const max = num(b.max);
    const windowMs = num(b.windowMs);
    if (max === undefined || max < 0 || windowMs === undefined || windowMs <= 0) {
      return bad(reply, 'rate limit needs {max >= 0, windowMs > 0}');
    }
    control.setRateLimit({ max, windowMs });
    return { max, windowMs };
  });

  app.put('/__sim/progression', (req, reply) => {
    const b = asRecord(req.body);
    const p: { completeAfterMs?: number | null; rejectRate?: number } = {};
    if (b.completeAfterMs === null) p.completeAfterMs = null;
    else if (b.completeAfterMs !== undefined) {
      const v = num(b.completeAfterMs);
      if (v === undefined || v < 0) return bad(reply, 'completeAfterMs must be >= 0 or null');
      p.completeAfterMs = v;
    }
    if (b.rejectRate !== undefined) {
      const v = num(b.rejectRate);
      if (v === undefined || v < 0 || v > 1) return bad(reply, 'rejectRate must be between 0 and 1');
      p.rejectRate = v;
    }
    control.setProgression(p);
    return reply.code(204).send();
  });

  app.post('/__sim/requests/complete', (req, reply) => {
    const state = asRecord(req.body).state;
    if (state !== undefined && state !== 'REQUEST_COMPLETED' && state !== 'REJECTED') {
      return bad(reply, 'state must be REQUEST_COMPLETED or REJECTED');
    }
    return { completed: control.completePending(state) };
  });
}

/** Parses one scripted fault from the control API; a string is the reason it is invalid. */
export function parseScripted(input: unknown): SimScriptedFault | string {
  const f = asRecord(input);
  const operation = f.operation ?? 'any';
  if (operation !== 'any' && !SIM_OPERATIONS.includes(operation as SimOperation)) {
    return `operation must be one of any, ${SIM_OPERATIONS.join(', ')}`;
  }
  const count = f.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1)
    return 'count must be a positive integer';
  const a = asRecord(f.action);
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
      if (typeof a.ms !== 'number' || a.ms < 0) return 'delay action needs ms >= 0';
      action = { kind: 'delay', ms: a.ms };
      break;
    default:
      return 'action.kind must be one of error, lost-response, drop, hang, delay';
  }
  return { operation: operation as SimOperation | 'any', count, action };
}
