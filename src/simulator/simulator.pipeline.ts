import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorAnswer, proxyErrorAnswer, type Answer } from './simulator.errors';
import type { SimFaults } from './simulator-faults';
import { DEFAULT_CREATE_LATE_AFTER_MS } from './simulator-faults';
import type { HeldCalls } from './held-calls';
import type { SimRateLimiter } from './simulator-rate-limiter';
import type { SimRecordLog } from './simulator-records';
import type { IssuedToken, SimTokenStore } from './simulator-tokens';
import type { SimCallRecord, SimLogEvent, SimOperation, SimScriptedAction } from './simulator.types';

export interface WorkContext {
  readonly auth: IssuedToken | null;
  /** The client will not get this answer (lost response, or an error sent after the work was done). */
  readonly responseLost: boolean;
  readonly now: number;
  readonly rec: SimCallRecord;
  /** How long what this call creates stays out of the status listing. */
  readonly statusLagMs: number;
}

export type Work = (ctx: WorkContext) => Answer;

export type CallHandler = (
  req: FastifyRequest,
  reply: FastifyReply,
  operation: SimOperation,
  work: Work,
) => Promise<void>;

export interface PipelineParts {
  readonly records: SimRecordLog;
  readonly tokens: SimTokenStore;
  readonly limiter: SimRateLimiter;
  readonly faults: SimFaults;
  readonly held: HeldCalls;
  readonly log: (event: SimLogEvent) => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function finish(reply: FastifyReply, rec: SimCallRecord, started: number, answer: Answer): void {
  rec.status = answer.status;
  rec.durationMs = Date.now() - started;
  void reply
    .code(answer.status)
    .headers(answer.headers ?? {})
    .send(answer.body);
}

function cutConnection(req: FastifyRequest, reply: FastifyReply, rec: SimCallRecord, started: number): void {
  reply.hijack();
  rec.durationMs = Date.now() - started;
  req.raw.socket.destroy();
}

// IdentityNow's order as far as it can be observed: storm, rate limit, latency, faults, token, work.
export function createCallHandler({
  records,
  tokens,
  limiter,
  faults,
  held,
  log,
}: PipelineParts): CallHandler {
  const run = (
    req: FastifyRequest,
    operation: SimOperation,
    work: Work,
    rec: SimCallRecord,
    lost: boolean,
    lagMs: number,
  ): Answer => {
    const now = Date.now();
    if (operation === 'token') return work({ auth: null, responseLost: false, now, rec, statusLagMs: 0 });
    const check = tokens.check(req.headers.authorization, now);
    return check.ok
      ? work({ auth: check.token, responseLost: lost, now, rec, statusLagMs: lagMs })
      : { status: 401, body: { error: check.error } };
  };

  return async function handle(req, reply, operation, work) {
    const started = Date.now();
    const q = req.url.indexOf('?');
    const rec = records.recordCall({
      time: new Date(started).toISOString(),
      method: req.method,
      path: q < 0 ? req.url : req.url.slice(0, q),
      query: q < 0 ? '' : req.url.slice(q + 1),
      operation,
      clientId: operation === 'token' ? null : tokens.clientIdOf(req.headers.authorization),
      status: null,
      fault: null,
      durationMs: null,
    });

    if (operation !== 'token') {
      const stormRetry = faults.stormRetryAfter(started);
      if (stormRetry !== null) {
        rec.fault = 'storm';
        finish(reply, rec, started, errorAnswer(429, undefined, stormRetry));
        return;
      }
      // Calls without a known token share one bucket.
      const decision = limiter.take(rec.clientId ?? '(anonymous)', started);
      if (!decision.allowed) {
        rec.fault = 'rate-limited';
        finish(reply, rec, started, errorAnswer(429, undefined, decision.retryAfterSeconds));
        return;
      }
    }

    const delay = faults.latencyMs();
    if (delay > 0) await sleep(delay);

    const scripted: SimScriptedAction | undefined = faults.takeScripted(operation);
    let lateAfterMs: number | null = null;
    if (scripted !== undefined) {
      rec.fault = `scripted:${scripted.kind}`;
      log({ level: 'debug', msg: 'simulator scripted fault', data: { operation, action: scripted } });
      if (scripted.kind === 'drop') {
        cutConnection(req, reply, rec, started);
        return;
      }
      if (scripted.kind === 'hang') {
        reply.hijack();
        held.hold(req.raw.socket);
        return;
      }
      if (scripted.kind === 'delay') await sleep(Math.max(0, scripted.ms));
      if (scripted.kind === 'error' && scripted.commit !== true) {
        finish(
          reply,
          rec,
          started,
          errorAnswer(scripted.status, scripted.message, scripted.retryAfterSeconds),
        );
        return;
      }
      if (scripted.kind === 'proxy-error') {
        finish(reply, rec, started, proxyErrorAnswer(scripted.status ?? 502, scripted.bytes));
        return;
      }
      if (scripted.kind === 'create-late') lateAfterMs = scripted.afterMs ?? DEFAULT_CREATE_LATE_AFTER_MS;
    } else {
      const randomStatus = faults.randomError(operation);
      if (randomStatus !== null) {
        rec.fault = 'random-error';
        finish(reply, rec, started, errorAnswer(randomStatus));
        return;
      }
      if (operation === 'submit') {
        lateAfterMs = faults.randomCreateLate();
        if (lateAfterMs !== null) rec.fault = 'random:create-late';
      }
    }

    const lagMs =
      scripted?.kind === 'status-lag'
        ? scripted.lagMs
        : (scripted?.statusLagMs ?? (operation === 'submit' ? faults.standingStatusLagMs() : 0));

    // Held, never answered; the work happens later whether or not the caller is still waiting.
    if (lateAfterMs !== null) {
      reply.hijack();
      held.hold(req.raw.socket, () => {
        rec.durationMs = Date.now() - started;
      });
      held.later(Math.max(0, lateAfterMs), () => {
        run(req, operation, work, rec, true, lagMs);
      });
      return;
    }

    const lost =
      scripted?.kind === 'lost-response' || (scripted?.kind === 'error' && scripted.commit === true);
    const answer = run(req, operation, work, rec, lost, lagMs);
    if (scripted?.kind === 'lost-response') {
      cutConnection(req, reply, rec, started);
      return;
    }
    if (scripted?.kind === 'error') {
      finish(reply, rec, started, errorAnswer(scripted.status, scripted.message, scripted.retryAfterSeconds));
      return;
    }
    finish(reply, rec, started, answer);
  };
}
