import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { GatewayClient } from '../auth/gateway-client';
import { QuotaExceededError, UnavailableError } from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { REDIS } from '../redis/redis.module';
import { redisKey } from '../redis/redis.keys';

const WINDOW_MS = 60_000;

// One round trip, atomic: count this submit and start the minute on the first one.
const INCR_WINDOW = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`;

/**
 * Per-client `requestsPerMinute`, counted in Redis so it holds across every API process. A fixed
 * one-minute window that starts at the client's first submit: cheap (one key, one script call) and
 * exact enough for fairness between apps; IdentityNow's own budget is enforced by the worker.
 */
@Injectable()
export class QuotaService {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
  }

  async consume(client: GatewayClient): Promise<void> {
    const limit = client.requestsPerMinute;
    if (limit === undefined) return;
    let result: [number, number];
    try {
      result = (await this.redis.eval(
        INCR_WINDOW,
        1,
        redisKey(this.prefix, 'quota', client.id),
        WINDOW_MS,
      )) as [number, number];
    } catch {
      throw new UnavailableError(['Redis is unavailable; nothing was accepted, retry shortly'], 5);
    }
    const [count, ttlMs] = result;
    if (count > limit) {
      throw new QuotaExceededError(
        [
          `client ${client.id} is over its quota of ${limit} requests per minute; retry after the Retry-After delay`,
        ],
        Math.max(1, Math.ceil(ttlMs / 1000)),
      );
    }
  }
}
