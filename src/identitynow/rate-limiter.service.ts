import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import { type LuaScript, luaScript } from '../redis/redis-scripts';
import { type IdnOperation, IdnRateLimitedError } from './identitynow.errors';
import type { IdnRedis } from './identitynow.tokens';

/** {granted(1|0), grantedAt or waitMs, paused(1|0)}; complete: {updated(1|0), now, 0}. */
type Triple = readonly [number, number, number];

/**
 * One sliding-window log for all processes. KEYS[1] = sorted set of calls, KEYS[2] = paused-until
 * (ms). Time comes from Redis `TIME`, so clocks of different hosts never disagree about the window.
 * An entry's score is the time from which its call stops being "possibly still arriving": while in
 * flight that is a bound in the future (grant + ARGV[4], the longest a call can take); `complete()`
 * moves it to the time the call finished. Entries with score < now - window have left; a call is
 * admitted only while fewer than `max` entries remain, so no interval of `window` ms holds more than
 * `max` grants, and (see `complete()`) none of IdentityNow's windows more than `max` arrivals.
 * Returns {granted(1|0), grantedAt or waitMs, paused(1|0)}.
 */
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
-- A call still in flight may complete any moment: its slot frees a window after that at the earliest.
-- Sleeping until this lower bound never wakes a waiter late, whatever happens meanwhile.
local s = tonumber(oldest[#oldest])
if s > now then s = now end
local wait = s + window + 1 - now
if wait < 1 then wait = 1 end
return {0, wait, 0}
`;

/**
 * KEYS[1] = call log, ARGV[1] = the grant's member, ARGV[2] = window. Moves a finished call's entry
 * to now (Redis time): the call reached IdentityNow before this, so the entry leaves our window no
 * earlier than IdentityNow's own window forgets the call.
 */
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

/** KEYS[1] = paused-until. Extends (never shortens) the pause to now + ARGV[1] ms; returns the ms left. */
const PAUSE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current > untilMs then untilMs = current end
redis.call('SET', KEYS[1], untilMs, 'PX', untilMs - now + 1000)
return untilMs - now
`;

/** KEYS[1] = call log, ARGV[1] = window. Calls counted now: entries not yet out of the window. */
const USED_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`;

/** KEYS[1] = paused-until. Returns the ms left of the pause (0 when none). */
const PAUSE_LEFT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current > now then return current - now end
return 0
`;

export interface RateLimiterOptions {
  /**
   * Longest one `acquire` waits before giving up with IdnRateLimitedError (so a BullMQ job can be put
   * back without consuming an attempt instead of holding a worker slot). Default: 3 windows, ≥ 30 s.
   */
  readonly maxWaitMs: number;
  /** Upper bound of one sleep between polls; a pause set elsewhere can end or grow meanwhile. */
  readonly maxSleepMs: number;
  /**
   * How long a granted call may still be on its way when nobody calls `complete()` (in flight, or its
   * process died). Default 2 × IDN_TIMEOUT_MS: a token refresh and the call itself, each bounded by it.
   */
  readonly inFlightHoldMs: number;
}

export interface AcquireResult {
  /** Redis time (epoch ms) at which the call was counted. */
  readonly grantedAt: number;
  /** How long this acquire waited. */
  readonly waitedMs: number;
  /** Identifies the grant for {@link RateLimiterService.complete}. */
  readonly id: string;
}

export interface RateLimiterStats {
  /** Calls admitted by this instance. */
  readonly granted: number;
  /** Times this instance was told to wait. */
  readonly denied: number;
  /** Total time callers of this instance spent waiting for the window. */
  readonly waitedMs: number;
  /** Total time callers of this instance spent waiting for a 429 pause. */
  readonly pausedMs: number;
  /** Pauses this instance set (after 429s). */
  readonly pausesSet: number;
  /** Acquires that gave up after `maxWaitMs`. */
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

/**
 * The one global budget for calls to IdentityNow, shared through Redis by every process: at most
 * `IDN_RATE_LIMIT_MAX` calls in any interval of `IDN_RATE_LIMIT_WINDOW_MS` (a true sliding window;
 * fixed buckets could let twice the budget through around a boundary), plus a global pause that a
 * 429 sets so every process waits out `Retry-After`.
 *
 * Keys: `${QUEUE_PREFIX}:idn:rl` and `${QUEUE_PREFIX}:idn:paused-until`. Both scripts touch only
 * keys derived from the prefix, so with a hash-tag prefix such as `{arg}` they share one Cluster slot.
 */
export class RateLimiterService {
  readonly windowKey: string;
  readonly pauseKey: string;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly options: RateLimiterOptions;
  private readonly instanceId = randomUUID();
  private seq = 0;
  private readonly counters = { granted: 0, denied: 0, waitedMs: 0, pausedMs: 0, pausesSet: 0, gaveUp: 0 };
  private readonly acquireScript: LuaScript<Triple>;
  private readonly completeScript: LuaScript<Triple>;
  private readonly pauseScript: LuaScript<number>;
  private readonly pauseLeftScript: LuaScript<number>;
  private readonly usedScript: LuaScript<number>;

  /** `options` only from tests; the module builds it from config alone. */
  constructor(config: AppConfig, redis: IdnRedis, options?: Partial<RateLimiterOptions>) {
    this.acquireScript = luaScript(redis, 'idnAcquire', ACQUIRE_LUA);
    this.completeScript = luaScript(redis, 'idnComplete', COMPLETE_LUA);
    this.pauseScript = luaScript(redis, 'idnPause', PAUSE_LUA);
    this.pauseLeftScript = luaScript(redis, 'idnPauseLeft', PAUSE_LEFT_LUA);
    this.usedScript = luaScript(redis, 'idnUsed', USED_LUA);
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

  /**
   * Waits until one call may be made and counts it. Throws the signal's reason when aborted, and
   * IdnRateLimitedError (with the wait still expected) when admission would take longer than
   * `maxWaitMs`, so the caller can re-queue the work instead of blocking a slot. `operation` only
   * names the call in that error.
   */
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
        return { grantedAt: value, waitedMs: Date.now() - started, id: member };
      }
      this.counters.denied += 1;
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

  /**
   * Marks a granted call as finished (answered, failed or timed out): its entry then counts from now
   * instead of from the in-flight bound. Why: IdentityNow counts arrivals, and network/scheduling
   * delays differ per call; counting from the grant, a slow call granted at t could arrive after a
   * fast one granted at t + window, and both would sit in one of IdentityNow's windows. Counting each
   * call until it finished (≥ its arrival) closes that gap for any delay. Costs one round trip per
   * call and about one call latency per slot. Never throws: a lost update only keeps the slot until
   * the in-flight bound has passed.
   * Returns the Redis time of completion, or undefined if the entry had already left the window.
   */
  async complete(grant: Pick<AcquireResult, 'id'>): Promise<number | undefined> {
    try {
      const [updated, now] = await this.completeScript([this.windowKey], [grant.id, this.windowMs]);
      return updated === 1 ? now : undefined;
    } catch {
      return undefined;
    }
  }

  /** Pauses every process's calls for `ms` (never shortens a longer pause). Returns the ms left. */
  async pauseFor(ms: number): Promise<number> {
    const left = await this.pauseScript([this.pauseKey], [Math.max(0, Math.ceil(ms))]);
    this.counters.pausesSet += 1;
    return left;
  }

  /** Ms left of the current global pause, 0 when none. */
  async pauseRemainingMs(): Promise<number> {
    return this.pauseLeftScript([this.pauseKey], []);
  }

  /** Calls counted against the budget right now, in flight included (Redis time). */
  async used(): Promise<number> {
    return this.usedScript([this.windowKey], [this.windowMs]);
  }
}
