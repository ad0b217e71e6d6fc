import { createHmac, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/access-request/request-record';
import { WebhookNotifier } from '../../src/webhooks/webhook.producer';
import { webhookMessageId, WEBHOOK_QUEUE, type WebhookJobData } from '../../src/webhooks/webhook-job';
import { grant } from '../support/bodies';
import { basic, SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { LogCapture } from '../support/log-capture';
import { parseMetrics, sampleValue } from '../support/prometheus';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { waitUntil } from '../support/time';
import {
  startWebhookReceiver,
  webhookSecret,
  type Delivery,
  type WebhookReceiver,
} from '../support/webhook-receiver';

const ADMIN = { ADMIN_USER: 'ops-admin', ADMIN_PASSWORD: 'correct-horse-battery' };
const SECRETS = {
  hooked: webhookSecret('hooked-signing-key'),
  flaky: webhookSecret('flaky-signing-key'),
  silent: webhookSecret('silent-signing-key'),
  broken: webhookSecret('broken-signing-key'),
  rotatingOld: webhookSecret('rotating-old-signing-key'),
  rotatingNew: webhookSecret('rotating-new-signing-key'),
};
const CLIENT_SECRET = { hooked: 'hooked-client-secret', plain: 'plain-client-secret' };
const FAST = { timeoutMs: 1_000, backoffBaseMs: 50, backoffMaxMs: 200 };

/** A status body as the status route shapes it. */
function record(clientId: string, updatedAt = new Date().toISOString()): RequestRecord {
  return {
    trackingId: randomUUID(),
    clientId,
    state: 'SUBMITTED',
    createdAt: updatedAt,
    updatedAt,
    attempts: 1,
    pairs: [
      {
        requestedFor: '2c918084660f45d6016617daa9210584',
        type: 'ROLE',
        id: '2c9180835d2e5168015d32f890ca1581',
        requestType: 'GRANT_ACCESS',
        outcome: 'SUBMITTED',
        accessRequestIds: ['a1b2c3'],
      },
    ],
  };
}

const headersOf = (d: Delivery): Record<string, string> =>
  Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, String(v)]));
const trackingIdOf = (d: Delivery): string => (JSON.parse(d.body) as { data: RequestRecord }).data.trackingId;

function webhooksQueue(redis: PrivateRedis, prefix: string): Queue<WebhookJobData> {
  return new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
    connection: { host: '127.0.0.1', port: redis.port },
    prefix,
  });
}

async function settled(queue: Queue<WebhookJobData>, jobId: string): Promise<string> {
  let state = 'unknown';
  await waitUntil(`webhook job ${jobId} to finish`, async () => {
    state = (await (await queue.getJob(jobId))?.getState()) ?? 'missing';
    return state === 'completed' || state === 'failed';
  });
  return state;
}

async function scrape(gw: TestGateway): Promise<ReturnType<typeof parseMetrics>> {
  const res = await request(gw.server).get('/metrics');
  expect(res.status).toBe(200);
  return parseMetrics(res.text);
}

const deliveryLines = (logs: LogCapture, webhookId: string): Record<string, unknown>[] =>
  logs.records.filter((l) => l.msg === 'webhook delivery' && l.webhookId === webhookId);

describe('webhooks', () => {
  let redis: PrivateRedis;
  let receiver: WebhookReceiver;
  let clientsFile: string;

  beforeAll(async () => {
    redis = await startRedis();
    receiver = await startWebhookReceiver();
    receiver.on('/flaky', (n) => (n < 2 ? 500 : 200));
    receiver.on('/silent', (n) => (n === 0 ? 'hang' : 200));
    receiver.on('/broken', () => 500);
    clientsFile = writeClientsFile([
      { id: 'plain', secret: CLIENT_SECRET.plain },
      {
        id: 'hooked',
        secret: CLIENT_SECRET.hooked,
        webhook: { url: `${receiver.url}/hooked`, secret: SECRETS.hooked },
      },
      {
        id: 'flaky',
        secret: 'flaky-client-secret',
        webhook: { url: `${receiver.url}/flaky`, secret: SECRETS.flaky },
      },
      {
        id: 'silent',
        secret: 'silent-client-secret',
        webhook: { url: `${receiver.url}/silent`, secret: SECRETS.silent },
      },
      {
        id: 'broken',
        secret: 'broken-client-secret',
        webhook: { url: `${receiver.url}/broken`, secret: SECRETS.broken },
      },
      {
        id: 'rotating',
        secret: 'rotating-client-secret',
        webhook: { url: `${receiver.url}/rotating`, secret: [SECRETS.rotatingOld, SECRETS.rotatingNew] },
      },
    ]);
  });
  afterAll(async () => {
    await receiver.close();
    await redis.stop();
  });

  describe('delivery (WEBHOOK_RETRY_HOURS default)', () => {
    const PREFIX = 'wh';
    const logs = new LogCapture();
    let gw: TestGateway;
    let notifier: WebhookNotifier;
    let queue: Queue<WebhookJobData>;

    beforeAll(async () => {
      gw = await startGateway(
        {
          REDIS_URL: redis.url,
          ROLE: 'all',
          QUEUE_PREFIX: PREFIX,
          CLIENTS_FILE: clientsFile,
          TOKEN_SIGNING_SECRET: SIGNING_SECRET,
          LOG_LEVEL: 'info',
          ...ADMIN,
        },
        {
          webhookDelivery: FAST,
          logDestination: logs,
        },
      );
      notifier = gw.app.get(WebhookNotifier);
      queue = webhooksQueue(redis, PREFIX);
    });
    afterAll(async () => {
      await queue.close();
      await gw.close();
    });

    it('POSTs the status body, signed as Standard Webhooks says; the library verifies it', async () => {
      const accepted = await request(gw.server)
        .post('/v3/access-requests')
        .set('authorization', `Bearer ${CLIENT_SECRET.hooked}`)
        .send(grant());
      expect(accepted.status).toBe(202);
      const status = await request(gw.server)
        .get(`/v3/access-requests/${accepted.body.trackingId as string}`)
        .set('authorization', `Bearer ${CLIENT_SECRET.hooked}`);
      expect(status.status).toBe(200);
      const body = status.body as RequestRecord;

      await notifier.notify('hooked', body);
      const id = webhookMessageId(body.trackingId, body.updatedAt);
      expect(await settled(queue, id)).toBe('completed');

      const [delivery, ...more] = receiver.to('/hooked').filter((d) => trackingIdOf(d) === body.trackingId);
      expect(more).toEqual([]);
      const headers = headersOf(delivery!);
      expect(headers['content-type']).toBe('application/json');
      expect(headers['webhook-id']).toBe(id);
      expect(headers['webhook-timestamp']).toMatch(/^\d+$/);
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);

      const payload = new Webhook(SECRETS.hooked).verify(delivery!.body, headers);
      expect(payload).toEqual({ type: 'access_request.updated', timestamp: expect.any(String), data: body });
      expect(new Date((payload as { timestamp: string }).timestamp).toISOString()).toBe(
        (payload as { timestamp: string }).timestamp,
      );

      // The same HMAC by hand: key = the base64 part of the secret, over `id.timestamp.body`.
      const key = Buffer.from(SECRETS.hooked.slice('whsec_'.length), 'base64');
      const mac = createHmac('sha256', key)
        .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${delivery!.body}`)
        .digest('base64');
      expect(headers['webhook-signature']).toBe(`v1,${mac}`);

      expect(() => new Webhook(SECRETS.flaky).verify(delivery!.body, headers)).toThrow();
      expect(() =>
        new Webhook(SECRETS.hooked).verify(delivery!.body.replace(body.trackingId, randomUUID()), headers),
      ).toThrow();
    });

    it('signs with both secrets during a rotation: a receiver that knows either one verifies', async () => {
      const body = record('rotating');
      await notifier.notify('rotating', body);
      const id = webhookMessageId(body.trackingId, body.updatedAt);
      expect(await settled(queue, id)).toBe('completed');
      const [delivery] = receiver.to('/rotating').filter((d) => trackingIdOf(d) === body.trackingId);
      const headers = headersOf(delivery!);
      const mac = (secret: string): string =>
        createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
          .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${delivery!.body}`)
          .digest('base64');
      expect(headers['webhook-signature']).toBe(
        `v1,${mac(SECRETS.rotatingOld)} v1,${mac(SECRETS.rotatingNew)}`,
      );
      for (const secret of [SECRETS.rotatingOld, SECRETS.rotatingNew]) {
        expect(new Webhook(secret).verify(delivery!.body, headers)).toMatchObject({ data: body });
      }
      expect(() => new Webhook(SECRETS.hooked).verify(delivery!.body, headers)).toThrow();
    });

    it('notifying the same change twice adds one job and one delivery; a newer change is another', async () => {
      const v1 = record('hooked', '2031-01-01T10:00:00.000Z');
      await notifier.notify('hooked', v1);
      await notifier.notify('hooked', v1);
      const v2 = { ...v1, state: 'FAILED' as const, updatedAt: '2031-01-01T10:00:05.000Z' };
      await notifier.notify('hooked', v2);
      await notifier.notify('hooked', v2, v2.updatedAt);
      const ids = [
        webhookMessageId(v1.trackingId, v1.updatedAt),
        webhookMessageId(v1.trackingId, v2.updatedAt),
      ];
      for (const id of ids) expect(await settled(queue, id)).toBe('completed');

      const mine = receiver.to('/hooked').filter((d) => trackingIdOf(d) === v1.trackingId);
      expect(mine.map((d) => d.headers['webhook-id']).sort()).toEqual([...ids].sort());
    });

    it('queues nothing and delivers nothing for a client without a webhook', async () => {
      const plain = record('plain');
      await notifier.notify('plain', plain);
      expect(await queue.getJob(webhookMessageId(plain.trackingId, plain.updatedAt))).toBeUndefined();
      await expect(notifier.notify('hooked', plain)).rejects.toThrow(/belongs to plain/);

      // A later delivery has gone through, and still nothing for `plain` reached any path.
      const marker = record('hooked');
      await notifier.notify('hooked', marker);
      expect(await settled(queue, webhookMessageId(marker.trackingId, marker.updatedAt))).toBe('completed');
      expect(receiver.deliveries.filter((d) => trackingIdOf(d) === plain.trackingId)).toEqual([]);
      const all = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
      expect(all.filter((j) => j.data.clientId === 'plain')).toEqual([]);
    });

    it('retries a receiver that answers 500: three deliveries with one webhook-id, each verifiable', async () => {
      const body = record('flaky');
      await notifier.notify('flaky', body);
      const id = webhookMessageId(body.trackingId, body.updatedAt);
      expect(await settled(queue, id)).toBe('completed');

      const deliveries = receiver.to('/flaky');
      expect(deliveries).toHaveLength(3);
      for (const d of deliveries) {
        expect(d.headers['webhook-id']).toBe(id);
        expect(new Webhook(SECRETS.flaky).verify(d.body, headersOf(d))).toMatchObject({ data: body });
      }
      const lines = deliveryLines(logs, id);
      expect(lines.map((l) => [l.attempt, l.status, l.outcome])).toEqual([
        [1, 500, 'retried'],
        [2, 500, 'retried'],
        [3, 200, 'delivered'],
      ]);
      for (const l of lines) {
        expect(l).toMatchObject({
          trackingId: body.trackingId,
          clientId: 'flaky',
          durationMs: expect.any(Number),
        });
      }

      const samples = await scrape(gw);
      const count = (outcome: string): number | undefined =>
        sampleValue(samples, 'gateway_webhook_deliveries_total', { client: 'flaky', outcome });
      expect(count('retried')).toBe(2);
      expect(count('delivered')).toBe(1);
      expect(count('given_up')).toBeUndefined();
    });

    it('retries a receiver that does not answer within the timeout', async () => {
      const body = record('silent');
      await notifier.notify('silent', body);
      const id = webhookMessageId(body.trackingId, body.updatedAt);
      expect(await settled(queue, id)).toBe('completed');

      const deliveries = receiver.to('/silent');
      expect(deliveries).toHaveLength(2);
      expect(deliveries.map((d) => d.headers['webhook-id'])).toEqual([id, id]);
      expect(deliveryLines(logs, id).map((l) => [l.attempt, l.status, l.outcome])).toEqual([
        [1, 'timeout', 'retried'],
        [2, 200, 'delivered'],
      ]);
    });

    it('never writes a webhook secret to the logs, the queue or the dashboard', async () => {
      const keys = Object.values(SECRETS).map((s) => s.slice('whsec_'.length));
      const jobs = await queue.getJobs(['completed', 'failed', 'waiting', 'delayed']);
      const dashboard = await request(gw.server)
        .get('/admin/queues/api/queues')
        .query({ activeQueue: 'webhooks', status: 'completed', page: '1' })
        .set('authorization', basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD));
      expect(dashboard.status).toBe(200);
      for (const text of [logs.lines.join('\n'), JSON.stringify(jobs), dashboard.text]) {
        for (const key of keys) expect(text).not.toContain(key);
      }
    });

    it('shows the webhooks queue and its deliveries in Bull Board', async () => {
      const body = record('hooked');
      await notifier.notify('hooked', body);
      const id = webhookMessageId(body.trackingId, body.updatedAt);
      expect(await settled(queue, id)).toBe('completed');
      const res = await request(gw.server)
        .get('/admin/queues/api/queues')
        .query({ activeQueue: 'webhooks', status: 'completed', page: '1' })
        .set('authorization', basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD));
      expect(res.status).toBe(200);
      const queues = res.body.queues as { name: string; jobs: { id: string }[] }[];
      expect(queues.map((q) => q.name).sort()).toEqual(['cancels', 'submissions', 'webhooks']);
      expect(queues.find((q) => q.name === 'webhooks')!.jobs.map((j) => j.id)).toContain(id);
    });

    it('exports the delivery counter with client and outcome labels only, and the queue gauge', async () => {
      const samples = await scrape(gw);
      const series = samples.filter((s) => s.name === 'gateway_webhook_deliveries_total');
      expect(series.length).toBeGreaterThan(0);
      for (const s of series) expect(Object.keys(s.labels).sort()).toEqual(['client', 'outcome']);
      expect(
        sampleValue(samples, 'gateway_webhook_deliveries_total', { client: 'hooked', outcome: 'delivered' }),
      ).toBeGreaterThanOrEqual(4);
      expect(
        sampleValue(samples, 'gateway_queue_jobs', { queue: 'webhooks', state: 'completed' }),
      ).toBeGreaterThan(0);
    });
  });

  describe('giving up after WEBHOOK_RETRY_HOURS', () => {
    const PREFIX = 'wh-short';
    const WINDOW_MS = 0.0005 * 3_600_000;
    const logs = new LogCapture();
    let gw: TestGateway;
    let queue: Queue<WebhookJobData>;

    beforeAll(async () => {
      gw = await startGateway(
        {
          REDIS_URL: redis.url,
          ROLE: 'worker',
          QUEUE_PREFIX: PREFIX,
          CLIENTS_FILE: clientsFile,
          TOKEN_SIGNING_SECRET: SIGNING_SECRET,
          WEBHOOK_RETRY_HOURS: '0.0005',
          LOG_LEVEL: 'info',
        },
        {
          webhookDelivery: { ...FAST, backoffBaseMs: 100, backoffMaxMs: 400 },
          logDestination: logs,
        },
      );
      queue = webhooksQueue(redis, PREFIX);
    });
    afterAll(async () => {
      await queue.close();
      await gw.close();
    });

    it('retries until the window has passed since the first attempt, then fails the job (kept) and counts it', async () => {
      const body = record('broken');
      await gw.app.get(WebhookNotifier).notify('broken', body);
      const id = webhookMessageId(body.trackingId, body.updatedAt);
      expect(await settled(queue, id)).toBe('failed');

      const job = (await queue.getJob(id))!;
      expect(job.failedReason).toMatch(
        /^given up: retried since .*; last attempt: the receiver answered 500$/,
      );
      const first = Date.parse(job.data.firstAttemptAt!);
      expect(job.finishedOn! - first).toBeGreaterThanOrEqual(WINDOW_MS);

      const deliveries = receiver.to('/broken');
      expect(deliveries.length).toBeGreaterThanOrEqual(2);
      for (const d of deliveries) expect(d.headers['webhook-id']).toBe(id);

      const lines = deliveryLines(logs, id);
      expect(lines).toHaveLength(deliveries.length);
      expect(lines.map((l) => l.attempt)).toEqual(deliveries.map((_, i) => i + 1));
      expect(lines.slice(0, -1).every((l) => l.outcome === 'retried' && l.level === 'warn')).toBe(true);
      expect(lines.at(-1)).toMatchObject({ outcome: 'given_up', level: 'error', status: 500 });

      const samples = await scrape(gw);
      const count = (outcome: string): number | undefined =>
        sampleValue(samples, 'gateway_webhook_deliveries_total', { client: 'broken', outcome });
      expect(count('given_up')).toBe(1);
      expect(count('retried')).toBe(deliveries.length - 1);
      expect(count('delivered')).toBeUndefined();
    });
  });
});
