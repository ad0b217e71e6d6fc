import { expect } from 'vitest';
import { createSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator';
import type { SimRecords, SimScriptedFault, SimFaultSettings } from '../../src/simulator/simulator.types';
import type { RequestRecord, RequestState } from '../../src/access-request/request-record';
import { AUTH } from './clients';
import { startGatewayProcess, type GatewayProcess } from './gateway-process';
import { startRedis, type PrivateRedis } from './redis-server';
import { sleep } from './time';
import { FAST_ENV, pairKey } from './worker-stack';

/**
 * The whole system as processes, for fault tests: one private redis-server, one IdentityNow simulator
 * (in this process, reached by the workers over loopback HTTP and driven here through its `/__sim`
 * control API), N built API processes (ROLE=api) and M built worker processes (ROLE=worker).
 */
export interface FaultSystem extends ProcessSystem {
  readonly redis: PrivateRedis;
}

/** The simulator and the gateway processes, on whatever Redis `redisEnv` names. */
export interface ProcessSystem {
  readonly sim: RunningSimulator;
  readonly simHttp: SimHttp;
  readonly apis: GatewayProcess[];
  readonly workers: GatewayProcess[];
  /** Starts one more worker process (added to `workers`). */
  startWorker(extra?: Record<string, string>): Promise<GatewayProcess>;
  /** Starts one more API process (added to `apis`). */
  startApi(extra?: Record<string, string>): Promise<GatewayProcess>;
  close(): Promise<void>;
}

export interface FaultSystemOptions {
  readonly redis?: { appendonly?: boolean; extraArgs?: string[] };
  readonly sim?: SimulatorOptions;
  readonly apis?: number;
  readonly workers?: number;
  readonly apiEnv?: Record<string, string>;
  readonly workerEnv?: Record<string, string>;
}

/**
 * Worker defaults for fault tests: fast backoff, a short job lock (a killed worker's jobs come back
 * within seconds), a generous budget (the simulator's limit is off unless a test turns it on).
 */
export const FAULT_WORKER_ENV: Record<string, string> = {
  ...FAST_ENV,
  IDN_RATE_LIMIT_MAX: '1000',
  IDN_RATE_LIMIT_WINDOW_MS: '10000',
  WORKER_LOCK_DURATION_MS: '4000',
  SUBMIT_ATTEMPTS: '10',
};

export async function startFaultSystem(opts: FaultSystemOptions = {}): Promise<FaultSystem> {
  const redis = await startRedis(opts.redis);
  let sys: ProcessSystem;
  try {
    sys = await startProcessSystem({ REDIS_URL: redis.url }, opts);
  } catch (e) {
    await redis.stop();
    throw e;
  }
  return {
    ...sys,
    redis,
    async close() {
      await sys.close();
      await redis.stop();
    },
  };
}

/**
 * The simulator and `apis` + `workers` built gateway processes on the Redis that `redisEnv` names
 * (REDIS_URL, or a Cluster or Sentinel), which the caller runs and stops.
 */
export async function startProcessSystem(
  redisEnv: Record<string, string>,
  opts: Omit<FaultSystemOptions, 'redis'> = {},
): Promise<ProcessSystem> {
  // reportExisting off: every creation is counted, so a pair sent twice shows as 2. The rate limit is
  // off unless the test sets one: these tests are about faults, not the budget.
  const sim = await createSimulator({
    reportExisting: false,
    rateLimit: { max: 0, windowMs: 10_000 },
    ...opts.sim,
  });
  const apiEnv = { ROLE: 'api', ...redisEnv, ...opts.apiEnv };
  const workerEnv = {
    ROLE: 'worker',
    ...redisEnv,
    IDN_BASE_URL: sim.url,
    IDN_CLIENT_ID: sim.credentials.clientId,
    IDN_CLIENT_SECRET: sim.credentials.clientSecret,
    ...FAULT_WORKER_ENV,
    ...opts.workerEnv,
  };
  const started: GatewayProcess[] = [];
  try {
    const apis = await Promise.all(
      Array.from({ length: opts.apis ?? 1 }, () =>
        startGatewayProcess(apiEnv).then((p) => {
          started.push(p);
          return p;
        }),
      ),
    );
    const workers = await Promise.all(
      Array.from({ length: opts.workers ?? 1 }, () =>
        startGatewayProcess(workerEnv).then((p) => {
          started.push(p);
          return p;
        }),
      ),
    );
    return {
      sim,
      simHttp: simHttp(sim.url),
      apis,
      workers,
      async startWorker(extra = {}) {
        const w = await startGatewayProcess({ ...workerEnv, ...extra });
        workers.push(w);
        return w;
      },
      async startApi(extra = {}) {
        const a = await startGatewayProcess({ ...apiEnv, ...extra });
        apis.push(a);
        return a;
      },
      async close() {
        await Promise.all([...apis, ...workers].map((p) => p.stop('SIGKILL')));
        await sim.close();
      },
    };
  } catch (e) {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await sim.close();
    throw e;
  }
}

/** The simulator's `/__sim` control API over HTTP (what an operator or a separate test runner uses). */
export interface SimHttp {
  records(query?: string): Promise<SimRecords>;
  reset(): Promise<void>;
  script(fault: SimScriptedFault | SimScriptedFault[]): Promise<void>;
  faults(settings: SimFaultSettings): Promise<void>;
  storm(seconds: number, retryAfterSeconds?: number): Promise<void>;
  expireTokens(): Promise<number>;
  rateLimit(max: number, windowMs: number): Promise<void>;
}

export function simHttp(base: string): SimHttp {
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}/__sim${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /__sim${path} answered ${res.status}: ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  return {
    records: async (query = '') => (await call('GET', `/records${query}`)) as SimRecords,
    reset: async () => {
      await call('POST', '/reset');
    },
    script: async (fault) => {
      await call('POST', '/faults/script', fault);
    },
    faults: async (settings) => {
      await call('PUT', '/faults', settings);
    },
    storm: async (seconds, retryAfterSeconds) => {
      await call('POST', '/faults/rate-limit-storm', {
        seconds,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
    },
    expireTokens: async () => ((await call('POST', '/tokens/expire')) as { expired: number }).expired,
    rateLimit: async (max, windowMs) => {
      await call('PUT', '/rate-limit', { max, windowMs });
    },
  };
}

// ---- load and the ledger of what was accepted ------------------------------------------------------

export interface SentRequest {
  readonly api: string;
  readonly status: number;
  readonly body: unknown;
  readonly retryAfter: string | null;
  /** The pair keys of the submitted body. */
  readonly pairs: readonly string[];
  /** Set for 202 answers. */
  readonly trackingId?: string;
  /** When the request was sent (epoch ms) and how long its answer took. */
  readonly sentAt?: number;
  readonly ms?: number;
}

/** A GRANT_ACCESS body for these identities and roles, and its pair keys as the simulator counts them. */
export function grantOf(identities: string[], roles: string[]): { body: object; pairs: string[] } {
  return {
    body: { requestedFor: identities, requestedItems: roles.map((id) => ({ type: 'ROLE', id })) },
    pairs: identities.flatMap((i) => roles.map((r) => pairKey('GRANT_ACCESS', i, 'ROLE', r))),
  };
}

/** One identity, two roles; every fourth request repeats a role of the one before (a duplicate). */
export const grantMix =
  (prefix: string) =>
  (i: number): { body: object; pairs: string[] } =>
    i % 4 === 3 ? grantOf([`${prefix}-u${i - 1}`], ['r2', 'r3']) : grantOf([`${prefix}-u${i}`], ['r1', 'r2']);

/**
 * Every POST the test sent and what it got. A request that got no answer at all (connection error,
 * client timeout) is kept in `unanswered`: the tests require that list to be empty.
 */
export class Ledger {
  readonly sent: SentRequest[] = [];
  readonly unanswered: string[] = [];

  get accepted(): SentRequest[] {
    return this.sent.filter((s) => s.status === 202);
  }

  statuses(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const s of this.sent) out[s.status] = (out[s.status] ?? 0) + 1;
    return out;
  }

  async post(
    api: string,
    req: { body: object; pairs: string[] },
    opts: { auth?: string; timeoutMs?: number } = {},
  ): Promise<SentRequest | undefined> {
    const sentAt = Date.now();
    try {
      const res = await fetch(`${api}/v3/access-requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: opts.auth ?? AUTH },
        body: JSON.stringify(req.body),
        // A bound, not a timing assertion: an answer that never comes is reported as unanswered.
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      const body: unknown = await res.json();
      const trackingId = res.status === 202 ? (body as { trackingId?: string }).trackingId : undefined;
      const sent: SentRequest = {
        api,
        status: res.status,
        body,
        retryAfter: res.headers.get('retry-after'),
        pairs: req.pairs,
        ...(trackingId === undefined ? {} : { trackingId }),
        sentAt,
        ms: Date.now() - sentAt,
      };
      this.sent.push(sent);
      return sent;
    } catch (e) {
      this.unanswered.push(`${JSON.stringify(req.body)}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }
}

/**
 * Sends requests in the background, `concurrency` at a time, round-robin over `apis`, until `stop()`
 * or `max` requests. `next(i)` builds request i (unique pairs unless the test wants overlap).
 */
export function backgroundLoad(
  ledger: Ledger,
  apis: readonly string[],
  next: (i: number) => { body: object; pairs: string[] },
  opts: { concurrency?: number; max?: number; pauseMs?: number; auth?: string } = {},
): { stop(): Promise<void>; done(): Promise<void>; count(): number } {
  let i = 0;
  let stopped = false;
  const max = opts.max ?? 2_000;
  const lane = async (): Promise<void> => {
    while (!stopped && i < max) {
      const k = i++;
      await ledger.post(apis[k % apis.length] as string, next(k), { auth: opts.auth ?? AUTH });
      await sleep(opts.pauseMs ?? 20);
    }
  };
  const lanes = Array.from({ length: opts.concurrency ?? 3 }, () => lane());
  return {
    async stop() {
      stopped = true;
      await Promise.all(lanes);
    },
    /** Waits until all `max` requests were sent. */
    async done() {
      await Promise.all(lanes);
    },
    count: () => i,
  };
}

export async function httpStatus(url: string, timeoutMs = 5_000): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).status;
  } catch {
    return 0;
  }
}

const FINAL: readonly RequestState[] = ['SUBMITTED', 'PARTIALLY_SUBMITTED', 'DUPLICATE', 'FAILED'];

/** Polls every accepted tracking id (through an API process) until its state is final; bounded. */
export async function finalRecords(
  api: string,
  accepted: readonly SentRequest[],
  timeoutMs = 90_000,
  auth: string = AUTH,
): Promise<Map<string, RequestRecord>> {
  const done = new Map<string, RequestRecord>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = accepted.filter((a) => !done.has(a.trackingId as string));
    if (pending.length === 0) return done;
    const last = new Map<string, string>();
    for (const a of pending) {
      const id = a.trackingId as string;
      const res = await fetch(`${api}/v3/access-requests/${id}`, {
        headers: { authorization: auth },
        signal: AbortSignal.timeout(5_000),
      });
      if (res.status !== 200) {
        last.set(id, `HTTP ${res.status}`);
        continue;
      }
      const rec = (await res.json()) as RequestRecord;
      if (FINAL.includes(rec.state)) done.set(id, rec);
      else last.set(id, rec.state);
    }
    if (Date.now() > deadline)
      throw new Error(
        `${last.size} accepted request(s) not final after ${timeoutMs} ms: ${JSON.stringify([...last].slice(0, 5))}`,
      );
    await sleep(250);
  }
}

export interface Accounting {
  readonly accepted: number;
  readonly pairs: number;
  readonly submitted: number;
  readonly duplicate: number;
  readonly failed: number;
  readonly states: Record<string, number>;
}

/**
 * The two promises every fault test checks:
 * - zero accepted requests lost: every 202 tracking id reached a final state, and every pair of its
 *   body is in its record with SUBMITTED (with access request ids), DUPLICATE (naming the holder) or
 *   FAILED (with a reason; only when `allowFailed`);
 * - zero pairs submitted twice: no pair was created more than once in the simulator, and each unique
 *   pair that some accepted request SUBMITTED was created exactly once (and submitted by one request).
 */
export function assertAccounted(
  accepted: readonly SentRequest[],
  records: ReadonlyMap<string, RequestRecord>,
  sim: SimRecords,
  opts: { allowFailed?: boolean } = {},
): Accounting {
  const submittedBy = new Map<string, string[]>();
  let pairs = 0;
  let duplicate = 0;
  let failed = 0;
  const states: Record<string, number> = {};
  const acceptedIds = new Set(accepted.map((a) => a.trackingId));
  for (const a of accepted) {
    const rec = records.get(a.trackingId as string);
    expect(rec, `record of ${a.trackingId}`).toBeDefined();
    if (rec === undefined) continue;
    states[rec.state] = (states[rec.state] ?? 0) + 1;
    const got = rec.pairs.map((p) => pairKey(p.requestType, p.requestedFor, p.type, p.id));
    expect([...got].sort(), `pairs of ${a.trackingId}`).toEqual([...new Set(a.pairs)].sort());
    for (const p of rec.pairs) {
      pairs += 1;
      const key = pairKey(p.requestType, p.requestedFor, p.type, p.id);
      if (p.outcome === 'SUBMITTED') {
        expect(p.accessRequestIds?.length, `access request ids of ${key}`).toBeGreaterThan(0);
        submittedBy.set(key, [...(submittedBy.get(key) ?? []), rec.trackingId]);
      } else if (p.outcome === 'DUPLICATE') {
        duplicate += 1;
        expect(p.duplicateOf, `holder of duplicate ${key}`).toBeDefined();
        if (p.duplicateOf !== 'identitynow') expect(acceptedIds.has(p.duplicateOf)).toBe(true);
      } else {
        expect(p.outcome, `outcome of ${key} in ${rec.trackingId} (${p.reason ?? ''})`).toBe('FAILED');
        failed += 1;
        expect(p.reason, `reason of failed ${key}`).toMatch(/\S/);
        if (opts.allowFailed !== true)
          expect.fail(`pair ${key} of ${rec.trackingId} FAILED: ${p.reason ?? ''}`);
      }
    }
  }
  for (const [key, count] of Object.entries(sim.pairCounts))
    expect(count, `simulator creations of ${key}`).toBeLessThanOrEqual(1);
  for (const [key, holders] of submittedBy) {
    expect(holders, `requests that submitted ${key}`).toHaveLength(1);
    expect(sim.pairCounts[key], `simulator creations of ${key}`).toBe(1);
  }
  // A unique accepted pair that nobody submitted must be FAILED everywhere (or DUPLICATE of such).
  const unique = new Set(accepted.flatMap((a) => a.pairs));
  if (opts.allowFailed !== true)
    for (const key of unique) expect(submittedBy.has(key), `${key} submitted by some request`).toBe(true);
  return {
    accepted: accepted.length,
    pairs,
    submitted: submittedBy.size,
    duplicate,
    failed,
    states,
  };
}

/** A 503 (or other refusal) must be an ErrorResponseDto; a 503 carries Retry-After. */
export function assertRefusal(s: SentRequest): void {
  const body = s.body as { detailCode?: unknown; messages?: { text?: unknown }[] };
  expect(typeof body.detailCode, JSON.stringify(body)).toBe('string');
  expect(body.messages?.length, JSON.stringify(body)).toBeGreaterThan(0);
  if (s.status === 503) expect(Number(s.retryAfter)).toBeGreaterThanOrEqual(1);
}

const UNCONFIRMED = /may still have been queued as \/v3\/access-requests\/([0-9a-f-]{36})/;

/**
 * Every request the gateway must account for: the 202s, plus the 503s that said "may still have
 * been queued as <status URL>" and did land (that URL answers 200). Those jobs hold their pairs like
 * any other, so other requests may name them as the holder of a DUPLICATE.
 */
export async function accountable(api: string, ledger: Ledger, auth: string = AUTH): Promise<SentRequest[]> {
  const landed: SentRequest[] = [];
  for (const s of ledger.sent) {
    if (s.status !== 503) continue;
    const text = (s.body as { messages?: { text?: string }[] }).messages?.[0]?.text ?? '';
    const id = UNCONFIRMED.exec(text)?.[1];
    if (id === undefined) continue;
    const res = await fetch(`${api}/v3/access-requests/${id}`, {
      headers: { authorization: auth },
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status === 200) landed.push({ ...s, trackingId: id });
  }
  return [...ledger.accepted, ...landed];
}
