import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Job, type MinimalJob, UnrecoverableError, Worker } from 'bullmq';
import type { Agent } from 'undici';
import { ClientRegistry } from '../clients/client-registry.service';
import { withTimeout } from '../common/with-timeout';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PINO_LOGGER, type PinoLogger } from '../ops/logger';
import { MetricsService } from '../ops/metrics.service';
import { ReadinessService } from '../ops/readiness.service';
import { bullConnection } from '../redis/redis.connections';
import { webhookRetryDelay } from './webhook-backoff';
import { WEBHOOK_DELIVERY_SETTINGS, type WebhookDeliverySettings } from './webhook-delivery.settings';
import { WEBHOOK_BACKOFF_TYPE, WEBHOOK_QUEUE, type WebhookJobData } from './webhook-job';
import { createWebhookDispatcher, postWebhook, signWebhook, type WebhookAnswer } from './webhook.http';

// A receiver that crashes the process mid-delivery is retried a few times, then the job is failed.
const MAX_STALLED_COUNT = 5;
const ABORTED_CLOSE_WAIT_MS = 2_000;

export interface WebhookDelivered {
  readonly status: number;
}

/** Own worker, so slow receivers never take a submission slot; at least once (dedupe on `webhook-id`). */
@Injectable()
export class WebhookDeliveryProcessor
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('WebhookDeliveryProcessor');
  private readonly dispatcher: Agent;
  private worker: Worker<WebhookJobData, WebhookDelivered> | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_DELIVERY_SETTINGS) private readonly settings: WebhookDeliverySettings,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
    @Inject(PINO_LOGGER) private readonly log: PinoLogger,
  ) {
    this.dispatcher = createWebhookDispatcher(settings.timeoutMs);
  }

  onApplicationBootstrap(): void {
    const { lockDurationMs } = this.config.submission;
    const worker = new Worker<WebhookJobData, WebhookDelivered>(
      WEBHOOK_QUEUE,
      (job, _token, signal) => this.process(job, signal),
      {
        connection: bullConnection(this.config),
        prefix: this.config.redis.prefix,
        concurrency: this.settings.concurrency,
        autorun: false,
        lockDuration: lockDurationMs,
        stalledInterval: Math.max(1_000, Math.floor(lockDurationMs / 2)),
        maxStalledCount: MAX_STALLED_COUNT,
        settings: {
          backoffStrategy: (attemptsMade: number, type?: string, _err?: Error, job?: MinimalJob): number =>
            type === WEBHOOK_BACKOFF_TYPE && job !== undefined
              ? this.retryDelay(attemptsMade, job.data as WebhookJobData)
              : 0,
        },
      },
    );
    this.worker = worker;
    worker.on('error', (err) => {
      this.logger.warn(`worker: ${err.message}`);
    });
    this.readiness.register({
      name: 'webhooks',
      check: () => (worker.isRunning() && !worker.closing ? undefined : 'webhook worker is not running'),
    });
    this.running = worker.run().catch((err: unknown) => {
      this.logger.error(`webhook worker stopped: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async process(job: Job<WebhookJobData>, signal?: AbortSignal): Promise<WebhookDelivered> {
    const data = job.data;
    const version = (data as { v?: unknown }).v;
    if (version !== 1) throw new UnrecoverableError(`unknown webhook job version ${String(version)}`);
    const log = this.log.child({
      webhookId: job.id,
      trackingId: data.payload.data.trackingId,
      clientId: data.clientId,
      attempt: job.attemptsMade + 1,
    });
    const webhook = this.clients.get(data.clientId)?.webhook;
    if (webhook === undefined) {
      this.metrics.webhookDelivery(data.clientId, 'given_up');
      log.warn({ outcome: 'given_up' }, 'webhook delivery: the client has no webhook any more');
      throw new UnrecoverableError(`client ${data.clientId} has no webhook in the clients file any more`);
    }
    const firstAttemptAt = data.firstAttemptAt ?? new Date().toISOString();
    if (data.firstAttemptAt === undefined) await job.updateData({ ...data, firstAttemptAt });

    const id = job.id ?? '';
    const body = JSON.stringify(data.payload);
    const started = performance.now();
    const answer = await postWebhook({
      dispatcher: this.dispatcher,
      url: webhook.url,
      headers: signWebhook(webhook.secrets, id, body),
      body,
      timeoutMs: this.settings.timeoutMs,
      signal,
    });
    const fields = {
      status: answer.status,
      durationMs: Math.round(performance.now() - started),
      receiver: new URL(webhook.url).host,
    };
    if (typeof answer.status === 'number' && answer.status >= 200 && answer.status < 300) {
      this.metrics.webhookDelivery(data.clientId, 'delivered');
      log.info({ ...fields, outcome: 'delivered' }, 'webhook delivery');
      return { status: answer.status };
    }
    const reason = describe(answer, this.settings.timeoutMs);
    if (Date.now() - Date.parse(firstAttemptAt) >= this.config.webhooks.retryWindowMs) {
      this.metrics.webhookDelivery(data.clientId, 'given_up');
      log.error({ ...fields, outcome: 'given_up', reason }, 'webhook delivery');
      throw new UnrecoverableError(`given up: retried since ${firstAttemptAt}; last attempt: ${reason}`);
    }
    this.metrics.webhookDelivery(data.clientId, 'retried');
    log.warn({ ...fields, outcome: 'retried', reason }, 'webhook delivery');
    throw new Error(reason);
  }

  private retryDelay(attemptsMade: number, data: WebhookJobData): number {
    const first = data.firstAttemptAt === undefined ? Date.now() : Date.parse(data.firstAttemptAt);
    const msLeft = first + this.config.webhooks.retryWindowMs - Date.now();
    return webhookRetryDelay(attemptsMade, this.settings.backoffBaseMs, this.settings.backoffMaxMs, msLeft);
  }

  // SIGTERM: deliveries in flight get SHUTDOWN_GRACE_MS, then are aborted and retried later.
  async beforeApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    const grace = this.config.submission.shutdownGraceMs;
    const closed = worker.close().then(() => true);
    if (!(await withTimeout(closed, grace, () => false))) {
      this.logger.warn(`webhook deliveries did not finish within ${grace} ms; aborting them`);
      worker.cancelAllJobs('shutdown: grace period over');
      await withTimeout(closed, ABORTED_CLOSE_WAIT_MS, () => false);
    }
    await this.running;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

function describe(answer: WebhookAnswer, timeoutMs: number): string {
  if (typeof answer.status === 'number') return `the receiver answered ${answer.status}`;
  if (answer.status === 'timeout') return `no answer within ${timeoutMs} ms`;
  return `no answer: ${answer.error}`;
}
