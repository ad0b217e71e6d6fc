import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PINO_LOGGER, type PinoLogger } from '../ops/logger';
import { MetricsService, type AuthSurface } from '../ops/metrics.service';
import { type LuaScript, luaScript } from '../redis/redis-scripts';
import { redisKey } from '../redis/redis.keys';
import { withRedisTimeout } from '../redis/redis-timeout';
import { REDIS } from '../redis/redis.tokens';
import { clientAddress } from './client-address';

const COUNT_FAILURE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`;

/** Bounds the memory an attacker with many addresses can make us spend; expired entries go first. */
const MAX_REMEMBERED_LOCKOUTS = 10_000;

/** Failures counted in Redis (shared by all processes); a success never touches Redis (docs/security.md). */
@Injectable()
export class AuthThrottleService {
  private readonly lockouts = new Map<string, number>();
  private readonly countFailure: LuaScript<[number, number]>;
  private readonly prefix: string;
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly log: PinoLogger,
  ) {
    this.countFailure = luaScript(redis, 'authFailureCount', COUNT_FAILURE);
    this.prefix = config.redis.prefix;
    this.limit = config.auth.failuresPerWindow;
    this.windowMs = config.auth.failureWindowMs;
  }

  /** Takes the request: parsing X-Forwarded-For (TRUST_PROXY) is only worth it once there is a lockout. */
  retryAfter(caller: { readonly ip: string }, nowMs = Date.now()): number | undefined {
    if (this.lockouts.size === 0) return undefined;
    const address = clientAddress(caller.ip);
    const until = this.lockouts.get(address);
    if (until === undefined) return undefined;
    if (until <= nowMs) {
      this.lockouts.delete(address);
      return undefined;
    }
    return Math.max(1, Math.ceil((until - nowMs) / 1000));
  }

  /** Returns Retry-After once over the limit; Redis unreachable: not counted (the answer stays 401). */
  async failed(caller: { readonly ip: string }, surface: AuthSurface): Promise<number | undefined> {
    this.metrics.authFailure(surface);
    const address = clientAddress(caller.ip);
    let count: number;
    let ttlMs: number;
    try {
      [count, ttlMs] = await withRedisTimeout(
        this.countFailure([redisKey(this.prefix, 'auth-failures', address)], [this.windowMs]),
      );
    } catch {
      return undefined;
    }
    if (count <= this.limit) return undefined;
    if (count === this.limit + 1) {
      this.metrics.authLockout(surface);
      // The address goes to the log, never to a metric label (one series per attacker).
      this.log.warn({ component: 'auth', address, surface, lockedForMs: ttlMs }, 'address locked out');
    }
    const remainingMs = ttlMs > 0 ? ttlMs : this.windowMs;
    this.remember(address, Date.now() + remainingMs);
    return Math.max(1, Math.ceil(remainingMs / 1000));
  }

  private remember(address: string, until: number): void {
    if (this.lockouts.size >= MAX_REMEMBERED_LOCKOUTS && !this.lockouts.has(address)) {
      const now = Date.now();
      for (const [a, u] of this.lockouts) if (u <= now) this.lockouts.delete(a);
      if (this.lockouts.size >= MAX_REMEMBERED_LOCKOUTS) {
        const oldest = this.lockouts.keys().next().value;
        if (oldest !== undefined) this.lockouts.delete(oldest);
      }
    }
    this.lockouts.set(address, until);
  }
}
