import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { RequestRecord } from '../access-request/request-record';
import { ClientRegistry } from '../clients/client-registry.service';
import { withTimeout } from '../common/with-timeout';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../ops/metrics.service';
import { bullConnection } from '../redis/redis.connections';
import {
  WEBHOOK_BACKOFF_TYPE,
  WEBHOOK_EVENT_TYPE,
  WEBHOOK_JOB_NAME,
  WEBHOOK_QUEUE,
  webhookMessageId,
  type WebhookJobData,
} from './webhook-job';

const CLOSE_WAIT_MS = 2_000;
// The retry window (WEBHOOK_RETRY_HOURS), not a count, ends the retries.
const UNBOUNDED_ATTEMPTS = 1_000_000;

/** Queues `access_request.updated` deliveries; usable in every role. */
@Injectable()
export class WebhookNotifier implements OnApplicationShutdown {
  private readonly logger = new Logger('WebhookNotifier');
  private readonly queue: Queue<WebhookJobData>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
    @Inject(MetricsService) metrics: MetricsService,
  ) {
    this.queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
      connection: bullConnection(config),
      prefix: config.redis.prefix,
    });
    this.queue.on('error', (err) => {
      this.logger.warn(`queue: ${err.message}`);
    });
    metrics.watchQueue(WEBHOOK_QUEUE, this.queue);
  }

  /** Whether the client has a webhook (so a change is worth building a status body for). */
  wants(clientId: string): boolean {
    return this.clients.get(clientId)?.webhook !== undefined;
  }

  /** One delivery per `version` (default `body.updatedAt`): re-notifying a change is a no-op. */
  async notify(clientId: string, body: RequestRecord, version: string = body.updatedAt): Promise<void> {
    if (body.clientId !== clientId) {
      throw new Error(`request ${body.trackingId} belongs to ${body.clientId}, not to ${clientId}`);
    }
    if (this.clients.get(clientId)?.webhook === undefined) return;
    const { completedJobRetentionSeconds, failedJobRetentionSeconds } = this.config.submission;
    await this.queue.add(
      WEBHOOK_JOB_NAME,
      {
        v: 1,
        clientId,
        payload: { type: WEBHOOK_EVENT_TYPE, timestamp: new Date().toISOString(), data: body },
      },
      {
        jobId: webhookMessageId(body.trackingId, version),
        attempts: UNBOUNDED_ATTEMPTS,
        backoff: { type: WEBHOOK_BACKOFF_TYPE },
        removeOnComplete: { age: completedJobRetentionSeconds },
        removeOnFail: { age: failedJobRetentionSeconds },
      },
    );
  }

  // Bounded: with Redis gone, closing would wait for a reconnect that may never come.
  async onApplicationShutdown(): Promise<void> {
    const closed = await withTimeout(
      this.queue.close().then(() => true),
      CLOSE_WAIT_MS,
      () => false,
    ).catch(() => false);
    if (!closed) void this.queue.disconnect().catch(() => undefined);
  }
}
