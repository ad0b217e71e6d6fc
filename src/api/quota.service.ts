import { Inject, Injectable } from '@nestjs/common';
import type { GatewayClient } from '../auth/gateway-client';
import { QuotaExceededError, UnavailableError } from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { RedisClient } from '../redis/redis.connections';
import { REDIS } from '../redis/redis.tokens';
import { redisKey } from '../redis/redis.keys';
import { withRedisTimeout } from '../redis/redis-timeout';
import { type LuaScript, luaScript } from '../redis/redis-scripts';

const WINDOW_MS = 60_000;

const INCR_WINDOW = `
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`;

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface Batch {
  readonly client: GatewayClient;
  readonly limit: number;
  readonly waiters: Waiter[];
}

// Per-client `requestsPerMinute`: a fixed minute from the first submit, cheap and fair enough. Submits
// of one event-loop turn share one INCRBY n, each with its own position (the decisions of n INCRs):
// under load half the writes, and the enqueues batch in one pipeline (docs/benchmarks.md).
@Injectable()
export class QuotaService {
  private readonly prefix: string;
  private readonly incrWindow: LuaScript<[number, number]>;
  private pending = new Map<string, Batch>();
  private scheduled = false;

  constructor(@Inject(REDIS) redis: RedisClient, @Inject(APP_CONFIG) config: AppConfig) {
    this.prefix = config.redis.prefix;
    this.incrWindow = luaScript(redis, 'quotaIncrWindow', INCR_WINDOW);
  }

  consume(client: GatewayClient): Promise<void> {
    const limit = client.requestsPerMinute;
    if (limit === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let batch = this.pending.get(client.id);
      if (batch === undefined) {
        batch = { client, limit, waiters: [] };
        this.pending.set(client.id, batch);
      }
      batch.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not nextTick: it runs after every socket that is ready in this turn was read.
        setImmediate(() => {
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const batches = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const batch of batches.values()) void this.count(batch);
  }

  private async count({ client, limit, waiters }: Batch): Promise<void> {
    let result: [number, number];
    try {
      result = await withRedisTimeout(
        this.incrWindow([redisKey(this.prefix, 'quota', client.id)], [WINDOW_MS, waiters.length]),
      );
    } catch {
      for (const w of waiters) {
        w.reject(new UnavailableError(['Redis is unavailable; nothing was accepted, retry shortly'], 5));
      }
      return;
    }
    const [total, ttlMs] = result;
    const first = total - waiters.length + 1;
    waiters.forEach((w, i) => {
      if (first + i <= limit) {
        w.resolve();
        return;
      }
      w.reject(
        new QuotaExceededError(
          [
            `client ${client.id} is over its quota of ${limit} requests per minute; retry after the Retry-After delay`,
          ],
          Math.max(1, Math.ceil(ttlMs / 1000)),
        ),
      );
    });
  }
}
