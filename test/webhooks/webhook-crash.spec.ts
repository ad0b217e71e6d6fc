import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/access-request/request-record';
import { WebhookNotifier } from '../../src/webhooks/webhook.producer';
import { webhookMessageId, WEBHOOK_QUEUE, type WebhookJobData } from '../../src/webhooks/webhook-job';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { waitUntil } from '../support/time';
import { startWebhookReceiver, webhookSecret, type WebhookReceiver } from '../support/webhook-receiver';

const WEBHOOK_WORKER = join(__dirname, '../support/webhook-worker.mjs');
const SECRET = webhookSecret('crash-signing-key');

describe('webhooks: at least once across a worker crash', () => {
  let redis: PrivateRedis;
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  let api: TestGateway | undefined;
  let child: GatewayProcess | undefined;
  let survivor: TestGateway | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    receiver = await startWebhookReceiver();
    // The first delivery is held until its worker dies; the next one is answered.
    receiver.on('/hook', (n) => (n === 0 ? 'hang' : 204));
    env = {
      REDIS_URL: redis.url,
      CLIENTS_FILE: writeClientsFile([
        { id: 'hr', secret: 'hr-client-secret', webhook: { url: `${receiver.url}/hook`, secret: SECRET } },
      ]),
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
      WORKER_LOCK_DURATION_MS: '2000',
    };
  });
  afterAll(async () => {
    await child?.stop('SIGKILL');
    await survivor?.close();
    await api?.close();
    await receiver.close();
    await redis.stop();
  });

  it('delivers again, with the same webhook-id, when the process delivering it is killed', async () => {
    child = await startGatewayProcess({ ...env, ROLE: 'worker' }, WEBHOOK_WORKER);
    // The notifier of an API process: it queues, it does not deliver.
    api = await startGateway({ ...env, ROLE: 'api' });
    const now = new Date().toISOString();
    const body: RequestRecord = {
      trackingId: randomUUID(),
      clientId: 'hr',
      state: 'SUBMITTED',
      createdAt: now,
      updatedAt: now,
      attempts: 1,
      pairs: [
        {
          requestedFor: 'identity-1',
          type: 'ROLE',
          id: 'role-1',
          requestType: 'GRANT_ACCESS',
          outcome: 'SUBMITTED',
        },
      ],
    };
    await api.app.get(WebhookNotifier).notify('hr', body);
    const id = webhookMessageId(body.trackingId, body.updatedAt);

    await waitUntil('the first delivery to arrive', () => receiver.to('/hook').length === 1);
    expect(await child.stop('SIGKILL')).toBe('SIGKILL');

    survivor = await startGateway({ ...env, ROLE: 'worker' });
    const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'arg',
    });
    try {
      await waitUntil(
        'the delivery to complete',
        async () => (await queue.getJob(id))?.finishedOn !== undefined,
      );
      const job = (await queue.getJob(id))!;
      expect(await job.getState()).toBe('completed');
      expect(job.returnvalue).toEqual({ status: 204 });
    } finally {
      await queue.close();
    }

    const deliveries = receiver.to('/hook');
    expect(deliveries).toHaveLength(2);
    for (const d of deliveries) {
      expect(d.headers['webhook-id']).toBe(id);
      const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, String(v)]));
      expect(new Webhook(SECRET).verify(d.body, headers)).toMatchObject({ data: body });
    }
  });
});
