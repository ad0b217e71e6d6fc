import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from '../redis/redis.module';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

/** Anything else that must be up for this process to take traffic (e.g. the worker's consumers). */
export interface ReadinessContributor {
  readonly name: string;
  check(): Promise<string | undefined> | string | undefined;
}

const CHECK_TIMEOUT_MS = 1_000;

@Injectable()
export class ReadinessService implements BeforeApplicationShutdown {
  private shuttingDown = false;
  private readonly contributors: ReadinessContributor[] = [];

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  register(contributor: ReadinessContributor): void {
    this.contributors.push(contributor);
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
      checks[c.name] = (await c.check()) ?? 'ok';
    }
    return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
  }

  /** BullMQ loses jobs if Redis may evict keys, so anything but noeviction is "not ready". */
  private async redisProblem(): Promise<string | undefined> {
    if (this.redis.status !== 'ready') return `unreachable (connection ${this.redis.status})`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error('timed out'));
      }, CHECK_TIMEOUT_MS);
    });
    try {
      const reply = (await Promise.race([this.redis.config('GET', 'maxmemory-policy'), timeout])) as string[];
      const policy = reply[1];
      if (policy !== undefined && policy !== 'noeviction') {
        return `maxmemory-policy is ${policy}; BullMQ needs noeviction`;
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
