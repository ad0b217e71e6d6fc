import Fastify from 'fastify';
import { registerMultipartFormParser } from '../common/multipart-form.parser';
import { warmUpValidators } from './access-request.rules';
import { registerControlRoutes } from './control.routes';
import { registerIdentityNowRoutes } from './identitynow.routes';
import { errorResponse } from './simulator.errors';
import { SimFaults } from './simulator-faults';
import { HeldCalls } from './held-calls';
import { createCallHandler } from './simulator.pipeline';
import { SimRandom } from './simulator-random';
import { SimRateLimiter } from './simulator-rate-limiter';
import { SimRecordLog } from './simulator-records';
import { SimStore } from './simulator-store';
import { SimTokenStore } from './simulator-tokens';
import type {
  RunningSimulator,
  SimClient,
  SimOperation,
  SimProgression,
  SimRateLimit,
  SimulatorControl,
  SimulatorOptions,
} from './simulator.types';

export const DEFAULT_SIM_CLIENTS: readonly SimClient[] = [
  { clientId: 'sim-client', clientSecret: 'sim-secret', kind: 'pat' },
  { clientId: 'sim-api-client', clientSecret: 'sim-api-secret', kind: 'api' },
];
export const DEFAULT_RATE_LIMIT: SimRateLimit = { max: 100, windowMs: 10_000 };
export const DEFAULT_PROGRESSION: SimProgression = { completeAfterMs: 5_000, rejectRate: 0.1, rules: [] };
export const DEFAULT_TOKEN_TTL_SECONDS = 749;

function operationOf(method: string, path: string): SimOperation | 'other' {
  if (method === 'POST' && path === '/oauth/token') return 'token';
  if (method === 'POST' && path === '/v3/access-requests') return 'submit';
  if (method === 'POST' && path === '/v3/access-requests/cancel') return 'cancel';
  if (method === 'GET' && path === '/v3/access-request-status') return 'status';
  return 'other';
}

// Plain Fastify, not a Nest module: the gateway embeds it cheaply and `npm run simulator` runs the same code.
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
  const initialFaults = {
    ...options.faults,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  };
  const random = new SimRandom(initialFaults.seed ?? null);
  const faults = new SimFaults(initialFaults, random);
  const records = new SimRecordLog(options.maxCallRecords ?? 100_000);
  const store = new SimStore({ ...DEFAULT_PROGRESSION, ...options.progression }, records, random);
  const held = new HeldCalls();

  const control: SimulatorControl = {
    records: (filter) => records.records(filter),
    pairCount: (key) => records.pairCount(key),
    summary: (filter) => records.summary(filter),
    clearRecords: () => {
      records.clear();
    },
    reset: (seed) => {
      held.releaseAll();
      store.reset();
      records.clear();
      faults.reset();
      if (seed !== undefined) faults.configure({ seed });
      limiter.reset();
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
    progression: () => store.progression,
    completePending: (state, match) => store.completePending(Date.now(), state, match),
    setItemState: (state, match) => store.setItemState(Date.now(), state, match),
    faultsSnapshot: () => ({ ...faults.snapshot(Date.now()), pendingLateCreations: held.pendingLater }),
  };

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 10 * 1024 * 1024 });

  // OAuth token requests are form-encoded; Fastify only parses JSON out of the box.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString())));
  });

  // SailPoint's TypeScript SDK posts its token request as multipart/form-data.
  registerMultipartFormParser(app);

  // Calls refused before a handler runs (bad JSON, content type, size) are recorded too: tests count them.
  app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
    const status =
      err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    if (!path.startsWith('/__sim/')) {
      records.recordCall({
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

  registerIdentityNowRoutes(app, {
    handle: createCallHandler({ records, tokens, limiter, faults, held, log }),
    tokens,
    store,
    reportExisting: options.reportExisting ?? true,
    faults,
  });
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
      held.releaseAll();
      await app.close();
    },
  };
}
