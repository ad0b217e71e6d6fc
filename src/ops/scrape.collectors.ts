import { Counter, Gauge, type Registry } from 'prom-client';
import { withTimeout } from '../common/with-timeout';

export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'failed',
  'completed',
  'paused',
  'prioritized',
] as const;

export interface JobCountSource {
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

export interface RateLimitBudget {
  readonly used: number;
  readonly max: number;
}

// A slow or unreachable Redis must not hang a scrape.
const PROBE_TIMEOUT_MS = 1_000;

/** The metrics read from Redis when Prometheus scrapes, rather than counted as things happen. */
export class ScrapeCollectors {
  private readonly queues = new Map<string, JobCountSource>();
  private budgetProbe: (() => Promise<RateLimitBudget>) | undefined;
  private waitingProbe: (() => Promise<Record<string, number>>) | undefined;

  constructor(registry: Registry, prefix: string, budgetMax: number) {
    const registers = [registry];
    const queues = this.queues;
    // prom-client collects a scrape's metrics concurrently; the error counter awaits this scrape's
    // count so that a failure shows in the same scrape, not the next one.
    let counting: Promise<void> = Promise.resolve();
    const failures: string[] = [];
    new Gauge({
      name: `${prefix}queue_jobs`,
      help: 'Jobs in the queue by state, counted at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      collect() {
        // Stale numbers are worse than none.
        this.reset();
        counting = (async () => {
          for (const [name, source] of queues) {
            try {
              const counts = await withTimeout(source.getJobCounts(...QUEUE_STATES), PROBE_TIMEOUT_MS);
              for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
            } catch {
              failures.push(name);
            }
          }
        })();
        return counting;
      },
    });
    new Counter({
      name: `${prefix}queue_scrape_errors_total`,
      help: 'Scrapes that could not count the jobs of a queue (Redis slow or unreachable)',
      labelNames: ['queue'],
      registers,
      async collect() {
        await counting;
        for (const name of failures.splice(0)) this.inc({ queue: name });
      },
    });

    const waiting = (): (() => Promise<Record<string, number>>) | undefined => this.waitingProbe;
    new Gauge({
      name: `${prefix}pairs_waiting`,
      help: 'Pairs waiting in calls not yet sent to IdentityNow, per client (the backlog fair share works on)',
      labelNames: ['client'],
      registers,
      async collect() {
        const read = waiting();
        if (read === undefined) return;
        this.reset();
        try {
          for (const [client, n] of Object.entries(await withTimeout(read(), PROBE_TIMEOUT_MS))) {
            this.set({ client }, Math.max(0, n));
          }
        } catch {
          // Unknown is better left empty than stale.
        }
      },
    });

    const probe = (): (() => Promise<RateLimitBudget>) | undefined => this.budgetProbe;
    const max = new Gauge({
      name: `${prefix}identitynow_rate_limit_budget_max`,
      help: 'Calls allowed to IdentityNow per sliding window (IDN_RATE_LIMIT_MAX), all processes together',
      registers,
    });
    max.set(budgetMax);
    new Gauge({
      name: `${prefix}identitynow_rate_limit_budget_used`,
      help: 'Calls to IdentityNow in the current sliding window, all processes together (read at scrape)',
      registers,
      async collect() {
        const read = probe();
        if (read === undefined) return;
        try {
          const budget = await withTimeout(read(), PROBE_TIMEOUT_MS);
          this.set(budget.used);
          max.set(budget.max);
        } catch {
          this.reset();
        }
      },
    });
  }

  /** Registering the same name again replaces the source. */
  watchQueue(name: string, source: JobCountSource): void {
    this.queues.set(name, source);
  }

  setRateLimitBudgetProbe(probe: () => Promise<RateLimitBudget>): void {
    this.budgetProbe = probe;
  }

  setWaitingPairsProbe(probe: () => Promise<Record<string, number>>): void {
    this.waitingProbe = probe;
  }
}
