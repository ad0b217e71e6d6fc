import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import { RateLimiterService, type RateLimiterStats } from '../identitynow/rate-limiter.service';
import { TokenProvider } from '../identitynow/token.provider';
import { jobContext } from './job-context';
import { PINO_LOGGER, type PinoLogger } from './logger';
import { MetricsService } from './metrics.service';

const STATS_INTERVAL_MS = 5_000;

const OPERATION = {
  createAccessRequest: 'submit',
  listAccessRequestStatus: 'status',
  cancelAccessRequest: 'cancel',
} as const;

/** The IdentityNow client's hooks into Prometheus, so src/identitynow/ stays free of metrics code. */
@Injectable()
export class IdentityNowMetricsBridge implements OnModuleInit, OnApplicationShutdown {
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last: RateLimiterStats | undefined;

  constructor(
    private readonly client: IdentityNowClient,
    private readonly tokens: TokenProvider,
    private readonly limiter: RateLimiterService,
    private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly log: PinoLogger,
  ) {}

  onModuleInit(): void {
    this.unsubscribe.push(
      this.client.onCall((e) => {
        const status = e.status ?? (e.outcome === 'retryable' ? 'timeout' : 'network');
        this.metrics.idnCall(OPERATION[e.operation], status, e.durationMs / 1000);
        // Logged in the job's context: the line carries the HTTP request's id and traceparent.
        const log = jobContext.getStore()?.log ?? this.log;
        log[e.outcome === 'ok' ? 'info' : 'warn'](
          {
            operation: e.operation,
            status: e.status ?? null,
            outcome: e.outcome,
            durationMs: e.durationMs,
            retry: e.attempt,
          },
          'identitynow call',
        );
        if (e.status === 429) this.metrics.rateLimited(e.retryAfterMs ?? 0);
      }),
      this.tokens.onRefresh((e) => {
        this.metrics.tokenRefresh(e.ok ? 'ok' : 'error');
        this.metrics.idnCall('token', e.ok ? 200 : 'network', e.durationMs / 1000);
      }),
    );
    this.metrics.setRateLimitBudgetProbe(async () => ({
      used: await this.limiter.used(),
      max: this.limiter.budget.max,
    }));
    this.timer = setInterval(() => {
      this.flushStats();
    }, STATS_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.flushStats();
    this.unsubscribe.forEach((u) => {
      u();
    });
  }

  private flushStats(): void {
    const now = this.limiter.stats();
    const before = this.last;
    this.last = now;
    if (before === undefined) {
      this.metrics.budgetWaitedFor(now.waitedMs);
      this.metrics.pausedFor(now.pausedMs);
      return;
    }
    this.metrics.budgetWaitedFor(now.waitedMs - before.waitedMs);
    this.metrics.pausedFor(now.pausedMs - before.pausedMs);
  }
}
