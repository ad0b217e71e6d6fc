import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import { BudgetShare } from './budget-share';
import { LifecycleService, type StatusReader } from './lifecycle.service';

class LeaseLost extends Error {}

/** Sweeps every IDN_STATUS_POLL_MS in the one process holding the lease; any process takes over a lapsed one. */
@Injectable()
export class LifecyclePoller implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('LifecyclePoller');
  readonly holderId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly leaseMs: number;
  private readonly share: BudgetShare;
  private readonly stop = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private holding = false;
  private nextSweepAt = 0;
  private sweeping: Promise<void> | undefined;

  constructor(
    @Inject(LifecycleService) private readonly lifecycle: LifecycleService,
    @Inject(IdentityNowClient) private readonly client: IdentityNowClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const { pollMs, budgetPercent } = config.lifecycle;
    // Long enough to outlive a status call and a wait for the budget between two renewals.
    this.leaseMs = 2 * pollMs + 2 * config.idn.timeoutMs;
    const { rateLimitMax, rateLimitWindowMs } = config.idn;
    this.share = new BudgetShare(
      Math.max(1, Math.floor((rateLimitMax * budgetPercent) / 100)),
      rateLimitWindowMs,
    );
  }

  onApplicationBootstrap(): void {
    // Often enough that a sweep starts close to its time and the lease is renewed well before it lapses.
    const every = Math.max(50, Math.min(5_000, this.config.lifecycle.pollMs / 4, this.leaseMs / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stop.signal.aborted) return;
    this.ticking = true;
    try {
      const held = await this.lifecycle.store.holdLease(this.holderId, this.leaseMs);
      if (held && !this.holding) this.nextSweepAt = Date.now() + this.config.lifecycle.pollMs;
      this.holding = held;
      if (held && this.sweeping === undefined && Date.now() >= this.nextSweepAt) {
        this.nextSweepAt = Date.now() + this.config.lifecycle.pollMs;
        this.sweeping = this.sweepOnce().finally(() => {
          this.sweeping = undefined;
        });
      }
    } catch (e) {
      this.holding = false;
      this.logger.warn(`lease: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.ticking = false;
    }
  }

  private async sweepOnce(): Promise<void> {
    const signal = this.stop.signal;
    const read: StatusReader = async (query) => {
      await this.share.take(signal);
      if (signal.aborted || !this.holding) throw new LeaseLost('the lease is gone');
      try {
        return await this.client.listAccessRequestStatus(query, { signal });
      } finally {
        this.share.done();
      }
    };
    try {
      const r = await this.lifecycle.sweep(read);
      if (r.feedPages + r.idReads > 0 || r.changed > 0) {
        this.logger.log(
          `sweep: ${r.followed} followed, ${r.feedPages} feed pages, ${r.idReads} reads by id, ${r.changed} changed`,
        );
      }
    } catch (e) {
      if (signal.aborted) return;
      this.logger.warn(`sweep ended early: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stop.abort();
    await this.sweeping;
    if (this.holding) await this.lifecycle.store.releaseLease(this.holderId).catch(() => undefined);
  }
}
