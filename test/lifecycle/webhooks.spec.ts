import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/access-request/request-record';
import { loadConfig } from '../../src/config/app-config';
import { LifecycleStore } from '../../src/lifecycle/lifecycle.store';
import { SUBMISSION_JOB_NAME, SUBMISSION_QUEUE } from '../../src/queue/submission-job';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { REQUEST_FIELD, RequestStore } from '../../src/tracking/request.store';
import { WEBHOOK_QUEUE, type WebhookJobData } from '../../src/webhooks/webhook-job';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import type { TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { waitUntil } from '../support/time';
import {
  startWebhookReceiver,
  webhookSecret,
  type Delivery,
  type WebhookReceiver,
} from '../support/webhook-receiver';
import { startWorkerGateway } from '../support/worker-stack';

const SECRETS = { hooked: webhookSecret('lifecycle-hooked'), flaky: webhookSecret('lifecycle-flaky') };
const AUTH = {
  hooked: 'Bearer hooked-client-secret',
  flaky: 'Bearer flaky-client-secret',
  plain: 'Bearer plain-client-secret',
};
const role = (identity: string, id: string): object => ({
  requestedFor: [identity],
  requestedItems: [{ type: 'ROLE', id }],
});

interface Event {
  readonly id: string;
  readonly data: RequestRecord;
}

describe('webhooks told by the lifecycle', () => {
  let redis: PrivateRedis;
  let sim: RunningSimulator;
  let receiver: WebhookReceiver;
  let gw: TestGateway;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await startRedis();
    sim = await createSimulator({
      reportExisting: false,
      progression: { completeAfterMs: null, rejectRate: 0 },
    });
    receiver = await startWebhookReceiver();
    receiver.on('/flaky', (n) => (n < 2 ? 500 : 200));
    env = {
      CLIENTS_FILE: writeClientsFile([
        {
          id: 'hooked',
          secret: 'hooked-client-secret',
          webhook: { url: `${receiver.url}/hooked`, secret: SECRETS.hooked },
        },
        {
          id: 'flaky',
          secret: 'flaky-client-secret',
          webhook: { url: `${receiver.url}/flaky`, secret: SECRETS.flaky },
        },
        { id: 'plain', secret: 'plain-client-secret' },
      ]),
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
      IDN_STATUS_POLL_MS: '200',
    };
    gw = await startWorkerGateway(redis, sim, env, sim.credentials, {
      webhookDelivery: { timeoutMs: 1_000, backoffBaseMs: 50, backoffMaxMs: 200 },
    });
  });
  afterAll(async () => {
    await gw.close();
    await receiver.close();
    await sim.close();
    await redis.stop();
  });

  const post = async (auth: string, body: object): Promise<string> => {
    const res = await request(gw.server).post('/v3/access-requests').set('authorization', auth).send(body);
    expect(res.status).toBe(202);
    return (res.body as { trackingId: string }).trackingId;
  };
  const status = async (auth: string, id: string): Promise<RequestRecord> =>
    (await request(gw.server).get(`/v3/access-requests/${id}`).set('authorization', auth))
      .body as RequestRecord;
  /** Every delivery to `path` for a request, each verified with the library. */
  const events = (path: string, secret: string, trackingId: string): Event[] =>
    receiver
      .to(path)
      .map((d: Delivery) => {
        const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, String(v)]));
        const payload = new Webhook(secret).verify(d.body, headers) as { type: string; data: RequestRecord };
        expect(payload.type).toBe('access_request.updated');
        return { id: headers['webhook-id'] as string, data: payload.data };
      })
      .filter((e) => e.data.trackingId === trackingId);
  const story = (es: readonly Event[]): string[] => [
    ...new Set(
      es.map((e) =>
        [
          e.data.state,
          ...e.data.pairs.map((p) => `${p.outcome}/${p.identityNowState ?? '-'}`),
          e.data.closedAt === undefined ? 'open' : 'closed',
        ].join(' '),
      ),
    ),
  ];

  it('tells every change of an outcome or IdentityNow state and the closing, signed (verified with standardwebhooks)', async () => {
    const id = await post(AUTH.hooked, role('wh-u1', 'wh-r1'));
    await waitUntil('EXECUTING to be told', () =>
      events('/hooked', SECRETS.hooked, id).some((e) => e.data.pairs[0]?.identityNowState === 'EXECUTING'),
    );
    sim.control.setItemState('REQUEST_COMPLETED', { identityId: 'wh-u1' });
    await waitUntil('the closing to be told', () =>
      events('/hooked', SECRETS.hooked, id).some((e) => e.data.closedAt !== undefined),
    );
    const told = events('/hooked', SECRETS.hooked, id);
    expect(story(told)).toEqual([
      'SUBMITTED SUBMITTED/- open',
      'SUBMITTED SUBMITTED/EXECUTING open',
      'SUBMITTED SUBMITTED/REQUEST_COMPLETED closed',
    ]);
    // One delivery per change, each with its own webhook-id; the last is what the status says now.
    expect(new Set(told.map((e) => e.id)).size).toBe(told.length);
    expect(told.at(-1)?.data).toEqual(await status(AUTH.hooked, id));
  });

  it('a cancel at the API is told too', async () => {
    const id = await post(AUTH.hooked, role('wh-u2', 'wh-r2'));
    await waitUntil('EXECUTING to be told', () =>
      events('/hooked', SECRETS.hooked, id).some((e) => e.data.pairs[0]?.identityNowState === 'EXECUTING'),
    );
    const res = await request(gw.server)
      .post(`/v3/access-requests/${id}/cancel`)
      .set('authorization', AUTH.hooked)
      .send({ comment: 'not needed' });
    expect(res.status).toBe(202);
    await waitUntil('the cancel to be told', () =>
      events('/hooked', SECRETS.hooked, id).some((e) => e.data.closedAt !== undefined),
    );
    expect(story(events('/hooked', SECRETS.hooked, id)).at(-1)).toBe('SUBMITTED SUBMITTED/CANCELLED closed');
    expect(
      events('/hooked', SECRETS.hooked, id).some((e) => e.data.pairs[0]?.cancel?.state === 'PENDING'),
    ).toBe(true);
  });

  it('retries a delivery the receiver answers 500, with the same webhook-id, until it is taken', async () => {
    const id = await post(AUTH.flaky, role('wh-u3', 'wh-r3'));
    await waitUntil('a first delivery', () => events('/flaky', SECRETS.flaky, id).length > 0);
    const first = events('/flaky', SECRETS.flaky, id)[0] as Event;
    expect(first.data.pairs[0]?.outcome).toBe('SUBMITTED');
    const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'arg',
    });
    try {
      await waitUntil(
        'the delivery to be taken',
        async () => (await (await queue.getJob(first.id))?.getState()) === 'completed',
      );
    } finally {
      await queue.close();
    }
    // The receiver's first answer was 500: the same delivery came again, with the same id and body.
    const same = events('/flaky', SECRETS.flaky, id).filter((e) => e.id === first.id);
    expect(same.length).toBeGreaterThanOrEqual(2);
    expect(same.every((e) => JSON.stringify(e.data) === JSON.stringify(first.data))).toBe(true);
  });

  it('a job FAILED for data the worker cannot use is told too: FAILED, no pairs, closed', async () => {
    const id = randomUUID();
    const submissions = new Queue(SUBMISSION_QUEUE, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'arg',
    });
    try {
      // Not a body this gateway accepts (REVOKE takes exactly one identity), as from an older producer.
      await submissions.add(
        SUBMISSION_JOB_NAME,
        {
          v: 1,
          trackingId: id,
          clientId: 'hooked',
          acceptedAt: new Date().toISOString(),
          request: {
            requestType: 'REVOKE_ACCESS',
            requestedFor: ['wh-u6', 'wh-u7'],
            requestedItems: [{ type: 'ROLE', id: 'wh-r6', comment: 'no longer needed' }],
          },
        },
        { jobId: id, attempts: 3 },
      );
    } finally {
      await submissions.close();
    }
    await waitUntil('the FAILED request to be told', () => events('/hooked', SECRETS.hooked, id).length > 0);
    const told = events('/hooked', SECRETS.hooked, id);
    expect(story(told)).toEqual(['FAILED closed']);
    expect(told.at(-1)?.data).toEqual(await status(AUTH.hooked, id));
    expect(
      sim.control.records({ operation: 'submit' }).calls.filter((c) => JSON.stringify(c).includes('wh-u6')),
    ).toEqual([]);
  });

  it('a client without a webhook gets no delivery and no delivery job', async () => {
    const id = await post(AUTH.plain, role('wh-u4', 'wh-r4'));
    await waitUntil(
      'it to be followed',
      async () => (await status(AUTH.plain, id)).pairs[0]?.identityNowState === 'EXECUTING',
    );
    sim.control.setItemState('REJECTED', { identityId: 'wh-u4' });
    await waitUntil('it to close', async () => (await status(AUTH.plain, id)).closedAt !== undefined);
    expect(receiver.deliveries.filter((d) => d.body.includes(id))).toEqual([]);
    const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'arg',
    });
    try {
      const jobs = await queue.getJobs(['completed', 'failed', 'waiting', 'delayed', 'active']);
      expect(jobs.filter((j) => j.data.clientId === 'plain')).toEqual([]);
      expect(jobs.some((j) => j.data.clientId === 'hooked')).toBe(true);
    } finally {
      await queue.close();
    }
  });

  it('a change written but never told (its process died right after the write) is told by the sweep', async () => {
    const id = await post(AUTH.hooked, role('wh-u5', 'wh-r5'));
    await waitUntil('EXECUTING to be told', () =>
      events('/hooked', SECRETS.hooked, id).some((e) => e.data.pairs[0]?.identityNowState === 'EXECUTING'),
    );
    sim.control.setItemState('REQUEST_COMPLETED', { identityId: 'wh-u5' });
    await waitUntil('the closing to be told', () =>
      events('/hooked', SECRETS.hooked, id).some((e) => e.data.closedAt !== undefined),
    );
    // The write alone, as a process that dies before telling anyone would leave it.
    const config = loadConfig({ NODE_ENV: 'development', REDIS_URL: redis.url });
    const requests = new RequestStore(redis.client(), config);
    const stored = await requests.load(id);
    const fp = stored?.pairs[0]?.fp as string;
    const note = {
      state: 'REFUSED',
      comment: 'test',
      reason: 'written without telling',
      at: new Date().toISOString(),
    };
    const w = await new LifecycleStore(requests, config).write(id, {
      fields: { [REQUEST_FIELD.cancel + fp]: JSON.stringify(note) },
    });
    expect(w.ok).toBe(true);
    await waitUntil('the sweep to tell it', () =>
      events('/hooked', SECRETS.hooked, id).some(
        (e) => e.data.pairs[0]?.cancel?.reason === 'written without telling',
      ),
    );
  });
});
