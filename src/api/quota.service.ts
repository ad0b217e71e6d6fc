import { Inject, Injectable } from '@nestjs/common';
import type { AccessRequestBody } from '../access-request/access-request.types';
import type { GatewayClient } from '../clients/gateway-client';
import { ForbiddenError, QuotaExceededError, UnavailableError } from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { RedisClient } from '../redis/redis.connections';
import { REDIS } from '../redis/redis.tokens';
import { redisKey } from '../redis/redis.keys';
import { withRedisTimeout } from '../redis/redis-timeout';
import { type LuaScript, luaScript } from '../redis/redis-scripts';

const WINDOW_MS = 60_000;

// One call decides a batch in order, as that many single calls would: every submit counts toward
// requestsPerMinute; a request's pairs count toward pairsPerMinute only when it is let through.
// Per waiter: 0 = allowed, 1 = over requests, 2 = over pairs. A limit of 0 means none.
const CONSUME = `
local window, rl, pl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = #ARGV - 3
local first = 0
if rl > 0 then
  local total = redis.call('INCRBY', KEYS[1], n)
  if total == n then redis.call('PEXPIRE', KEYS[1], window) end
  first = total - n
end
local used = 0
if pl > 0 then used = tonumber(redis.call('GET', KEYS[2]) or '0') end
local out, added = {}, 0
for i = 1, n do
  local p = tonumber(ARGV[3 + i])
  if rl > 0 and first + i > rl then out[i] = 1
  elseif pl > 0 and used + added + p > pl then out[i] = 2
  else out[i] = 0; added = added + p end
end
if pl > 0 and added > 0 then
  local total = redis.call('INCRBY', KEYS[2], added)
  if total == added then redis.call('PEXPIRE', KEYS[2], window) end
end
local rttl, pttl = -1, -1
if rl > 0 then rttl = redis.call('PTTL', KEYS[1]) end
if pl > 0 then pttl = redis.call('PTTL', KEYS[2]) end
return {out, rttl, pttl}
`;

const ALLOWED = 0;
const OVER_REQUESTS = 1;

interface Waiter {
  readonly pairs: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface Batch {
  readonly client: GatewayClient;
  readonly waiters: Waiter[];
}

/** Identity-item pairs as the request lists them (repeats inside one request count each time). */
export function pairCount(body: AccessRequestBody): number {
  if (body.requestedForWithRequestedItems !== undefined) {
    return body.requestedForWithRequestedItems.reduce((n, t) => n + t.requestedItems.length, 0);
  }
  return body.requestedFor.length * body.requestedItems.length;
}

// Per-client fixed minutes from the first submit (cheap, fair enough); one script call per loop turn.
@Injectable()
export class QuotaService {
  private readonly prefix: string;
  private readonly consumeScript: LuaScript<[number[], number, number]>;
  private pending = new Map<string, Batch>();
  private scheduled = false;

  constructor(@Inject(REDIS) redis: RedisClient, @Inject(APP_CONFIG) config: AppConfig) {
    this.prefix = config.redis.prefix;
    this.consumeScript = luaScript(redis, 'quotaConsume', CONSUME);
  }

  consume(client: GatewayClient, pairs: number): Promise<void> {
    if (client.requestsPerMinute === undefined && client.pairsPerMinute === undefined) {
      return Promise.resolve();
    }
    if (client.pairsPerMinute !== undefined && pairs > client.pairsPerMinute) {
      // It would never fit, so a 429 would only make the caller retry forever.
      return Promise.reject(
        new ForbiddenError([
          `the request has ${pairs} identity-item pairs, more than client ${client.id}'s pairsPerMinute of ${client.pairsPerMinute}; split it into smaller requests`,
        ]),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let batch = this.pending.get(client.id);
      if (batch === undefined) {
        batch = { client, waiters: [] };
        this.pending.set(client.id, batch);
      }
      batch.waiters.push({ pairs, resolve, reject });
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

  private async count({ client, waiters }: Batch): Promise<void> {
    let result: [number[], number, number];
    try {
      result = await withRedisTimeout(
        this.consumeScript(
          [redisKey(this.prefix, 'quota', client.id), redisKey(this.prefix, 'quota-pairs', client.id)],
          [
            WINDOW_MS,
            client.requestsPerMinute ?? 0,
            client.pairsPerMinute ?? 0,
            ...waiters.map((w) => w.pairs),
          ],
        ),
      );
    } catch {
      for (const w of waiters) {
        w.reject(new UnavailableError(['Redis is unavailable; nothing was accepted, retry shortly'], 5));
      }
      return;
    }
    const [decisions, requestsTtlMs, pairsTtlMs] = result;
    const seconds = (ttlMs: number): number => Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : WINDOW_MS) / 1000));
    waiters.forEach((w, i) => {
      const decision = decisions[i];
      if (decision === ALLOWED) {
        w.resolve();
      } else if (decision === OVER_REQUESTS) {
        w.reject(
          new QuotaExceededError(
            [
              `client ${client.id} is over its quota of ${client.requestsPerMinute ?? 0} requests per minute; retry after the Retry-After delay`,
            ],
            seconds(requestsTtlMs),
          ),
        );
      } else {
        w.reject(
          new QuotaExceededError(
            [
              `client ${client.id} is over its quota of ${client.pairsPerMinute ?? 0} identity-item pairs per minute (this request has ${w.pairs}); retry after the Retry-After delay`,
            ],
            seconds(pairsTtlMs),
          ),
        );
      }
    });
  }
}
