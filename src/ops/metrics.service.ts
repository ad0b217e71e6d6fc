import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/** Pinned by the contract: every metric the gateway exports starts with this. */
export const METRIC_PREFIX = 'gateway_';

/**
 * Label values are closed sets on purpose: a label whose values come from requests (identity ids,
 * item ids, tracking ids, free text) would create one series per value and leak data into metrics.
 */
export type PairOutcome = 'submitted' | 'duplicate' | 'failed';
/** What one processing attempt of a job ended as. `retry` = this attempt failed and the job will run again. */
export type JobOutcome = 'submitted' | 'partially_submitted' | 'duplicate' | 'failed' | 'retry';
/** IdentityNow operations the client performs. */
export type IdnOperation = 'token' | 'submit' | 'status';
export type TokenRefreshResult = 'ok' | 'error';
/**
 * After an ambiguous failure the worker reads IdentityNow's status: `found` = some submissions
 * already exist there (skipped), `not_found` = none (resubmit), `error` = the read failed.
 */
export type ReconciliationResult = 'found' | 'not_found' | 'error';
export type RejectionReason =
  | 'invalid_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'idempotency_in_progress'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'idempotency_mismatch'
  | 'quota_exceeded'
  | 'unavailable'
  | 'internal_error'
  | 'other';
export type QueueState = 'waiting' | 'active' | 'delayed' | 'failed' | 'completed' | 'paused' | 'prioritized';

export const QUEUE_STATES: readonly QueueState[] = [
  'waiting',
  'active',
  'delayed',
  'failed',
  'completed',
  'paused',
  'prioritized',
];

/** Anything that can count a queue's jobs (a BullMQ `Queue` fits). */
export interface JobCountSource {
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

/** How much of the global IdentityNow call budget the current sliding window has used. */
export interface RateLimitBudget {
  readonly used: number;
  readonly max: number;
}

/** Scrape-time collectors must not hang a scrape when Redis is slow or gone. */
const PROBE_TIMEOUT_MS = 1_000;

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

async function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error('timed out'));
        }, PROBE_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `200` → `2xx`; anything that is not an HTTP status (a network error, a timeout) stays as given. */
export function statusClass(status: number | 'network' | 'timeout'): string {
  if (typeof status !== 'number') return status;
  return `${Math.floor(status / 100)}xx`;
}

/**
 * Every metric of the gateway, on its own registry (so several gateways in one test process never
 * collide). Callers use the typed methods; nothing outside this class names a metric.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpRequests: Counter<'method' | 'route' | 'status' | 'client'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_class'>;
  private readonly accepted: Counter<'client' | 'replayed'>;
  private readonly rejected: Counter<'client' | 'reason'>;
  private readonly queueJobs: Gauge<'queue' | 'state'>;
  private readonly queueScrapeErrors: Counter<'queue'>;
  private readonly jobDuration: Histogram<'outcome'>;
  private readonly pairs: Counter<'outcome'>;
  private readonly idnRequests: Counter<'operation' | 'status_class'>;
  private readonly idnDuration: Histogram<'operation' | 'status_class'>;
  private readonly idnRateLimited: Counter;
  private readonly idnRetryAfter: Histogram;
  private readonly idnPaused: Counter;
  private readonly idnBudgetWait: Counter;
  private readonly budgetUsed: Gauge;
  private readonly budgetMax: Gauge;
  private readonly tokenRefreshes: Counter<'result'>;
  private readonly reconciliations: Counter<'result'>;

  private readonly queues = new Map<string, JobCountSource>();
  private budgetProbe: (() => Promise<RateLimitBudget>) | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    collectDefaultMetrics({ register: this.registry, prefix: p });

    new Gauge({
      name: `${p}info`,
      help: 'Always 1; labels say which role this process runs',
      labelNames: ['role'],
      registers,
    }).set({ role: config.role }, 1);

    this.httpRequests = new Counter({
      name: `${p}http_requests_total`,
      help: 'HTTP requests answered, by route template, method, status code and calling client',
      labelNames: ['method', 'route', 'status', 'client'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route', 'status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.accepted = new Counter({
      name: `${p}access_requests_accepted_total`,
      help: 'Access requests answered 202 (replayed = an Idempotency-Key replay, nothing new queued)',
      labelNames: ['client', 'replayed'],
      registers,
    });
    this.rejected = new Counter({
      name: `${p}access_requests_rejected_total`,
      help: 'Access requests refused, by reason',
      labelNames: ['client', 'reason'],
      registers,
    });

    const queues = this.queues;
    // prom-client collects all metrics of a scrape concurrently; the error counter waits for this
    // scrape's queue count so a failure shows in the same scrape, not one later.
    let counting: Promise<void> = Promise.resolve();
    const failures: string[] = [];
    this.queueJobs = new Gauge({
      name: `${p}queue_jobs`,
      help: 'Jobs in the queue by state, counted at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      collect() {
        // Stale numbers are worse than none: drop the old series, then count afresh.
        this.reset();
        counting = (async () => {
          for (const [name, source] of queues) {
            try {
              const counts = await withTimeout(source.getJobCounts(...QUEUE_STATES));
              for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
            } catch {
              failures.push(name);
            }
          }
        })();
        return counting;
      },
    });
    this.queueScrapeErrors = new Counter({
      name: `${p}queue_scrape_errors_total`,
      help: 'Scrapes that could not count the jobs of a queue (Redis slow or unreachable)',
      labelNames: ['queue'],
      registers,
      async collect() {
        await counting;
        for (const name of failures.splice(0)) this.inc({ queue: name });
      },
    });

    this.jobDuration = new Histogram({
      name: `${p}job_processing_duration_seconds`,
      help: 'Time one processing attempt of a submission job took, by outcome',
      labelNames: ['outcome'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.pairs = new Counter({
      name: `${p}pairs_total`,
      help: 'Identity-item pairs by final outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.idnRequests = new Counter({
      name: `${p}identitynow_requests_total`,
      help: 'Calls to IdentityNow by operation and status class (2xx, 4xx, 5xx, network, timeout)',
      labelNames: ['operation', 'status_class'],
      registers,
    });
    this.idnDuration = new Histogram({
      name: `${p}identitynow_request_duration_seconds`,
      help: 'Latency of calls to IdentityNow',
      labelNames: ['operation', 'status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.idnRateLimited = new Counter({
      name: `${p}identitynow_rate_limited_total`,
      help: '429 answers received from IdentityNow',
      registers,
    });
    this.idnRetryAfter = new Histogram({
      name: `${p}identitynow_retry_after_seconds`,
      help: 'Retry-After that IdentityNow sent with its 429s',
      buckets: [1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.idnPaused = new Counter({
      name: `${p}identitynow_paused_seconds_total`,
      help: 'Time calls of this process waited because IdentityNow throttled us (a 429 pause)',
      registers,
    });
    this.idnBudgetWait = new Counter({
      name: `${p}identitynow_budget_wait_seconds_total`,
      help: 'Time calls of this process waited for room in the global rate-limit window',
      registers,
    });
    const budget = (): (() => Promise<RateLimitBudget>) | undefined => this.budgetProbe;
    const budgetMax = (this.budgetMax = new Gauge({
      name: `${p}identitynow_rate_limit_budget_max`,
      help: 'Calls allowed to IdentityNow per sliding window (IDN_RATE_LIMIT_MAX), all processes together',
      registers,
    }));
    budgetMax.set(config.idn.rateLimitMax);
    this.budgetUsed = new Gauge({
      name: `${p}identitynow_rate_limit_budget_used`,
      help: 'Calls to IdentityNow in the current sliding window, all processes together (read at scrape)',
      registers,
      async collect() {
        const probe = budget();
        if (probe === undefined) return;
        try {
          const b = await withTimeout(probe());
          this.set(b.used);
          budgetMax.set(b.max);
        } catch {
          this.reset();
        }
      },
    });
    this.tokenRefreshes = new Counter({
      name: `${p}identitynow_token_refreshes_total`,
      help: 'Access tokens fetched from IdentityNow, by result',
      labelNames: ['result'],
      registers,
    });
    this.reconciliations = new Counter({
      name: `${p}reconciliations_total`,
      help: 'Status reads after an ambiguous failure, by result',
      labelNames: ['result'],
      registers,
    });
  }

  // ---- HTTP edge (wired by ops itself) ----

  httpRequest(method: string, route: string, status: number, client: string, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status), client });
    this.httpDuration.observe({ method, route, status_class: statusClass(status) }, seconds);
  }

  accessRequestAccepted(client: string, replayed: boolean): void {
    this.accepted.inc({ client, replayed: String(replayed) });
  }

  accessRequestRejected(client: string, reason: RejectionReason): void {
    this.rejected.inc({ client, reason });
  }

  // ---- queue ----

  /** Counts this queue's jobs by state on every scrape. Registering the same name again replaces it. */
  watchQueue(name: string, source: JobCountSource): void {
    this.queues.set(name, source);
  }

  // ---- worker ----

  /** One processing attempt of a job ended (call once per attempt, with its wall time). */
  jobProcessed(outcome: JobOutcome, seconds: number): void {
    this.jobDuration.observe({ outcome }, seconds);
  }

  /** Final outcome of `count` pairs (call when a pair's outcome is recorded, not per attempt). */
  pairOutcome(outcome: PairOutcome, count = 1): void {
    if (count > 0) this.pairs.inc({ outcome }, count);
  }

  reconciliation(result: ReconciliationResult): void {
    this.reconciliations.inc({ result });
  }

  // ---- IdentityNow client ----

  /** One HTTP call to IdentityNow finished: its status code (or `network`/`timeout`) and its latency. */
  idnCall(operation: IdnOperation, status: number | 'network' | 'timeout', seconds: number): void {
    const labels = { operation, status_class: statusClass(status) };
    this.idnRequests.inc(labels);
    this.idnDuration.observe(labels, seconds);
  }

  /** IdentityNow answered 429; `retryAfterMs` is what its Retry-After asked for. */
  rateLimited(retryAfterMs: number): void {
    this.idnRateLimited.inc();
    this.idnRetryAfter.observe(Math.max(0, retryAfterMs) / 1000);
  }

  /** A call waited `ms` because of a 429 pause (its own or another process's). */
  pausedFor(ms: number): void {
    if (ms > 0) this.idnPaused.inc(ms / 1000);
  }

  /** A call waited `ms` for room in the sliding rate-limit window. */
  budgetWaitedFor(ms: number): void {
    if (ms > 0) this.idnBudgetWait.inc(ms / 1000);
  }

  /** Read at every scrape (with a timeout) to export how much of the window is in use. */
  setRateLimitBudgetProbe(probe: () => Promise<RateLimitBudget>): void {
    this.budgetProbe = probe;
  }

  tokenRefresh(result: TokenRefreshResult = 'ok'): void {
    this.tokenRefreshes.inc({ result });
  }

  // ---- exposition ----

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
