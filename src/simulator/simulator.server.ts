import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { checkAccessRequest, checkCancelRequest, warmUpValidators } from './access-request.rules';
import { SimFaults } from './simulator-faults';
import { SimRateLimiter } from './simulator-rate-limiter';
import { SimStore, type RecordsFilter } from './simulator-store';
import { SimTokenStore, type IssuedToken } from './simulator-tokens';
import { parseIntParam, QueryError } from './status-query';
import {
  SIM_OPERATIONS,
  type SimCallRecord,
  type SimClient,
  type SimFaultSettings,
  type SimOperation,
  type SimProgression,
  type SimRateLimit,
  type SimRecords,
  type SimScriptedAction,
  type SimScriptedFault,
  type SimulatorOptions,
} from './simulator.types';

export const DEFAULT_SIM_CLIENTS: readonly SimClient[] = [
  { clientId: 'sim-client', clientSecret: 'sim-secret', kind: 'pat' },
  { clientId: 'sim-api-client', clientSecret: 'sim-api-secret', kind: 'api' },
];
export const DEFAULT_RATE_LIMIT: SimRateLimit = { max: 100, windowMs: 10_000 };
export const DEFAULT_PROGRESSION: SimProgression = { completeAfterMs: 5_000, rejectRate: 0.1 };
export const DEFAULT_TOKEN_TTL_SECONDS = 749;

/** What tests and the embedding gateway get: the URL, `close()`, and the same controls as `/__sim`. */
export interface RunningSimulator {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash); use it as IDN_BASE_URL. */
  readonly url: string;
  readonly port: number;
  /** Credentials of the first PAT client (what the gateway's IdentityNow client should use). */
  readonly credentials: { readonly clientId: string; readonly clientSecret: string };
  readonly control: SimulatorControl;
  close(): Promise<void>;
}

/**
 * The fault, record and state controls, usable in-process (`sim.control.*`) and over HTTP
 * (`/__sim/*`, which calls exactly these methods).
 */
export interface SimulatorControl {
  records(filter?: RecordsFilter): SimRecords;
  /** Number of times a pair was created; key `${requestType}|${identityId}|${itemType}|${itemId}`. */
  pairCount(pairKey: string): number;
  clearRecords(): void;
  /** Forgets requests, records, faults, storm and rate-limit windows; releases hung connections. Tokens stay valid. */
  reset(): void;
  script(fault: SimScriptedFault): void;
  clearScript(): void;
  configureFaults(settings: SimFaultSettings): void;
  startRateLimitStorm(seconds: number, retryAfterSeconds?: number): void;
  stopRateLimitStorm(): void;
  expireAllTokens(): number;
  setRateLimit(limit: SimRateLimit): void;
  setProgression(p: Partial<SimProgression>): void;
  completePending(state?: 'REQUEST_COMPLETED' | 'REJECTED'): number;
  faultsSnapshot(): unknown;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const DETAIL_CODES: Readonly<Record<number, string>> = {
  400: '400.1 Bad Request Content',
  403: '403 Forbidden',
  404: '404 Not found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  500: '500.0 Internal Fault',
  502: '502.0 Bad Gateway',
  503: '503.0 Service Unavailable',
  504: '504.0 Gateway Timeout',
};

const DEFAULT_TEXT: Readonly<Record<number, string>> = {
  403: 'The server understood the request but refuses to authorize it.',
  404: 'The server did not find a current representation for the target resource.',
  500: 'An internal fault occurred.',
  502: 'Bad gateway.',
  503: 'The service is temporarily unavailable.',
  504: 'The upstream service did not answer in time.',
};

/** IdentityNow's `ErrorResponseDto`. */
export function errorResponse(status: number, texts: readonly string[]): Record<string, unknown> {
  return {
    detailCode: DETAIL_CODES[status] ?? `${status}`,
    trackingId: randomBytes(16).toString('hex'),
    messages: (texts.length > 0 ? texts : [DEFAULT_TEXT[status] ?? 'Error']).map((text) => ({
      locale: 'en-US',
      localeOrigin: 'DEFAULT',
      text,
    })),
    causes: [],
  };
}

/** The body and headers IdentityNow sends with a given error status. */
function errorAnswer(status: number, text?: string, retryAfterSeconds?: number): Answer {
  if (status === 401) return { status, body: { error: text ?? 'JWT validation failed: JWT is expired' } };
  if (status === 429) {
    return {
      status,
      body: { message: ' Rate Limit Exceeded ' },
      headers: { 'retry-after': String(retryAfterSeconds ?? 1) },
    };
  }
  return { status, body: errorResponse(status, text === undefined ? [] : [text]) };
}

/**
 * The access-request APIs are `userAuth` only in the spec: a token without a user (API authority) is
 * refused with 403, which is why the gateway needs a PAT.
 */
function userContextRequired(): Answer {
  return {
    status: 403,
    body: errorResponse(403, [
      'The server understood the request but refuses to authorize it.',
      'The access-request APIs need a user-context token (client credentials of a personal access token); API-authority client credentials are refused.',
    ]),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function firstString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

function operationOf(method: string, path: string): SimOperation | 'other' {
  if (method === 'POST' && path === '/oauth/token') return 'token';
  if (method === 'POST' && path === '/v3/access-requests') return 'submit';
  if (method === 'POST' && path === '/v3/access-requests/cancel') return 'cancel';
  if (method === 'GET' && path === '/v3/access-request-status') return 'status';
  return 'other';
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

interface WorkContext {
  /** The caller's valid token (always set for authenticated operations). */
  readonly auth: IssuedToken | null;
  /** True when the answer to this call will not reach the client (lost response or committed error). */
  readonly responseLost: boolean;
  readonly now: number;
  /** The call's record (the token route fills in the client id it authenticated). */
  readonly rec: SimCallRecord;
}

type Work = (ctx: WorkContext) => Answer;

/**
 * Starts an IdentityNow simulator: a lean Fastify server (not a Nest module, so that the gateway can
 * embed it cheaply and `npm run simulator` runs the very same code on its own).
 */
export async function createSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const clients = options.clients ?? DEFAULT_SIM_CLIENTS;
  const firstPat = clients.find((c) => c.kind === 'pat');
  if (firstPat === undefined) throw new Error('the simulator needs at least one PAT (user-context) client');
  const log = options.logger ?? ((): void => undefined);
  warmUpValidators();
  const tokens = new SimTokenStore(
    clients,
    options.tokenFormat ?? 'opaque',
    options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
  );
  const limiter = new SimRateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  const faults = new SimFaults(options.faults ?? {});
  const store = new SimStore(
    { ...DEFAULT_PROGRESSION, ...options.progression },
    options.maxCallRecords ?? 100_000,
  );
  const reportExisting = options.reportExisting ?? true;
  const hung = new Set<Socket>();

  const control: SimulatorControl = {
    records: (filter) => store.records(filter),
    pairCount: (key) => store.pairCount(key),
    clearRecords: () => {
      store.clearRecords();
    },
    reset: () => {
      store.reset();
      faults.reset();
      limiter.reset();
      for (const s of hung) s.destroy();
      hung.clear();
    },
    script: (fault) => {
      faults.addScript(fault);
    },
    clearScript: () => {
      faults.clearScript();
    },
    configureFaults: (settings) => {
      faults.configure(settings);
    },
    startRateLimitStorm: (seconds, retryAfterSeconds) => {
      faults.startStorm(seconds, Date.now(), retryAfterSeconds);
    },
    stopRateLimitStorm: () => {
      faults.stopStorm();
    },
    expireAllTokens: () => tokens.expireAll(Date.now()),
    setRateLimit: (limit) => {
      limiter.configure(limit);
    },
    setProgression: (p) => {
      store.progression = { ...store.progression, ...p };
    },
    completePending: (state) => store.completePending(Date.now(), state),
    faultsSnapshot: () => faults.snapshot(Date.now()),
  };

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 10 * 1024 * 1024 });

  // OAuth token requests are form-encoded; Fastify only parses JSON out of the box.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString())));
  });

  // Errors raised before a handler runs (malformed JSON, wrong content type, body too large) are
  // recorded too, so tests can see every call that reached the simulator.
  // SailPoint's TypeScript SDK posts its token request as multipart/form-data: small text fields only.
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { files: 0, fields: 10, fieldSize: 4096, parts: 10 },
  });

  app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
    const status =
      err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    if (!path.startsWith('/__sim/')) {
      store.recordCall({
        time: new Date().toISOString(),
        method: req.method,
        path,
        query: q < 0 ? '' : req.url.slice(q + 1),
        operation: operationOf(req.method, path),
        clientId: tokens.clientIdOf(req.headers.authorization),
        status,
        fault: null,
        durationMs: 0,
      });
    }
    void reply
      .code(status)
      .send(errorResponse(status, [status === 500 ? 'An internal fault occurred.' : err.message]));
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send(errorResponse(404, []));
  });

  function finish(reply: FastifyReply, rec: SimCallRecord, started: number, answer: Answer): void {
    rec.status = answer.status;
    rec.durationMs = Date.now() - started;
    void reply
      .code(answer.status)
      .headers(answer.headers ?? {})
      .send(answer.body);
  }

  function cutConnection(
    req: FastifyRequest,
    reply: FastifyReply,
    rec: SimCallRecord,
    started: number,
  ): void {
    reply.hijack();
    rec.durationMs = Date.now() - started;
    req.raw.socket.destroy();
  }

  /**
   * The path every API call takes, in IdentityNow's order as far as it can be observed: 429 storm and
   * rate limit (per client_id; token calls exempt) → latency → scripted or random faults →
   * authentication → the operation itself.
   */
  async function handle(
    req: FastifyRequest,
    reply: FastifyReply,
    operation: SimOperation,
    work: Work,
  ): Promise<void> {
    const started = Date.now();
    const q = req.url.indexOf('?');
    const rec = store.recordCall({
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
    if (scripted !== undefined) {
      rec.fault = `scripted:${scripted.kind}`;
      log({ level: 'debug', msg: 'simulator scripted fault', data: { operation, action: scripted } });
      if (scripted.kind === 'drop') {
        cutConnection(req, reply, rec, started);
        return;
      }
      if (scripted.kind === 'hang') {
        reply.hijack();
        const socket = req.raw.socket;
        hung.add(socket);
        socket.once('close', () => hung.delete(socket));
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
    } else {
      const randomStatus = faults.randomError(operation);
      if (randomStatus !== null) {
        rec.fault = 'random-error';
        finish(reply, rec, started, errorAnswer(randomStatus));
        return;
      }
    }

    const now = Date.now();
    let answer: Answer;
    if (operation === 'token') {
      answer = work({ auth: null, responseLost: false, now, rec });
    } else {
      const check = tokens.check(req.headers.authorization, now);
      const responseLost =
        scripted?.kind === 'lost-response' || (scripted?.kind === 'error' && scripted.commit === true);
      answer = check.ok
        ? work({ auth: check.token, responseLost, now, rec })
        : { status: 401, body: { error: check.error } };
    }

    if (scripted?.kind === 'lost-response') {
      cutConnection(req, reply, rec, started);
      return;
    }
    if (scripted?.kind === 'error') {
      finish(reply, rec, started, errorAnswer(scripted.status, scripted.message, scripted.retryAfterSeconds));
      return;
    }
    finish(reply, rec, started, answer);
  }

  // ---- POST /oauth/token ------------------------------------------------------------------------
  app.post('/oauth/token', (req, reply) =>
    handle(req, reply, 'token', ({ now, rec }) => {
      const body = asRecord(req.body);
      const query = asRecord(req.query);
      const pick = (k: string): string | undefined => firstString(body[k]) ?? firstString(query[k]);
      let clientId = pick('client_id');
      let clientSecret = pick('client_secret');
      const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (basic !== null && clientId === undefined) {
        const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          clientId = decodeURIComponent(decoded.slice(0, colon));
          clientSecret = decodeURIComponent(decoded.slice(colon + 1));
        }
      }
      const grantType = pick('grant_type');
      if (grantType !== 'client_credentials') {
        return {
          status: 400,
          body: {
            error: 'unsupported_grant_type',
            error_description: `grant_type must be client_credentials (got ${grantType ?? 'none'})`,
          },
        };
      }
      rec.clientId = clientId ?? null;
      const client =
        clientId === undefined || clientSecret === undefined
          ? undefined
          : tokens.findClient(clientId, clientSecret);
      if (client === undefined) {
        return {
          status: 401,
          body: { error: 'invalid_client', error_description: 'Bad client credentials' },
        };
      }
      return { status: 200, body: tokens.issue(client, now).body };
    }),
  );

  // ---- POST /v3/access-requests -----------------------------------------------------------------
  app.post('/v3/access-requests', (req, reply) =>
    handle(req, reply, 'submit', ({ auth, responseLost, now }) => {
      if (auth === null || auth.identityId === null) return userContextRequired();
      const result = checkAccessRequest(req.body, auth.identityId, now);
      if (!result.ok) return { status: 400, body: errorResponse(400, result.messages) };
      const out = store.submit(
        result.request,
        {
          clientId: auth.client.clientId,
          requesterId: auth.identityId,
          requesterName: auth.client.identityName ?? `sim-user-${auth.client.clientId}`,
          now,
          responseLost,
        },
        reportExisting,
      );
      return { status: 202, body: out };
    }),
  );

  // ---- GET /v3/access-request-status ------------------------------------------------------------
  app.get('/v3/access-request-status', (req, reply) =>
    handle(req, reply, 'status', ({ auth, now }) => {
      if (auth === null || auth.identityId === null) return userContextRequired();
      const self = auth.identityId;
      const query = asRecord(req.query);
      const me = (v: string | undefined): string | undefined => (v === 'me' ? self : v);
      const requestedFor = me(firstString(query['requested-for']));
      const requestedBy = me(firstString(query['requested-by']));
      const regardingIdentity = me(firstString(query['regarding-identity']));
      const requestState = firstString(query['request-state']);
      try {
        const headers: Record<string, string> = {};
        if (regardingIdentity !== undefined && (requestedFor !== undefined || requestedBy !== undefined)) {
          throw new QueryError(
            'regarding-identity is mutually exclusive with requested-for and requested-by',
          );
        }
        if (requestState !== undefined && requestState !== 'EXECUTING') {
          throw new QueryError('request-state: the only valid value is EXECUTING');
        }
        const countRaw = firstString(query.count);
        if (countRaw !== undefined && countRaw !== 'true' && countRaw !== 'false') {
          throw new QueryError('count must be true or false');
        }
        const { total, entries } = store.listStatus(
          {
            requestedFor,
            requestedBy,
            regardingIdentity,
            requestState,
            filters: firstString(query.filters),
            sorters: firstString(query.sorters),
            limit: parseIntParam('limit', firstString(query.limit), 250, 0, 250),
            offset: parseIntParam('offset', firstString(query.offset), 0, 0, Number.MAX_SAFE_INTEGER),
          },
          now,
        );
        if (countRaw === 'true') headers['x-total-count'] = String(total);
        return { status: 200, body: entries, headers };
      } catch (e) {
        if (e instanceof QueryError) return { status: 400, body: errorResponse(400, [e.message]) };
        throw e;
      }
    }),
  );

  // ---- POST /v3/access-requests/cancel ----------------------------------------------------------
  app.post('/v3/access-requests/cancel', (req, reply) =>
    handle(req, reply, 'cancel', ({ auth, now }) => {
      if (auth === null || auth.identityId === null) return userContextRequired();
      const problems = checkCancelRequest(req.body);
      if (problems.length > 0) return { status: 400, body: errorResponse(400, problems) };
      const body = req.body as { accountActivityId: string; comment: string };
      const outcome = store.cancel(body.accountActivityId, body.comment, now);
      if (outcome === 'not-found') {
        return {
          status: 404,
          body: errorResponse(404, [`access request ${body.accountActivityId} not found`]),
        };
      }
      if (outcome === 'not-cancelable') {
        return {
          status: 400,
          body: errorResponse(400, [`access request ${body.accountActivityId} can no longer be cancelled`]),
        };
      }
      return { status: 202, body: {} };
    }),
  );

  if (options.controlApi ?? true) registerControlRoutes(app, control);

  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  log({
    level: 'info',
    msg: 'IdentityNow simulator listening',
    data: { url, controlApi: options.controlApi ?? true },
  });
  return {
    url,
    port,
    credentials: { clientId: firstPat.clientId, clientSecret: firstPat.clientSecret },
    control,
    close: async () => {
      for (const s of hung) s.destroy();
      hung.clear();
      await app.close();
    },
  };
}

// ---- /__sim control API -------------------------------------------------------------------------

function registerControlRoutes(app: FastifyInstance, control: SimulatorControl): void {
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
