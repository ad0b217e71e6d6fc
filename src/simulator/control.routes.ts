import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  isFinalState,
  parseFaultSettings,
  parseMatch,
  parseProgression,
  parseScripted,
  parseSeed,
} from './control.parsing';
import { errorResponse } from './simulator.errors';
import { asRecord, firstString } from './request-values';
import type { RecordsFilter, SimScriptedFault, SimulatorControl } from './simulator.types';

function recordsFilter(query: unknown): RecordsFilter {
  const q = asRecord(query);
  const since = firstString(q.since);
  return {
    operation: firstString(q.operation),
    clientId: firstString(q.clientId),
    identityId: firstString(q.identityId),
    pairKey: firstString(q.pairKey),
    gatewaySubmissionId: firstString(q.gatewaySubmissionId),
    sinceSeq: since === undefined ? undefined : Number(since),
  };
}

/** `/__sim/*`: the HTTP face of `SimulatorControl`. */
export function registerControlRoutes(app: FastifyInstance, control: SimulatorControl): void {
  const bad = (reply: FastifyReply, text: string): FastifyReply =>
    reply.code(400).send(errorResponse(400, [text]));
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : undefined;

  app.get('/__sim/health', () => ({ ok: true }));

  app.get('/__sim/records', (req) => control.records(recordsFilter(req.query)));
  app.get('/__sim/records/summary', (req) => control.summary(recordsFilter(req.query)));
  app.delete('/__sim/records', (_req, reply) => {
    control.clearRecords();
    return reply.code(204).send();
  });
  app.post('/__sim/reset', (req, reply) => {
    const seed = parseSeed(asRecord(req.body).seed);
    if (typeof seed === 'string') return bad(reply, seed);
    control.reset(seed);
    return reply.code(204).send();
  });

  app.get('/__sim/faults', () => control.faultsSnapshot());
  app.put('/__sim/faults', (req, reply) => {
    const settings = parseFaultSettings(req.body);
    if (typeof settings === 'string') return bad(reply, settings);
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

  app.get('/__sim/progression', () => control.progression());
  app.put('/__sim/progression', (req, reply) => {
    const p = parseProgression(req.body);
    if (typeof p === 'string') return bad(reply, p);
    control.setProgression(p);
    return reply.code(204).send();
  });

  app.post('/__sim/requests/complete', (req, reply) => {
    const b = asRecord(req.body);
    if (b.state !== undefined && !isFinalState(b.state)) {
      return bad(reply, 'state must be a final state such as REQUEST_COMPLETED or REJECTED');
    }
    const match = parseMatch(b.match, 'match');
    if (typeof match === 'string') return bad(reply, match);
    return { completed: control.completePending(b.state, match) };
  });

  app.post('/__sim/requests/state', (req, reply) => {
    const b = asRecord(req.body);
    if (!isFinalState(b.state) && b.state !== 'PROVISIONING_VERIFICATION_PENDING') {
      return bad(reply, 'state must be PROVISIONING_VERIFICATION_PENDING or a final state');
    }
    const match = parseMatch(b.match, 'match');
    if (typeof match === 'string') return bad(reply, match);
    return { changed: control.setItemState(b.state, match) };
  });
}
