import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CountTable, FoldedHistogram } from './folded-metrics';
import { ScrapeCollectors, type JobCountSource, type RateLimitBudget } from './scrape.collectors';

/** Pinned by the contract: every metric the gateway exports starts with this. */
export const METRIC_PREFIX = 'gateway_';

// Label values are closed sets: values taken from requests (ids, free text) would make a series each
// and leak data into metrics.
export type PairOutcome = 'submitted' | 'duplicate' | 'failed' | 'cancelled';
/** What one processing attempt of a job ended as. `retry` = this attempt failed and the job will run again. */
export type JobOutcome = 'submitted' | 'partially_submitted' | 'duplicate' | 'cancelled' | 'failed' | 'retry';
/** IdentityNow operations the client performs. */
export type IdnOperation = 'token' | 'submit' | 'status' | 'cancel';
export type TokenRefreshResult = 'ok' | 'error';
/** The status read after an ambiguous failure: `found` = already submitted upstream, `not_found` = resubmit. */
export type ReconciliationResult = 'found' | 'not_found' | 'error';
/** Where a caller failed to authenticate: client routes, `/oauth/token`, or the admin surface. */
export type AuthSurface = 'client' | 'token' | 'admin';
/** One webhook delivery attempt: `retried` = it failed and another follows; `given_up` = the last one failed. */
export type WebhookOutcome = 'delivered' | 'retried' | 'given_up';
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
  | 'auth_throttled'
  | 'unavailable'
  | 'internal_error'
  | 'other';

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

export function statusClass(status: number | 'network' | 'timeout'): string {
  if (typeof status !== 'number') return status;
  return `${Math.floor(status / 100)}xx`;
}

/** Every metric of the gateway; its own registry, so that gateways in one test process never collide. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  // Updated on every request: plain counts, read by prom-client at scrape time (folded-metrics.ts).
  private readonly httpRequests = new CountTable<'method' | 'route' | 'status' | 'client'>();
  private readonly httpDuration: FoldedHistogram<'method' | 'route' | 'status_class'>;
  private readonly accepted = new CountTable<'client' | 'replayed'>();
  private readonly rejected = new CountTable<'client' | 'reason'>();
  private readonly jobDuration: Histogram<'outcome'>;
  private readonly pairs: Counter<'outcome'>;
  private readonly idnRequests: Counter<'operation' | 'status_class'>;
  private readonly idnDuration: Histogram<'operation' | 'status_class'>;
  private readonly idnRateLimited: Counter;
  private readonly idnRetryAfter: Histogram;
  private readonly idnPaused: Counter;
  private readonly idnBudgetWait: Counter;
  private readonly tokenRefreshes: Counter<'result'>;
  private readonly reconciliations: Counter<'result'>;
  private readonly authFailures: Counter<'surface'>;
  private readonly authLockouts: Counter<'surface'>;
  private readonly pairsPerCallHistogram: Histogram;
  private readonly webhookDeliveries: Counter<'client' | 'outcome'>;

  private readonly scraped: ScrapeCollectors;

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

    const { httpRequests, accepted, rejected } = this;
    new Counter({
      name: `${p}http_requests_total`,
      help: 'HTTP requests answered, by route template, method, status code and calling client',
      labelNames: ['method', 'route', 'status', 'client'],
      registers,
      collect() {
        httpRequests.foldInto(this);
      },
    });
    this.httpDuration = new FoldedHistogram(
      `${p}http_request_duration_seconds`,
      'Time to answer an HTTP request',
      LATENCY_BUCKETS,
      this.registry,
    );
    new Counter({
      name: `${p}access_requests_accepted_total`,
      help: 'Access requests answered 202 (replayed = an Idempotency-Key replay, nothing new queued)',
      labelNames: ['client', 'replayed'],
      registers,
      collect() {
        accepted.foldInto(this);
      },
    });
    new Counter({
      name: `${p}access_requests_rejected_total`,
      help: 'Access requests refused, by reason',
      labelNames: ['client', 'reason'],
      registers,
      collect() {
        rejected.foldInto(this);
      },
    });

    this.scraped = new ScrapeCollectors(this.registry, p, config.idn.rateLimitMax);

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
    this.tokenRefreshes = new Counter({
      name: `${p}identitynow_token_refreshes_total`,
      help: 'Access tokens fetched from IdentityNow, by result',
      labelNames: ['result'],
      registers,
    });
    // No address label: one series per caller address would be unbounded and personal data.
    this.authFailures = new Counter({
      name: `${p}auth_failures_total`,
      help: 'Failed authentications (wrong or malformed credentials), by surface',
      labelNames: ['surface'],
      registers,
    });
    this.authLockouts = new Counter({
      name: `${p}auth_lockouts_total`,
      help: 'Addresses locked out (429) for going over AUTH_FAILURES_PER_MINUTE, by the surface of the failure that tipped it',
      labelNames: ['surface'],
      registers,
    });
    this.reconciliations = new Counter({
      name: `${p}reconciliations_total`,
      help: 'Status reads after an ambiguous failure, by result',
      labelNames: ['result'],
      registers,
    });
    this.pairsPerCallHistogram = new Histogram({
      name: `${p}identitynow_pairs_per_call`,
      help: 'Identity-item pairs carried by each submission sent to IdentityNow (coalescing)',
      buckets: [1, 2, 3, 5, 8, 10, 15, 20, 25, 50, 100],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: `${p}webhook_deliveries_total`,
      help: 'Webhook delivery attempts by outcome (delivered, retried, given_up) and receiving client',
      labelNames: ['client', 'outcome'],
      registers,
    });
  }

  httpRequest(method: string, route: string, status: number, client: string, seconds: number): void {
    // Label values never contain a newline (methods, route templates, client ids from the clients file).
    this.httpRequests.add(`${method}\n${route}\n${status}\n${client}`, () => ({
      method,
      route,
      status: String(status),
      client,
    }));
    const statusClass = STATUS_CLASSES[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`;
    this.httpDuration.observe(
      `${method}\n${route}\n${statusClass}`,
      () => ({ method, route, status_class: statusClass }),
      seconds,
    );
  }

  accessRequestAccepted(client: string, replayed: boolean): void {
    this.accepted.add(`${client}\n${replayed}`, () => ({ client, replayed: String(replayed) }));
  }

  accessRequestRejected(client: string, reason: RejectionReason): void {
    this.rejected.add(`${client}\n${reason}`, () => ({ client, reason }));
  }

  /** Counted by state at every scrape. */
  watchQueue(name: string, source: JobCountSource): void {
    this.scraped.watchQueue(name, source);
  }

  /** Once per attempt, with its wall time. */
  jobProcessed(outcome: JobOutcome, seconds: number): void {
    this.jobDuration.observe({ outcome }, seconds);
  }

  /** When a pair's final outcome is recorded, not per attempt. */
  pairOutcome(outcome: PairOutcome, count = 1): void {
    if (count > 0) this.pairs.inc({ outcome }, count);
  }

  authFailure(surface: AuthSurface): void {
    this.authFailures.inc({ surface });
  }

  authLockout(surface: AuthSurface): void {
    this.authLockouts.inc({ surface });
  }

  reconciliation(result: ReconciliationResult): void {
    this.reconciliations.inc({ result });
  }

  webhookDelivery(client: string, outcome: WebhookOutcome): void {
    this.webhookDeliveries.inc({ client, outcome });
  }

  idnCall(operation: IdnOperation, status: number | 'network' | 'timeout', seconds: number): void {
    const labels = { operation, status_class: statusClass(status) };
    this.idnRequests.inc(labels);
    this.idnDuration.observe(labels, seconds);
  }

  rateLimited(retryAfterMs: number): void {
    this.idnRateLimited.inc();
    this.idnRetryAfter.observe(Math.max(0, retryAfterMs) / 1000);
  }

  /** A call waited `ms` on a 429 pause, its own or another process's. */
  pausedFor(ms: number): void {
    if (ms > 0) this.idnPaused.inc(ms / 1000);
  }

  budgetWaitedFor(ms: number): void {
    if (ms > 0) this.idnBudgetWait.inc(ms / 1000);
  }

  pairsPerCall(pairs: number): void {
    this.pairsPerCallHistogram.observe(pairs);
  }

  /** Read at every scrape, with a timeout. */
  setWaitingPairsProbe(probe: () => Promise<Record<string, number>>): void {
    this.scraped.setWaitingPairsProbe(probe);
  }

  /** Read at every scrape, with a timeout. */
  setRateLimitBudgetProbe(probe: () => Promise<RateLimitBudget>): void {
    this.scraped.setRateLimitBudgetProbe(probe);
  }

  tokenRefresh(result: TokenRefreshResult = 'ok'): void {
    this.tokenRefreshes.inc({ result });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
