import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { type Job, type MinimalJob, UnrecoverableError, Worker } from 'bullmq';
import { ClientRegistry } from '../clients/client-registry.service';
import { withTimeout } from '../common/with-timeout';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdnRateLimitedError } from '../identitynow/identitynow.errors';
import { type AcquireResult, RateLimiterService } from '../identitynow/rate-limiter.service';
import { jobContext } from '../ops/job-context';
import { PINO_LOGGER, type PinoLogger } from '../ops/logger';
import { MetricsService } from '../ops/metrics.service';
import { ReadinessService } from '../ops/readiness.service';
import { CALL_BACKOFF_TYPE, type CallJobData, callQueueName } from '../queue/submission-job';
import { RequestEvents } from '../tracking/request-events';
import { fullJitterDelay } from './backoff';
import { RetryLaterError } from './bull-worker';
import { CallQueue } from './call.queue';
import { CallService, type CallPassResult } from './call.service';
import { CallStore, type StoredCall } from './call.store';

interface Held {
  readonly job: Job<CallJobData, null>;
  readonly token: string;
  readonly clientId: string;
}

/** How often an idle scheduler looks at the hand-off ticket, and at every queue whatever it says. */
const TICKET_POLL_MS = 25;
const FULL_SCAN_MS = 250;
const MAX_STALLED_COUNT = 3;
const ABORTED_CLOSE_WAIT_MS = 2_000;
const DEMAND_CACHE_MS = 250;

/**
 * The one way calls reach IdentityNow: one loop per process, fair share by `budgetWeight`; sends run in
 * the background, the loop only waits for the budget. docs/architecture.md, "Coalescing".
 */
@Injectable()
export class CallScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CallScheduler');
  private readonly workers = new Map<string, Worker<CallJobData, null>>();
  private readonly held = new Map<string, Held>();
  private readonly credit = new Map<string, number>();
  private readonly empty = new Set<string>();
  private readonly passes = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private keeper: NodeJS.Timeout | undefined;
  private lastTicket: string | null = null;
  private lastScan = 0;
  private demand = { at: 0, pairs: 0 };
  private readonly lingerMs: number;

  constructor(
    @Inject(CallService) private readonly service: CallService,
    @Inject(CallQueue) private readonly queues: CallQueue,
    @Inject(CallStore) private readonly calls: CallStore,
    @Inject(RateLimiterService) private readonly limiter: RateLimiterService,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
    @Inject(RequestEvents) private readonly events: RequestEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly log: PinoLogger,
  ) {
    this.lingerMs = Math.ceil(config.idn.rateLimitWindowMs / config.idn.rateLimitMax);
  }

  onApplicationBootstrap(): void {
    for (const c of this.clients.all()) this.worker(c.id);
    this.readiness.register({
      name: 'workers',
      check: () => (this.loop !== undefined && !this.stopping ? undefined : 'call scheduler is not running'),
    });
    this.metrics.setWaitingPairsProbe(async () => {
      const ids = [...this.workers.keys()];
      const values =
        ids.length === 0
          ? []
          : await this.queues.connection.mget(...ids.map((id) => this.calls.waitingKey(id)));
      return Object.fromEntries(ids.map((id, i) => [id, Number(values[i] ?? 0)]));
    });
    const lock = this.config.submission.lockDurationMs;
    this.keeper = setInterval(() => void this.extendLocks(lock), Math.max(500, Math.floor(lock / 2)));
    this.loop = this.run();
  }

  private worker(clientId: string): Worker<CallJobData, null> {
    let w = this.workers.get(clientId);
    if (w !== undefined) return w;
    const { lockDurationMs, backoffBaseMs, backoffMaxMs } = this.config.submission;
    w = new Worker<CallJobData, null>(callQueueName(clientId), null, {
      connection: this.queues.connection,
      prefix: this.config.redis.prefix,
      autorun: false,
      lockDuration: lockDurationMs,
      stalledInterval: Math.max(1_000, Math.floor(lockDurationMs / 2)),
      maxStalledCount: MAX_STALLED_COUNT,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, err?: Error, job?: MinimalJob): number => {
          if (type !== CALL_BACKOFF_TYPE) return 0;
          const b = job?.opts.backoff;
          const base = typeof b === 'object' && typeof b.delay === 'number' ? b.delay : backoffBaseMs;
          const floor = err instanceof RetryLaterError ? err.minDelayMs : 0;
          return Math.max(floor, fullJitterDelay(attemptsMade, base, backoffMaxMs));
        },
      },
    });
    w.on('error', (err) => {
      this.logger.warn(`calls of ${clientId}: ${err.message}`);
    });
    // Manual processing: stalled jobs (their worker died) come back only if someone checks.
    void w.startStalledCheckTimer().catch(() => undefined);
    this.workers.set(clientId, w);
    this.credit.set(clientId, 0);
    return w;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.passes.size >= this.config.submission.concurrency) {
          await Promise.race(this.passes);
          continue;
        }
        const next = await this.next();
        if (next === undefined) await this.idle();
        else await this.dispatch(next);
      } catch (e) {
        this.logger.warn(`scheduler: ${e instanceof Error ? e.message : String(e)}`);
        await sleep(200);
      }
    }
  }

  /** The next call in fair share: clients whose queues are empty are skipped until new work shows. */
  private async next(): Promise<Held | undefined> {
    const ticket = await this.queues.connection.get(this.calls.ticketKey);
    if (ticket !== this.lastTicket || Date.now() - this.lastScan >= FULL_SCAN_MS) {
      this.lastTicket = ticket;
      this.lastScan = Date.now();
      this.empty.clear();
      for (const id of await this.queues.connection.smembers(this.calls.clientsKey)) this.worker(id);
    }
    for (;;) {
      const candidates = [...this.workers.keys()].filter((c) => !this.empty.has(c));
      if (candidates.length === 0 || this.stopping) return undefined;
      const clientId = this.pick(candidates);
      const token = randomUUID();
      const job = (await this.worker(clientId).getNextJob(token, { block: false })) as
        Job<CallJobData, null> | undefined;
      if (job !== undefined) return { job, token, clientId };
      this.empty.add(clientId);
    }
  }

  /** Smooth weighted round robin (as nginx balances upstreams): shares follow budgetWeight. */
  private pick(candidates: readonly string[]): string {
    let total = 0;
    let best = candidates[0] as string;
    for (const c of candidates) {
      const w = this.clients.get(c)?.budgetWeight ?? 1;
      total += w;
      this.credit.set(c, (this.credit.get(c) ?? 0) + w);
      if ((this.credit.get(c) ?? 0) > (this.credit.get(best) ?? 0)) best = c;
    }
    this.credit.set(best, (this.credit.get(best) ?? 0) - total);
    return best;
  }

  private async idle(): Promise<void> {
    const start = Date.now();
    while (!this.stopping && Date.now() - start < FULL_SCAN_MS) {
      await sleep(TICKET_POLL_MS);
      if ((await this.queues.connection.get(this.calls.ticketKey)) !== this.lastTicket) return;
    }
  }

  private async dispatch(h: Held): Promise<void> {
    const { job, token } = h;
    const id = job.id ?? job.data.callId;
    this.held.set(id, h);
    try {
      // Typed as always set; BullMQ sets it only on a job that stalled too often.
      const deferred = (job as { deferredFailure?: string }).deferredFailure;
      if (deferred !== undefined && deferred !== '') {
        await job.moveToFailed(new UnrecoverableError(deferred), token, false);
        this.held.delete(id);
        await this.settleAbandoned(h, deferred);
        return;
      }
      const call = await this.calls.load(job.data.callId);
      let grant: AcquireResult | undefined;
      if (call !== undefined && (call.state === 'pending' || call.state === 'verified-absent')) {
        if (await this.shouldWait(call)) {
          await job.moveToDelayed(Date.parse(call.createdAt) + this.lingerMs, token);
          this.held.delete(id);
          return;
        }
        // The budget unit first, the seal after: the call takes every pair that joined until now.
        try {
          grant = await this.limiter.acquire(this.abort.signal);
        } catch (e) {
          if (!(e instanceof IdnRateLimitedError)) throw e;
          await job.moveToWait(token);
          this.held.delete(id);
          return;
        }
      }
      this.spawn(h, grant);
    } catch (e) {
      this.held.delete(id);
      throw e;
    }
  }

  /** Waits for company only while pairs outpace the budget (they would wait for it anyway). */
  private async shouldWait(call: StoredCall): Promise<boolean> {
    if (!call.open) return false;
    const max = this.config.idn.maxIdentitiesPerCall;
    const full =
      call.identities >= max || call.entitlements >= 25 || (call.entitlements > 0 && call.identities >= 10);
    if (full || Date.now() - Date.parse(call.createdAt) >= this.lingerMs) return false;
    return (await this.recentDemand()) >= this.config.idn.rateLimitMax;
  }

  private async recentDemand(): Promise<number> {
    const now = Date.now();
    if (now - this.demand.at < DEMAND_CACHE_MS) return this.demand.pairs;
    const seconds = Math.ceil(this.config.idn.rateLimitWindowMs / 1000);
    const current = Math.floor(now / 1000);
    const keys = Array.from({ length: seconds }, (_, i) => this.calls.demandKey(current - i));
    const values = await this.queues.connection.mget(...keys);
    this.demand = { at: now, pairs: values.reduce((sum, v) => sum + Number(v ?? 0), 0) };
    return this.demand.pairs;
  }

  private spawn(h: Held, grant: AcquireResult | undefined): void {
    const id = h.job.id ?? h.job.data.callId;
    const p = this.pass(h, grant)
      .catch((e: unknown) => {
        this.logger.warn(`call ${h.job.data.callId}: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => {
        this.held.delete(id);
        this.passes.delete(p);
      });
    this.passes.add(p);
  }

  private async pass(h: Held, grant: AcquireResult | undefined): Promise<void> {
    const { job, token } = h;
    const d = job.data;
    const log = this.log.child({
      callId: d.callId,
      clientId: d.clientId,
      ...(d.trackingId === undefined ? {} : { trackingId: d.trackingId }),
      ...(d.requestId === undefined ? {} : { requestId: d.requestId }),
      ...(d.traceparent === undefined ? {} : { traceparent: d.traceparent }),
    });
    let r: CallPassResult;
    try {
      r = await jobContext.run({ log }, () =>
        this.service.pass({
          callId: d.callId,
          fence: { lockKey: this.calls.callLockKey(d.clientId, d.callId), token },
          attemptsMade: job.attemptsMade,
          maxAttempts: job.opts.attempts ?? 1,
          signal: this.abort.signal,
          grant,
        }),
      );
    } catch (e) {
      await job
        .moveToFailed(e instanceof Error ? e : new Error(String(e)), token, false)
        .catch(() => undefined);
      if ((await job.getState().catch(() => undefined)) === 'failed')
        await this.settleAbandoned(h, String(e));
      return;
    }
    if (r.kind === 'lock-lost') return;
    await this.events.changed(r.touched);
    await this.queues.wakeRequests(r.completed);
    switch (r.kind) {
      case 'done':
        if (r.spawned.length > 0) await this.queues.add(r.spawned.map((callId) => ({ ...d, callId })));
        await job.moveToCompleted(null, token, false);
        return;
      case 'delay':
        await job.moveToDelayed(r.until, token);
        return;
      case 'rate-limited':
        // The client paused every process for Retry-After; the call is taken again first, no attempt used.
        await job.moveToWait(token);
        return;
      case 'retry':
        await job.moveToFailed(new RetryLaterError(r.reason, r.minDelayMs), token, false);
        return;
      default: {
        const never: never = r;
        throw new Error(`unexpected pass result ${JSON.stringify(never)}`);
      }
    }
  }

  /** Failed for good outside a pass (stalled too often): its pairs end FAILED, claims per state. */
  private async settleAbandoned(h: Held, reason: string): Promise<void> {
    const fence = { lockKey: this.calls.callLockKey(h.clientId, h.job.data.callId), token: '' };
    const changes = await this.service.abandon(h.job.data.callId, fence, reason);
    await this.events.changed(changes.touched);
    await this.queues.wakeRequests(changes.completed);
  }

  private async extendLocks(ms: number): Promise<void> {
    const byClient = new Map<string, Held[]>();
    for (const h of this.held.values()) byClient.set(h.clientId, [...(byClient.get(h.clientId) ?? []), h]);
    for (const [clientId, list] of byClient) {
      const ids = list.map((h) => h.job.id ?? h.job.data.callId);
      await this.worker(clientId)
        .extendJobLocks(
          ids,
          list.map((h) => h.token),
          ms,
        )
        .catch(() => undefined);
    }
  }

  // SIGTERM: no new calls; sends in flight get SHUTDOWN_GRACE_MS, then are aborted (their calls stay
  // in flight and are reconciled by whoever takes them over).
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.loop;
    const grace = this.config.submission.shutdownGraceMs;
    const all = (): Promise<unknown> => Promise.all([...this.passes]);
    if (
      !(await withTimeout(
        all().then(() => true),
        grace,
        () => false,
      ))
    ) {
      this.logger.warn(`in-flight calls did not finish within ${grace} ms; aborting them`);
      this.abort.abort(new Error('shutdown: grace period over'));
      await withTimeout(all(), ABORTED_CLOSE_WAIT_MS, () => undefined);
    }
    clearInterval(this.keeper);
    await Promise.all([...this.workers.values()].map((w) => w.close(true).catch(() => undefined)));
  }
}
