import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import { type LuaScript, luaScript } from '../redis/redis-scripts';
import { type IdnOperation, IdnRateLimitedError } from './identitynow.errors';
import type { IdnRedis } from './identitynow.tokens';

type Triple = readonly [number, number, number];

// The budget's design (a sliding-window log scored by when each call can no longer be arriving,
// Redis TIME only): see docs/architecture.md, "IdentityNow client and the global budget".
const ACQUIRE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local pausedUntil = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if pausedUntil > now then
  return {0, pausedUntil - now, 1}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
local n = redis.call('ZCARD', KEYS[1])
if n < max then
  local hold = tonumber(ARGV[4])
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], tonumber(last[2]) - now + window + 1000)
  return {1, now, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, n - max, 'WITHSCORES')
-- An in-flight call may complete any moment: sleeping until this lower bound never wakes late.
local s = tonumber(oldest[#oldest])
if s > now then s = now end
local wait = s + window + 1 - now
if wait < 1 then wait = 1 end
return {0, wait, 0}
`;

// KEYS[1] = call log, ARGV[1] = a grant that was never used: its slot goes back to the budget.
const RELEASE_LUA = `return redis.call('ZREM', KEYS[1], ARGV[1])`;

const COMPLETE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) >= now - window then
  redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], tonumber(last[2]) - now + window + 1000)
  return {1, now, 0}
end
return {0, now, 0}
`;

const PAUSE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current > untilMs then untilMs = current end
redis.call('SET', KEYS[1], untilMs, 'PX', untilMs - now + 1000)
return untilMs - now
`;

const USED_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`;

const PAUSE_LEFT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current > now then return current - now end
return 0
`;

export interface RateLimiterOptions {
  /** Beyond it the job is put back (no attempt used) instead of holding a worker slot. */
  readonly maxWaitMs: number;
  /** A pause set elsewhere can end or grow while one sleeps. */
  readonly maxSleepMs: number;
  /** Slot held by a call nobody completes (its process died): a token refresh plus the call. */
  readonly inFlightHoldMs: number;
}

export interface AcquireResult {
  readonly grantedAt: number;
  readonly id: string;
}

export interface RateLimiterStats {
  readonly granted: number;
  readonly waitedMs: number;
  readonly pausedMs: number;
  readonly gaveUp: number;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The one budget for calls to IdentityNow across all processes, and the pause a 429 sets. */
export class RateLimiterService {
  readonly windowKey: string;
  readonly pauseKey: string;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly options: RateLimiterOptions;
  private readonly instanceId = randomUUID();
  private seq = 0;
  private readonly counters = { granted: 0, waitedMs: 0, pausedMs: 0, gaveUp: 0 };
  private readonly acquireScript: LuaScript<Triple>;
  private readonly completeScript: LuaScript<Triple>;
  private readonly pauseScript: LuaScript<number>;
  private readonly pauseLeftScript: LuaScript<number>;
  private readonly usedScript: LuaScript<number>;
  private readonly releaseScript: LuaScript<number>;

  constructor(config: AppConfig, redis: IdnRedis, options?: Partial<RateLimiterOptions>) {
    this.acquireScript = luaScript(redis, 'idnAcquire', ACQUIRE_LUA);
    this.completeScript = luaScript(redis, 'idnComplete', COMPLETE_LUA);
    this.pauseScript = luaScript(redis, 'idnPause', PAUSE_LUA);
    this.pauseLeftScript = luaScript(redis, 'idnPauseLeft', PAUSE_LEFT_LUA);
    this.usedScript = luaScript(redis, 'idnUsed', USED_LUA);
    this.releaseScript = luaScript(redis, 'idnRelease', RELEASE_LUA);
    const prefix = config.redis.prefix;
    this.windowKey = redisKey(prefix, 'idn', 'rl');
    this.pauseKey = redisKey(prefix, 'idn', 'paused-until');
    this.max = config.idn.rateLimitMax;
    this.windowMs = config.idn.rateLimitWindowMs;
    this.options = {
      maxWaitMs: options?.maxWaitMs ?? Math.max(3 * this.windowMs, 30_000),
      maxSleepMs: options?.maxSleepMs ?? 1_000,
      inFlightHoldMs: options?.inFlightHoldMs ?? 2 * config.idn.timeoutMs,
    };
  }

  get budget(): { readonly max: number; readonly windowMs: number } {
    return { max: this.max, windowMs: this.windowMs };
  }

  stats(): RateLimiterStats {
    return { ...this.counters };
  }

  /** Waits for a slot and counts the call; IdnRateLimitedError beyond `maxWaitMs`. */
  async acquire(
    signal?: AbortSignal,
    operation: IdnOperation = 'createAccessRequest',
  ): Promise<AcquireResult> {
    const started = Date.now();
    for (;;) {
      if (signal?.aborted === true) throw abortError(signal);
      const member = `${this.instanceId}:${(this.seq += 1)}`;
      const [granted, value, paused] = await this.acquireScript(
        [this.windowKey, this.pauseKey],
        [this.max, this.windowMs, member, this.options.inFlightHoldMs],
      );
      if (granted === 1) {
        this.counters.granted += 1;
        return { grantedAt: value, id: member };
      }
      const elapsed = Date.now() - started;
      if (elapsed + value > this.options.maxWaitMs) {
        this.counters.gaveUp += 1;
        throw new IdnRateLimitedError(
          operation,
          value,
          `IdentityNow budget ${paused === 1 ? 'paused after a 429' : 'exhausted'}; next call possible in ${value} ms`,
          undefined,
        );
      }
      const ms = Math.min(value, this.options.maxSleepMs);
      const before = Date.now();
      try {
        await sleep(ms, signal);
      } finally {
        const slept = Date.now() - before;
        if (paused === 1) this.counters.pausedMs += slept;
        else this.counters.waitedMs += slept;
      }
    }
  }

  // The slot counts from now: IdentityNow counts arrivals, which come before this. Never throws: a
  // lost update holds the slot until the in-flight bound. Undefined when it had left the window.
  async complete(grant: Pick<AcquireResult, 'id'>): Promise<number | undefined> {
    try {
      const [updated, now] = await this.completeScript([this.windowKey], [grant.id, this.windowMs]);
      return updated === 1 ? now : undefined;
    } catch {
      return undefined;
    }
  }

  /** A grant taken for a call that then was not made (nothing left to send, lock lost). */
  async release(grant: Pick<AcquireResult, 'id'>): Promise<void> {
    await this.releaseScript([this.windowKey], [grant.id]).catch(() => undefined);
  }

  /** Pauses every process's calls for `ms`, never shortening a pause; returns the ms left. */
  async pauseFor(ms: number): Promise<number> {
    return this.pauseScript([this.pauseKey], [Math.max(0, Math.ceil(ms))]);
  }

  async pauseRemainingMs(): Promise<number> {
    return this.pauseLeftScript([this.pauseKey], []);
  }

  async used(): Promise<number> {
    return this.usedScript([this.windowKey], [this.windowMs]);
  }
}
