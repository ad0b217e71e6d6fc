import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequestBody } from '../../src/access-request/access-request.types';
import { validateAccessRequest } from '../../src/access-request/access-request.validator';
import { expandPairs } from '../../src/access-request/pairs';
import { loadConfig } from '../../src/config/app-config';
import type { SubmissionJobData } from '../../src/queue/submission-job';
import { RequestStore } from '../../src/tracking/request.store';
import { callBodies } from '../../src/submission/call-body';
import { CallStore } from '../../src/submission/call.store';
import { planLanes } from '../../src/submission/lanes';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { future } from '../support/time';

/**
 * The batch planner against real Redis: random requests are handed to lanes by the same script the
 * worker uses; every call it forms must be one request the HTTP edge itself would accept, within the
 * caps, each item naming its own request, and every pair in exactly one call.
 */
describe('coalescing: every call the lanes form is a valid IdentityNow request', () => {
  let redis: PrivateRedis;
  let client: Redis;
  const config = loadConfig({ NODE_ENV: 'development', QUEUE_PREFIX: 'prop' });
  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const identity = fc.constantFrom('i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7', 'i8', 'i9', 'i10', 'i11', 'i12');
  const item = fc.record({
    type: fc.constantFrom('ROLE', 'ACCESS_PROFILE', 'ENTITLEMENT'),
    id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
    comment: fc.constant('why'),
  });
  const grant = fc.record({
    requestType: fc.constant('GRANT_ACCESS' as const),
    requestedFor: fc.uniqueArray(identity, { minLength: 1, maxLength: 4 }),
    requestedItems: fc.uniqueArray(item, {
      minLength: 1,
      maxLength: 6,
      selector: (i) => `${i.type}|${i.id}`,
    }),
  });
  const revoke = fc.record({
    requestType: fc.constant('REVOKE_ACCESS' as const),
    requestedFor: identity.map((i) => [i]),
    requestedItems: fc
      .uniqueArray(item, { minLength: 1, maxLength: 3, selector: (i) => `${i.type}|${i.id}` })
      .map((items) => {
        const ents = items.filter((i) => i.type === 'ENTITLEMENT').slice(0, 1);
        return [...items.filter((i) => i.type !== 'ENTITLEMENT'), ...ents];
      }),
  });
  const modify = fc.record({
    requestType: fc.constant('MODIFY_ACCESS' as const),
    requestedFor: identity.map((i) => [i]),
    requestedItems: fc
      .uniqueArray(item, { minLength: 1, maxLength: 3, selector: (i) => `${i.type}|${i.id}` })
      .map((items) => items.map((i) => ({ ...i, removeDate: future(30) }))),
  });
  const metadata = fc.constantFrom(undefined, { team: 'a' }, { team: 'b' });

  it('holds for random request sequences, in any order of arrival', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            body: fc.oneof(grant, grant, revoke, modify),
            meta: metadata,
            client: fc.constantFrom('x', 'y'),
          }),
          {
            minLength: 1,
            maxLength: 25,
          },
        ),
        async (requests) => {
          run += 1;
          await client.flushall();
          const requestsStore = new RequestStore(client, config);
          const calls = new CallStore(client, requestsStore, config);
          const created = new Set<string>();
          const owner = new Map<string, string>();
          for (const [k, r] of requests.entries()) {
            const trackingId = `00000000-0000-4000-8000-${String(run).padStart(6, '0')}${String(k).padStart(6, '0')}`;
            const checked = validateAccessRequest(
              { ...r.body, ...(r.meta === undefined ? {} : { clientMetadata: r.meta }) },
              { now: new Date() },
            );
            expect(checked.ok).toBe(true);
            if (!checked.ok) return;
            const request: AccessRequestBody = {
              ...checked.value,
              clientMetadata: { ...checked.value.clientMetadata, gatewayClientId: r.client },
            };
            const data: SubmissionJobData = {
              v: 1,
              trackingId,
              clientId: r.client,
              acceptedAt: new Date().toISOString(),
              request,
            };
            const pairs = expandPairs(request);
            const plan = planLanes(data, pairs);
            const candidates = plan.lanes.map((_, i) => `c-${run}-${k}-${i}`);
            const out = await calls.handoff({
              trackingId,
              clientId: r.client,
              fence: { lockKey: 'prop:none', token: '' },
              mode: 'new',
              meta: { clientId: r.client, createdAt: data.acceptedAt },
              calls: [],
              lanes: plan.lanes,
              candidates,
              pairs: pairs.map((p) => {
                const lane = plan.lanes.findIndex((l) => l.units.some((u) => u.fp === p.fingerprint));
                return {
                  fp: p.fingerprint,
                  d: {
                    i: 0,
                    requestedFor: p.identityId,
                    type: p.item.type,
                    id: p.item.id,
                    requestType: p.requestType,
                  },
                  o: { outcome: 'PENDING' as const },
                  ...(lane < 0 ? {} : { place: { lane } }),
                };
              }),
            });
            expect(out.outcome).toBe('written');
            // Marked changed in the same script: a crash before RequestEvents runs loses no webhook.
            expect(await client.zscore(requestsStore.dirtyKey, trackingId)).not.toBeNull();
            for (const id of out.created) created.add(id);
            for (const p of pairs) if (plan.lanes.length > 0) owner.set(`${trackingId}|${p.fingerprint}`, '');
          }
          const seen = new Set<string>();
          for (const id of created) {
            const call = await calls.load(id);
            expect(call).toBeDefined();
            if (call === undefined) continue;
            const bodies = callBodies(call.id, call.ctx, call.units, config.idn.maxIdentitiesPerCall);
            expect(bodies).toHaveLength(1);
            const body = bodies[0]?.body as AccessRequestBody;
            const check = validateAccessRequest(body, { now: new Date(), allowGatewayMetadata: true });
            expect(check.ok, JSON.stringify({ body, check })).toBe(true);
            const identities = new Set(call.units.map((u) => u.identityId));
            expect(identities.size).toBeLessThanOrEqual(config.idn.maxIdentitiesPerCall);
            if (call.units.some((u) => u.item.type === 'ENTITLEMENT'))
              expect(identities.size).toBeLessThanOrEqual(10);
            // Every item names the request it came from.
            const items =
              body.requestedForWithRequestedItems?.flatMap((t) => t.requestedItems) ??
              body.requestedItems ??
              [];
            for (const it of items) {
              expect(call.units.map((u) => u.t)).toContain(it.clientMetadata?.gatewayTrackingId);
              expect(it.clientMetadata?.gatewaySubmissionId).toBe(call.id);
            }
            for (const u of call.units) {
              const key = `${u.t}|${u.fp}`;
              expect(seen.has(key), `${key} in two calls`).toBe(false);
              seen.add(key);
            }
          }
          expect(seen.size).toBe(owner.size);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
