import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, pairKey, type RunningSimulator } from '../../src/simulator';
import type { RequestRecord } from '../../src/access-request/request-record';
import { AUTH } from '../support/clients';
import { texts, type TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { future, sleep } from '../support/time';
import { startWorkerGateway } from '../support/worker-stack';

/**
 * Thousands of requests through the real app (HTTP edge → Redis → worker → simulator over HTTP), many
 * at once, a realistic mix: grants, revokes, ~30% duplicate pairs, a few invalid bodies. Asserts
 * correctness only; throughput and latency are printed, never asserted.
 */
const TOTAL = Number(process.env.LOAD_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 64);

type Body = Record<string, unknown>;
interface Planned {
  body: Body;
  /** Expected 400 message, for the invalid ones. */
  invalid?: string;
  pairs: string[];
}

/** Deterministic pseudo-random numbers, so a failing run can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function plan(total: number): Planned[] {
  const rand = rng(20261128);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const grantItems = ['ROLE', 'ACCESS_PROFILE', 'ENTITLEMENT'] as const;
  const out: Planned[] = [];
  const grants: Planned[] = [];
  const revokes: Planned[] = [];
  const removeDate = future(90);
  for (let i = 0; i < total; i++) {
    const r = rand();
    if (r < 0.03) {
      // Invalid on purpose: each breaks one rule and must come back with its message.
      const kind = i % 3;
      if (kind === 0) {
        out.push({
          body: {
            requestedFor: ['x'],
            requestType: 'REVOKE_ACCESS',
            requestedItems: [{ type: 'ROLE', id: 'r' }],
          },
          invalid: 'requestedItems[0].comment is required for REVOKE_ACCESS',
          pairs: [],
        });
      } else if (kind === 1) {
        out.push({
          body: {
            requestedFor: ['x'],
            requestedItems: [{ type: 'ROLE', id: 'r', removeDate: '2020-01-01T00:00:00Z' }],
          },
          invalid: 'requestedItems[0].removeDate must be in the future (got 2020-01-01T00:00:00Z)',
          pairs: [],
        });
      } else {
        out.push({
          body: { requestedFor: ['x'], requestedItems: [{ type: 'GROUP', id: 'r' }] },
          invalid: 'requestedItems[0].type must be one of ACCESS_PROFILE, ROLE, ENTITLEMENT',
          pairs: [],
        });
      }
      continue;
    }
    const duplicate = rand() < 0.3;
    if (r < 0.8) {
      if (duplicate && grants.length > 0) {
        // The same identity and first item as an earlier grant (a duplicate pair), plus maybe a new item.
        const earlier = pick(grants);
        const items = [(earlier.body.requestedItems as Body[])[0]!];
        if (rand() < 0.5) items.push({ type: 'ROLE', id: `role-new-${i}`, comment: 'load' });
        const identity = (earlier.body.requestedFor as string[])[0]!;
        const p: Planned = {
          body: { requestedFor: [identity], requestType: 'GRANT_ACCESS', requestedItems: items },
          pairs: items.map((it) => pairKey('GRANT_ACCESS', identity, it.type as string, it.id as string)),
        };
        grants.push(p);
        out.push(p);
        continue;
      }
      const identities = Array.from(
        { length: 1 + Math.floor(rand() * 3) },
        () => `grant-identity-${Math.floor(rand() * 500)}`,
      );
      const uniqueIdentities = [...new Set(identities)];
      const items = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => ({
        type: pick(grantItems),
        id: `item-${i}-${k}`,
        comment: 'load test',
        removeDate,
      }));
      const p: Planned = {
        body: {
          requestedFor: uniqueIdentities,
          requestType: 'GRANT_ACCESS',
          requestedItems: items,
          clientMetadata: { source: 'load' },
        },
        pairs: uniqueIdentities.flatMap((id) =>
          items.map((it) => pairKey('GRANT_ACCESS', id, it.type, it.id)),
        ),
      };
      grants.push(p);
      out.push(p);
      continue;
    }
    if (duplicate && revokes.length > 0) {
      const earlier = pick(revokes);
      const p: Planned = { body: structuredClone(earlier.body), pairs: [...earlier.pairs] };
      revokes.push(p);
      out.push(p);
      continue;
    }
    // Revokes use their own identities, so no revoke ends a grant claim of this run.
    const identity = `revoke-identity-${Math.floor(rand() * 300)}`;
    const item = { type: pick(['ROLE', 'ENTITLEMENT'] as const), id: `revoked-${i}`, comment: 'leaver' };
    const p: Planned = {
      body: { requestedFor: [identity], requestType: 'REVOKE_ACCESS', requestedItems: [item] },
      pairs: [pairKey('REVOKE_ACCESS', identity, item.type, item.id)],
    };
    revokes.push(p);
    out.push(p);
  }
  return out;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function pool<T>(
  items: readonly T[],
  width: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

describe(`load: ${TOTAL} requests, ${CONCURRENCY} at a time, through API, queue, worker and simulator`, () => {
  let redis: PrivateRedis;
  let sim: RunningSimulator;
  let gw: TestGateway;
  let base: string;

  beforeAll(async () => {
    redis = await startRedis();
    // The simulator's rate limit is off and our budget is wide: this run measures the gateway.
    sim = await createSimulator({
      reportExisting: false,
      rateLimit: { max: 0, windowMs: 10_000 },
      progression: { completeAfterMs: null, rejectRate: 0 },
    });
    gw = await startWorkerGateway(redis, sim, {
      IDN_RATE_LIMIT_MAX: '10000',
      IDN_RATE_LIMIT_WINDOW_MS: '1000',
      WORKER_CONCURRENCY: '32',
      LOG_LEVEL: 'silent',
    });
    await gw.app.listen(0, '127.0.0.1');
    base = await gw.app.getUrl();
  });
  afterAll(async () => {
    await gw.close();
    await sim.close();
    await redis.stop();
  });

  it('accepts every valid request, refuses every invalid one, submits every unique pair exactly once, reports every duplicate', async () => {
    const planned = plan(TOTAL);
    const results: { status: number; body: unknown; ms: number }[] = new Array(planned.length);
    const started = performance.now();
    await pool(planned, CONCURRENCY, async (p, i) => {
      const t0 = performance.now();
      const res = await request(base).post('/v3/access-requests').set('authorization', AUTH).send(p.body);
      results[i] = { status: res.status, body: res.body, ms: performance.now() - t0 };
    });
    const intakeSeconds = (performance.now() - started) / 1000;

    const accepted: { planned: Planned; trackingId: string }[] = [];
    planned.forEach((p, i) => {
      const r = results[i]!;
      if (p.invalid !== undefined) {
        expect(r.status, JSON.stringify(r.body)).toBe(400);
        expect(texts(r.body)).toContain(p.invalid);
      } else {
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        accepted.push({ planned: p, trackingId: (r.body as { trackingId: string }).trackingId });
      }
    });

    // Wait (bounded) until every accepted request has a final state.
    const finals = new Map<string, RequestRecord>();
    const deadline = Date.now() + 300_000;
    while (finals.size < accepted.length) {
      if (Date.now() > deadline) throw new Error(`${accepted.length - finals.size} requests never settled`);
      const pending = accepted.filter((a) => !finals.has(a.trackingId));
      await pool(pending, 32, async (a) => {
        const res = await request(base).get(`/v3/access-requests/${a.trackingId}`).set('authorization', AUTH);
        const rec = res.body as RequestRecord;
        if (res.status === 200 && rec.state !== 'QUEUED' && rec.state !== 'PROCESSING')
          finals.set(a.trackingId, rec);
      });
      if (finals.size < accepted.length) await sleep(250);
    }
    const drainSeconds = (performance.now() - started) / 1000;

    // Every unique pair reached the simulator exactly once, and nothing else did.
    const unique = new Set(accepted.flatMap((a) => a.planned.pairs));
    const counts = sim.control.records().pairCounts;
    const overCounted = Object.entries(counts).filter(([, n]) => n !== 1);
    expect(overCounted).toEqual([]);
    expect(new Set(Object.keys(counts))).toEqual(unique);

    // Per pair: one request SUBMITTED it, every other occurrence is a DUPLICATE naming that request.
    const submittedBy = new Map<string, string>();
    let duplicates = 0;
    let occurrences = 0;
    for (const a of accepted) {
      const rec = finals.get(a.trackingId)!;
      expect(rec.pairs.map((p) => p.outcome).filter((o) => o === 'FAILED' || o === 'PENDING')).toEqual([]);
      for (const pair of rec.pairs) {
        occurrences += 1;
        const key = pairKey(pair.requestType, pair.requestedFor, pair.type, pair.id);
        if (pair.outcome === 'SUBMITTED') {
          expect(submittedBy.has(key), `${key} submitted twice`).toBe(false);
          submittedBy.set(key, a.trackingId);
          expect(pair.accessRequestIds?.length).toBeGreaterThan(0);
        } else {
          duplicates += 1;
          expect(pair.outcome).toBe('DUPLICATE');
          expect(pair.duplicateOf).toBeDefined();
        }
      }
    }
    expect(new Set(submittedBy.keys())).toEqual(unique);
    for (const a of accepted) {
      for (const pair of finals.get(a.trackingId)!.pairs) {
        if (pair.outcome === 'DUPLICATE') {
          expect(pair.duplicateOf).toBe(
            submittedBy.get(pairKey(pair.requestType, pair.requestedFor, pair.type, pair.id)),
          );
        }
      }
    }
    expect(duplicates).toBe(occurrences - unique.size);

    const latencies = results
      .filter((r) => r.status === 202)
      .map((r) => r.ms)
      .sort((x, y) => x - y);
    const summary = {
      requests: planned.length,
      accepted: accepted.length,
      rejected: planned.length - accepted.length,
      uniquePairs: unique.size,
      duplicatePairs: duplicates,
      intakeRequestsPerSecond: Math.round(planned.length / intakeSeconds),
      acceptLatencyMs: {
        p50: +percentile(latencies, 50).toFixed(1),
        p95: +percentile(latencies, 95).toFixed(1),
        p99: +percentile(latencies, 99).toFixed(1),
        max: +latencies.at(-1)!.toFixed(1),
      },
      endToEndSeconds: +drainSeconds.toFixed(1),
      pairsSubmittedPerSecond: Math.round(unique.size / drainSeconds),
    };
    console.log(`load summary ${JSON.stringify(summary, null, 2)}`);
  });
});
