import type { RequestRecord } from '../../src/access-request/request-record';
import type { SimScriptedAction } from '../../src/simulator/simulator.types';
import { AUTH } from './clients';
import { accountable, finalRecords, Ledger, startFaultSystem, type FaultSystem } from './fault-system';
import { sleep } from './time';
import { pairKey } from './worker-stack';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Bounds the nemesis respects, because they are the bounds of the promise: IdentityNow may create up
 * to LATE_MAX_MS after the call and list it LAG_MAX_MS later, within RECONCILE_SETTLE_MS of the timeout.
 */
const TIMEOUT_MS = 800;
const SETTLE_MS = 1_500;
const LATE_MAX_MS = 1_300;
const LAG_MAX_MS = 800;

export const CHAOS_WORKER_ENV: Record<string, string> = {
  IDN_TIMEOUT_MS: String(TIMEOUT_MS),
  RECONCILE_SETTLE_MS: String(SETTLE_MS),
  WORKER_LOCK_DURATION_MS: '2000',
  SUBMIT_ATTEMPTS: '12',
  BACKOFF_BASE_MS: '50',
  BACKOFF_MAX_MS: '500',
};

export interface ChaosReport {
  readonly seed: number;
  readonly accepted: number;
  readonly pairs: number;
  readonly events: readonly string[];
  readonly outcomes: Readonly<Record<string, number>>;
  /** Broken promises: empty when the run passed. */
  readonly violations: readonly string[];
  readonly ms: number;
}

type Event = { readonly at: number; readonly name: string; run(f: FaultSystem): Promise<void> | void };

function nemesis(random: () => number, spanMs: number): Event[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const between = (lo: number, hi: number): number => Math.round(lo + random() * (hi - lo));
  const script = (
    name: string,
    operation: 'submit' | 'status',
    action: SimScriptedAction,
    count = 1,
  ): Event => ({
    at: between(0, spanMs),
    name,
    run: (f) => {
      f.sim.control.script({ operation, count, action });
    },
  });
  const kinds: (() => Event)[] = [
    () =>
      script('creates late', 'submit', {
        kind: 'create-late',
        afterMs: between(TIMEOUT_MS + 50, LATE_MAX_MS),
      }),
    () => {
      const lag = between(100, LAG_MAX_MS);
      return {
        at: between(0, spanMs),
        name: `status lags ${lag} ms`,
        run: (f) => {
          f.sim.control.configureFaults({ statusLagMs: lag });
        },
      };
    },
    () =>
      script(
        '5xx',
        'submit',
        { kind: 'error', status: pick([500, 502, 503, 504]), commit: random() < 0.5 },
        between(1, 3),
      ),
    () => script('dropped connection', 'submit', { kind: 'drop' }, between(1, 2)),
    () => script('lost response', 'submit', { kind: 'lost-response' }),
    () =>
      script(
        'status read fails',
        'status',
        { kind: 'error', status: pick([503, 404, 401, 500]) },
        between(1, 4),
      ),
    () => script('status read hangs', 'status', { kind: 'hang' }),
    () => ({
      at: between(0, spanMs),
      name: '429 storm',
      run: (f) => {
        f.sim.control.startRateLimitStorm(between(1, 2), 1);
      },
    }),
    () => ({
      at: between(0, spanMs),
      name: 'kill -9 a worker',
      run: async (f) => {
        const victim = f.workers.splice(Math.floor(random() * f.workers.length), 1)[0];
        await victim?.stop('SIGKILL');
        await sleep(between(200, 1_000));
        await f.startWorker();
      },
    }),
    () => ({
      at: between(0, spanMs),
      name: 'Redis paused',
      run: async (f) => {
        f.redis.pause();
        await sleep(between(500, 2_500));
        f.redis.resume();
      },
    }),
  ];
  const n = between(4, 8);
  return Array.from({ length: n }, () => pick(kinds)()).sort((a, b) => a.at - b.at);
}

/** Requests over a small space of pairs, so that requests overlap (duplicates) as in real traffic. */
function workload(random: () => number, n: number): { body: object; pairs: string[] }[] {
  const people = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
  const roles = ['ra', 'rb', 'rc'];
  return Array.from({ length: n }, () => {
    const ids = [
      ...new Set([
        people[Math.floor(random() * people.length)] as string,
        random() < 0.3 ? (people[Math.floor(random() * people.length)] as string) : '',
      ]),
    ].filter((x) => x !== '');
    const items = [
      ...new Set([
        roles[Math.floor(random() * roles.length)] as string,
        random() < 0.4 ? (roles[Math.floor(random() * roles.length)] as string) : '',
      ]),
    ].filter((x) => x !== '');
    return {
      body: { requestedFor: ids, requestedItems: items.map((id) => ({ type: 'ROLE', id })) },
      pairs: ids.flatMap((i) => items.map((r) => pairKey('GRANT_ACCESS', i, 'ROLE', r))),
    };
  });
}

/**
 * One seeded schedule: requests through an API process and two worker processes while the nemesis
 * strikes; then the faults heal and every accepted request must end with every pair created upstream
 * exactly once, or FAILED with its claim held and a reason that says the outcome is unknown.
 */
export async function runChaos(
  seed: number,
  opts: { requests?: number; spanMs?: number } = {},
): Promise<ChaosReport> {
  const started = Date.now();
  const random = prng(seed);
  const spanMs = opts.spanMs ?? 5_000;
  const f = await startFaultSystem({ workers: 2, workerEnv: CHAOS_WORKER_ENV, sim: { seed } });
  const events = nemesis(random, spanMs);
  const ledger = new Ledger();
  try {
    const api = f.apis[0]?.url ?? '';
    const bodies = workload(random, opts.requests ?? 30);
    const t0 = Date.now();
    const strikes = events.map(async (e) => {
      await sleep(e.at);
      await e.run(f);
    });
    const load = (async () => {
      for (const b of bodies) {
        await ledger.post(api, b, { timeoutMs: 10_000 });
        await sleep(Math.floor(spanMs / bodies.length));
      }
    })();
    await Promise.all([load, ...strikes]);
    await sleep(Math.max(0, spanMs - (Date.now() - t0)));
    f.sim.control.clearScript();
    f.sim.control.stopRateLimitStorm();
    f.sim.control.configureFaults({ statusLagMs: 0, errorRates: {} });
    // A 503 that said "may have been queued" and did land is accepted work too.
    const records = await finalRecords(api, await accountable(api, ledger), 120_000, AUTH);
    return {
      ...check(f, ledger, records),
      seed,
      events: events.map((e) => `${e.at} ms: ${e.name}`),
      ms: Date.now() - started,
    };
  } finally {
    await f.close();
  }
}

function check(
  f: FaultSystem,
  ledger: Ledger,
  records: Map<string, RequestRecord>,
): Pick<ChaosReport, 'accepted' | 'pairs' | 'outcomes' | 'violations'> {
  const violations: string[] = [];
  const created = f.sim.control.records().pairCounts;
  if (ledger.unanswered.length > 0) violations.push(`unanswered POSTs: ${ledger.unanswered.join(' | ')}`);
  const outcomes: Record<string, number> = {};
  const byPair = new Map<string, { submitted: string[]; heldUnknown: string[] }>();
  for (const rec of records.values()) {
    for (const p of rec.pairs) {
      outcomes[p.outcome] = (outcomes[p.outcome] ?? 0) + 1;
      const key = pairKey(p.requestType, p.requestedFor, p.type, p.id);
      const e = byPair.get(key) ?? { submitted: [], heldUnknown: [] };
      byPair.set(key, e);
      if (p.outcome === 'SUBMITTED') e.submitted.push(rec.trackingId);
      else if (p.outcome === 'FAILED') {
        if (/outcome is unknown, so the pair stays claimed/.test(p.reason ?? ''))
          e.heldUnknown.push(rec.trackingId);
        else if ((created[key] ?? 0) > 0)
          violations.push(`${key} FAILED as not created but was created: ${p.reason ?? ''}`);
      } else if (
        p.outcome === 'DUPLICATE' &&
        p.duplicateOf !== 'identitynow' &&
        !records.has(p.duplicateOf ?? '')
      ) {
        violations.push(
          `${key} in ${rec.trackingId} is a duplicate of ${p.duplicateOf ?? '?'}, which was never accepted`,
        );
      } else if (p.outcome === 'PENDING') violations.push(`${key} in ${rec.trackingId} never settled`);
    }
  }
  for (const [key, n] of Object.entries(created)) {
    if (n > 1) violations.push(`${key} created ${n} times`);
    if (!byPair.has(key)) violations.push(`${key} created but no accepted request asked for it`);
  }
  for (const [key, e] of byPair) {
    const n = created[key] ?? 0;
    if (e.submitted.length > 1) violations.push(`${key} SUBMITTED by ${e.submitted.length} requests`);
    if (e.submitted.length === 1 && n !== 1) violations.push(`${key} SUBMITTED but created ${n} times`);
    if (e.submitted.length === 0 && e.heldUnknown.length === 0 && n > 0)
      violations.push(`${key} created but shown as never submitted`);
  }
  return { accepted: ledger.accepted.length, pairs: byPair.size, outcomes, violations };
}
