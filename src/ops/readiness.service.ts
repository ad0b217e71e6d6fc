import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { withTimeout } from '../common/with-timeout';
import { REDIS } from '../redis/redis.tokens';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

export interface ReadinessContributor {
  readonly name: string;
  check(): Promise<string | undefined> | string | undefined;
}

const CHECK_TIMEOUT_MS = 1_000;

// Managed Redis services often disable CONFIG: then the process stays ready and says so, since
// refusing traffic forever would be worse than trusting the operator's setting.
const CONFIG_UNAVAILABLE = /unknown command|NOPERM|no permissions|not allowed|disabled/i;
const OK_PREFIX = 'ok';

function passes(text: string): boolean {
  return text === OK_PREFIX || text.startsWith(`${OK_PREFIX} (`);
}

@Injectable()
export class ReadinessService implements OnModuleDestroy, BeforeApplicationShutdown {
  private shuttingDown = false;
  private readonly contributors: ReadinessContributor[] = [];

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  register(contributor: ReadinessContributor): void {
    this.contributors.push(contributor);
  }

  /** The first shutdown hook Nest calls: load balancers see 503 while in-flight work drains. */
  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  async check(): Promise<ReadinessReport> {
    const checks: Record<string, string> = {};
    checks.shutdown = this.shuttingDown ? 'shutting down' : 'ok';
    checks.redis = await this.redisProblem().then(
      (p) => p ?? 'ok',
      (e: unknown) => `unreachable: ${e instanceof Error ? e.message : 'error'}`,
    );
    for (const c of this.contributors) {
      // Several contributors may share a name (the workers): the first problem is the one shown.
      const problem = await c.check();
      if (problem !== undefined || checks[c.name] === undefined) checks[c.name] ??= problem ?? 'ok';
      if (problem !== undefined && checks[c.name] === 'ok') checks[c.name] = problem;
    }
    return { ready: Object.values(checks).every(passes), checks };
  }

  /** BullMQ loses jobs if Redis may evict keys, so anything but noeviction is "not ready". */
  private async redisProblem(): Promise<string | undefined> {
    if (this.redis.status !== 'ready') return `unreachable (connection ${this.redis.status})`;
    return withTimeout(this.evictionProblem(), CHECK_TIMEOUT_MS, () => {
      throw new Error('timed out');
    });
  }

  private async evictionProblem(): Promise<string | undefined> {
    let reply: unknown;
    try {
      reply = await this.redis.config('GET', 'maxmemory-policy');
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!CONFIG_UNAVAILABLE.test(message)) throw e;
      await this.redis.ping();
      return `${OK_PREFIX} (maxmemory-policy cannot be checked: CONFIG is not available on this Redis; make sure it is noeviction)`;
    }
    const policy = Array.isArray(reply) ? (reply as unknown[])[1] : undefined;
    if (typeof policy === 'string' && policy !== 'noeviction') {
      return `maxmemory-policy is ${policy}; BullMQ needs noeviction`;
    }
    return undefined;
  }
}
