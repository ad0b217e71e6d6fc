import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { AccessRequestBody } from '../../src/access-request/access-request.types';
import { expandPairs } from '../../src/access-request/pairs';
import { loadConfig } from '../../src/config/app-config';
import { DedupeStore } from '../../src/submission/dedupe.store';
import { roleGrant } from '../support/bodies';
import { startRedis, type PrivateRedis } from '../support/redis-server';

const grant = (identities: string[], items: string[]): AccessRequestBody => roleGrant(identities, items);
const revoke = (identity: string, item: string): AccessRequestBody => ({
  requestType: 'REVOKE_ACCESS',
  requestedFor: [identity],
  requestedItems: [{ type: 'ROLE', id: item, comment: 'leaver' }],
});

describe('DedupeStore', () => {
  let redis: PrivateRedis;
  let a: DedupeStore;
  let b: DedupeStore;
  let connA: Redis;
  let connB: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    const config = loadConfig({
      NODE_ENV: 'development',
      REDIS_URL: redis.url,
      QUEUE_PREFIX: '{t}',
      DEDUPE_WINDOW_SECONDS: '600',
    });
    connA = redis.client();
    connB = redis.client();
    a = new DedupeStore(connA, config);
    b = new DedupeStore(connB, config);
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('two connections racing for overlapping pairs: every pair has exactly one owner', async () => {
    for (let round = 0; round < 20; round++) {
      const items = Array.from({ length: 30 }, (_, i) => `race-${round}-${i}`);
      const pa = expandPairs(grant(['x', 'y'], items.slice(0, 20)));
      const pb = expandPairs(grant(['y', 'z'], items.slice(10, 30)));
      const [ra, rb] = await Promise.all([a.claim(`A-${round}`, pa), b.claim(`B-${round}`, pb)]);
      const owners = new Map<string, string[]>();
      pa.forEach((p, i) => {
        if (ra[i]?.owned === true) owners.set(p.fingerprint, [...(owners.get(p.fingerprint) ?? []), 'A']);
      });
      pb.forEach((p, i) => {
        if (rb[i]?.owned === true) owners.set(p.fingerprint, [...(owners.get(p.fingerprint) ?? []), 'B']);
      });
      for (const list of owners.values()) expect(list).toHaveLength(1);
      // Overlap = identity y x items 10..19: owned by exactly one side, the other names the holder.
      const overlap = pa.filter((p) => pb.some((q) => q.fingerprint === p.fingerprint));
      expect(overlap).toHaveLength(10);
      const aOwnsOverlap = overlap.filter((p) => owners.get(p.fingerprint)?.[0] === 'A').length;
      // One script run per job: a job wins all of the overlap or none of it.
      expect([0, 10]).toContain(aOwnsOverlap);
      const loser =
        aOwnsOverlap === 10
          ? { res: rb, pairs: pb, holder: `A-${round}` }
          : { res: ra, pairs: pa, holder: `B-${round}` };
      const dupes = loser.pairs.map((p, i) => ({ p, r: loser.res[i] })).filter(({ r }) => r?.owned === false);
      expect(dupes).toHaveLength(10);
      for (const d of dupes) expect(d.r).toEqual({ owned: false, holder: loser.holder });
    }
  });

  it('a retry of the same job recognises its own claims; keys start with the prefix and expire', async () => {
    const pairs = expandPairs(grant(['p'], ['own-1', 'own-2']));
    expect(await a.claim('T1', pairs)).toEqual([{ owned: true }, { owned: true }]);
    expect(await b.claim('T1', pairs)).toEqual([{ owned: true }, { owned: true }]);
    expect(await b.claim('T2', pairs)).toEqual([
      { owned: false, holder: 'T1' },
      { owned: false, holder: 'T1' },
    ]);
    const keys = await connA.keys('*');
    expect(keys.every((k) => k.startsWith('{t}:dedupe:'))).toBe(true);
    const ttl = await connA.ttl(a.claimKey(pairs[0]?.fingerprint ?? ''));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('release frees only claims still held by that tracking id', async () => {
    const pairs = expandPairs(grant(['r'], ['rel-1', 'rel-2']));
    await a.claim('OWNER', pairs);
    expect(
      await a.release(
        'SOMEONE-ELSE',
        pairs.map((p) => p.fingerprint),
      ),
    ).toBe(0);
    expect(await a.holders(pairs)).toEqual(['OWNER', 'OWNER']);
    expect(
      await a.release(
        'OWNER',
        pairs.map((p) => p.fingerprint),
      ),
    ).toBe(2);
    expect(await a.holders(pairs)).toEqual([undefined, undefined]);
    expect(await b.claim('NEXT', pairs)).toEqual([{ owned: true }, { owned: true }]);
  });

  it('a REVOKE ends live GRANT claims on the same identity+item, and a GRANT ends REVOKE claims', async () => {
    const g = expandPairs(grant(['u'], ['app']));
    const r = expandPairs(revoke('u', 'app'));
    expect(await a.claim('G1', g)).toEqual([{ owned: true }]);
    expect(await a.claim('G2', g)).toEqual([{ owned: false, holder: 'G1' }]);
    expect(await b.claim('R1', r)).toEqual([{ owned: true }]);
    expect(await a.holders(g)).toEqual([undefined]);
    // The grant can be requested again; that ends the revoke's claim in turn.
    expect(await a.claim('G3', g)).toEqual([{ owned: true }]);
    expect(await a.holders(r)).toEqual([undefined]);
    expect(await a.claim('G4', g)).toEqual([{ owned: false, holder: 'G3' }]);
    // Another identity or item is untouched.
    const other = expandPairs(grant(['v'], ['app']));
    await a.claim('GV', other);
    await b.claim('R2', expandPairs(revoke('u', 'app')));
    expect(await a.holders(other)).toEqual(['GV']);
  });

  it('MODIFY is its own pair and is not ended by a revoke', async () => {
    const m = expandPairs({
      requestType: 'MODIFY_ACCESS',
      requestedFor: ['w'],
      requestedItems: [{ type: 'ROLE', id: 'm' }],
    });
    expect(await a.claim('M1', m)).toEqual([{ owned: true }]);
    await b.claim('R3', expandPairs(revoke('w', 'm')));
    expect(await a.claim('M2', m)).toEqual([{ owned: false, holder: 'M1' }]);
  });
});
