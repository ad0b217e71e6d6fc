import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import { luaScript, type LuaScript } from '../redis/redis-scripts';
import type { RequestStore } from '../tracking/request.store';

const TOUCH = `
local function touch(reqKey, ttl, nowIso)
  redis.call('HINCRBY', reqKey, 'v', 1)
  -- Never back in time: writers' clocks differ (fixed-width ISO strings compare as times).
  local prev = redis.call('HGET', reqKey, 'updatedAt')
  if not prev or prev < nowIso then redis.call('HSET', reqKey, 'updatedAt', nowIso) end
  redis.call('EXPIRE', reqKey, ttl)
  return redis.call('HGET', reqKey, 'v')
end
local function release(claimKey, tid)
  local cur = redis.call('GET', claimKey)
  local prefix = tid .. ' '
  if cur and string.sub(cur, 1, #prefix) == prefix then redis.call('DEL', claimKey) end
end
`;

/**
 * A write of lifecycle fields, only if the request is still at the version it was read at ('' = any).
 * KEYS: request, dirty, follow, then claim keys to release (compare-and-delete for ARGV tid).
 * ARGV: tid, expected version, ttl, now ISO, now ms, follow op ('add' | 'remove' | ''), nFields,
 * [field, value ('' deletes)]… Returns the new version, -1 on a version mismatch, -2 when gone.
 */
const WRITE_LUA = `${TOUCH}
local reqKey, dirtyKey, followKey = KEYS[1], KEYS[2], KEYS[3]
local tid, expected, ttl, nowIso, nowMs, followOp = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
if redis.call('HEXISTS', reqKey, 'meta') == 0 then return -2 end
if expected ~= '' and (redis.call('HGET', reqKey, 'v') or '0') ~= expected then return -1 end
local n = tonumber(ARGV[7])
for i = 1, n do
  local f, v = ARGV[7 + 2 * i - 1], ARGV[7 + 2 * i]
  if v == '' then redis.call('HDEL', reqKey, f) else redis.call('HSET', reqKey, f, v) end
end
for k = 4, #KEYS do release(KEYS[k], tid) end
if followOp == 'add' then redis.call('ZADD', followKey, 'NX', nowMs, tid) end
if followOp == 'remove' then redis.call('ZREM', followKey, tid) end
redis.call('ZADD', dirtyKey, 'NX', nowMs, tid)
return tonumber(touch(reqKey, ttl, nowIso))
`;

/**
 * KEYS: request, dirty, the calls (nCalls), the claims, the client's waiting counter. ARGV: tid, ttl,
 * now ISO, now ms, nCalls, nPairs, per pair [fp, call id, call index (0: none), claim index, cancelled
 * result, note]. A pair whose call is unsent ends CANCELLED (the seal re-checks `c:<fp>`, so it never
 * goes); others are noted. Per pair: 1 cancelled, 2 noted, 0 moved on meanwhile. A unit cancelled out
 * of a call never sealed leaves the waiting count now and is counted in `nc`, which the seal subtracts.
 */
const CANCEL_LUA = `${TOUCH}
local reqKey, dirtyKey, waitKey = KEYS[1], KEYS[2], KEYS[#KEYS]
local tid, ttl, nowIso, nowMs = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local nCalls, nPairs = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('HEXISTS', reqKey, 'meta') == 0 then return {} end
local out = {}
local changed = false
for i = 1, nPairs do
  local a = 6 + (i - 1) * 6
  local fp, callId, ci, ki = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local cancelled, note = ARGV[a + 5], ARGV[a + 6]
  local carrier = redis.call('HGET', reqKey, 'c:' .. fp)
  out[i] = 0
  if ci > 0 then
    if carrier == callId then
      local callKey = KEYS[2 + ci]
      local state = redis.call('HGET', callKey, 'state')
      if state == 'pending' or state == 'verified-absent' then
        if state == 'pending' and redis.call('HEXISTS', callKey, 'sealed') == 0 then
          redis.call('HINCRBY', callKey, 'nc', 1)
          redis.call('DECRBY', waitKey, 1)
        end
        redis.call('HSET', reqKey, 'o:' .. fp, cancelled)
        redis.call('HDEL', reqKey, 'c:' .. fp)
        redis.call('HINCRBY', reqKey, 'open', -1)
        release(KEYS[2 + nCalls + ki], tid)
        out[i] = 1
        changed = true
      else
        if redis.call('HGET', reqKey, 'x:' .. fp) ~= note then
          redis.call('HSET', reqKey, 'x:' .. fp, note)
          changed = true
        end
        out[i] = 2
      end
    end
  elseif not carrier then
    if redis.call('HGET', reqKey, 'x:' .. fp) ~= note then
      redis.call('HSET', reqKey, 'x:' .. fp, note)
      changed = true
    end
    out[i] = 2
  end
end
if changed then
  touch(reqKey, ttl, nowIso)
  redis.call('ZADD', dirtyKey, 'NX', nowMs, tid)
end
return out
`;

// A request whose waiting job was removed, written whole, unless a record exists (0). KEYS: request,
// dirty, then its pairs' claim keys (released if this tid holds them). ARGV: tid, meta, ttl, now ISO,
// now ms, n, [fp, descriptor, result]…
const CANCEL_QUEUED_LUA = `${TOUCH}
local reqKey, dirtyKey = KEYS[1], KEYS[2]
local tid, meta, ttl, nowIso, nowMs, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
if redis.call('HEXISTS', reqKey, 'meta') == 1 then return 0 end
redis.call('HSET', reqKey, 'meta', meta, 'open', 0, 'phase', 'finished')
for i = 1, n do
  local a = 6 + (i - 1) * 3
  redis.call('HSET', reqKey, 'd:' .. ARGV[a + 1], ARGV[a + 2], 'o:' .. ARGV[a + 1], ARGV[a + 3])
end
-- An earlier attempt of the job may have claimed pairs and died before its hand-off.
for k = 3, #KEYS do release(KEYS[k], tid) end
touch(reqKey, ttl, nowIso)
redis.call('ZADD', dirtyKey, 'NX', nowMs, tid)
return 1
`;

// The marker goes only if nothing was written since the version that was handled.
const CLEAR_DIRTY_LUA = `
local v = redis.call('HGET', KEYS[2], 'v')
if v == false or v == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`;

// Two processes may tell different versions at once: the digest of an older one must not replace a
// newer one's, or a later change back to the older body would be taken as told already.
const SET_NOTIFIED_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local told = tonumber(redis.call('HGET', KEYS[1], 'nv') or '-1')
if tonumber(ARGV[2]) < told then return 0 end
redis.call('HSET', KEYS[1], 'nd', ARGV[1], 'nv', ARGV[2])
return 1
`;

const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface LifecycleWrite {
  readonly expectedVersion?: number;
  /** Hash fields to set; `undefined` deletes. */
  readonly fields?: Readonly<Record<string, string | undefined>>;
  readonly releaseClaims?: readonly string[];
  readonly follow?: 'add' | 'remove';
}

export type WriteResult =
  { readonly ok: true; readonly version: number } | { readonly ok: false; readonly why: 'stale' | 'gone' };

export interface CancelPair {
  readonly fp: string;
  readonly call?: string;
  readonly claimKey: string;
  readonly cancelled: string;
  readonly note: string;
}

/** The lifecycle's fields of the request hash, and its index, marks, watermark and lease. */
export class LifecycleStore {
  readonly followKey: string;
  readonly dirtyKey: string;
  readonly watermarkKey: string;
  readonly leaseKey: string;
  private readonly writeScript: LuaScript<number>;
  private readonly cancelScript: LuaScript<number[]>;
  private readonly cancelQueuedScript: LuaScript<number>;
  private readonly clearDirtyScript: LuaScript<number>;
  private readonly setNotifiedScript: LuaScript<number>;
  private readonly renewScript: LuaScript<number>;
  private readonly releaseLeaseScript: LuaScript<number>;

  constructor(
    private readonly requests: RequestStore,
    config: AppConfig,
  ) {
    const prefix = config.redis.prefix;
    this.followKey = redisKey(prefix, 'lifecycle', 'follow');
    this.dirtyKey = requests.dirtyKey;
    this.watermarkKey = redisKey(prefix, 'lifecycle', 'watermark');
    this.leaseKey = redisKey(prefix, 'lifecycle', 'lease');
    const redis = requests.redis;
    this.writeScript = luaScript(redis, 'argLifecycleWrite', WRITE_LUA);
    this.cancelScript = luaScript(redis, 'argLifecycleCancel', CANCEL_LUA);
    this.cancelQueuedScript = luaScript(redis, 'argLifecycleCancelQueued', CANCEL_QUEUED_LUA);
    this.clearDirtyScript = luaScript(redis, 'argLifecycleClearDirty', CLEAR_DIRTY_LUA);
    this.setNotifiedScript = luaScript(redis, 'argLifecycleNotified', SET_NOTIFIED_LUA);
    this.renewScript = luaScript(redis, 'argLifecycleRenew', RENEW_LUA);
    this.releaseLeaseScript = luaScript(redis, 'argLifecycleReleaseLease', RELEASE_LEASE_LUA);
  }

  private get redis(): RequestStore['redis'] {
    return this.requests.redis;
  }

  async write(trackingId: string, w: LifecycleWrite): Promise<WriteResult> {
    const now = Date.now();
    const fields = Object.entries(w.fields ?? {});
    const r = await this.writeScript(
      [this.requests.key(trackingId), this.dirtyKey, this.followKey, ...(w.releaseClaims ?? [])],
      [
        trackingId,
        w.expectedVersion === undefined ? '' : String(w.expectedVersion),
        this.requests.retentionSeconds,
        new Date(now).toISOString(),
        now,
        w.follow ?? '',
        fields.length,
        ...fields.flatMap(([k, v]) => [k, v ?? '']),
      ],
    );
    if (r === -1) return { ok: false, why: 'stale' };
    if (r === -2) return { ok: false, why: 'gone' };
    return { ok: true, version: r };
  }

  /** `keys`: the call store's key names (its calls, the request's client's waiting counter). */
  async cancel(
    trackingId: string,
    keys: { readonly call: (callId: string) => string; readonly waiting: string },
    pairs: readonly CancelPair[],
  ): Promise<('cancelled' | 'noted' | 'unchanged')[]> {
    const calls = [...new Set(pairs.map((p) => p.call).filter((c): c is string => c !== undefined))];
    const claims = pairs.map((p) => p.claimKey);
    const now = Date.now();
    const args: (string | number)[] = [
      trackingId,
      this.requests.retentionSeconds,
      new Date(now).toISOString(),
      now,
      calls.length,
      pairs.length,
    ];
    pairs.forEach((p, i) => {
      const ci = p.call === undefined ? 0 : calls.indexOf(p.call) + 1;
      args.push(p.fp, p.call ?? '', ci, i + 1, p.cancelled, p.note);
    });
    const out = await this.cancelScript(
      [this.requests.key(trackingId), this.dirtyKey, ...calls.map(keys.call), ...claims, keys.waiting],
      args,
    );
    return pairs.map((_, i) => (out[i] === 1 ? 'cancelled' : out[i] === 2 ? 'noted' : 'unchanged'));
  }

  async cancelQueued(
    trackingId: string,
    meta: string,
    pairs: readonly { readonly fp: string; readonly d: string; readonly o: string }[],
    claimKeys: readonly string[],
  ): Promise<boolean> {
    const now = Date.now();
    const r = await this.cancelQueuedScript(
      [this.requests.key(trackingId), this.dirtyKey, ...claimKeys],
      [
        trackingId,
        meta,
        this.requests.retentionSeconds,
        new Date(now).toISOString(),
        now,
        pairs.length,
        ...pairs.flatMap((p) => [p.fp, p.d, p.o]),
      ],
    );
    return r === 1;
  }

  async follow(trackingId: string): Promise<void> {
    await this.redis.zadd(this.followKey, 'NX', Date.now(), trackingId);
  }

  async unfollow(trackingId: string): Promise<void> {
    await this.redis.zrem(this.followKey, trackingId);
  }

  async followed(): Promise<{ readonly trackingId: string; readonly since: number }[]> {
    const flat = await this.redis.zrange(this.followKey, 0, -1, 'WITHSCORES');
    const out: { trackingId: string; since: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ trackingId: flat[i] as string, since: Number(flat[i + 1]) });
    }
    return out;
  }

  /** Keeps followed requests' records as long as they are followed (beyond the usual retention). */
  async keepAlive(trackingIds: readonly string[]): Promise<void> {
    if (trackingIds.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const t of trackingIds) pipe.expire(this.requests.key(t), this.requests.retentionSeconds);
    await pipe.exec();
  }

  async markDirty(trackingIds: readonly string[]): Promise<void> {
    if (trackingIds.length === 0) return;
    const now = Date.now();
    await this.redis.zadd(this.dirtyKey, 'NX', ...trackingIds.flatMap((t) => [now, t]));
  }

  async clearDirty(trackingId: string, version: number | undefined): Promise<void> {
    await this.clearDirtyScript(
      [this.dirtyKey, this.requests.key(trackingId)],
      [trackingId, version === undefined ? '' : String(version)],
    );
  }

  /** Changes marked before `olderThan` (ms) and never handled: their process died in between. */
  async dirtySince(olderThan: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.dirtyKey, '-inf', olderThan, 'LIMIT', 0, limit);
  }

  async setNotified(trackingId: string, digest: string, version: number): Promise<void> {
    await this.setNotifiedScript([this.requests.key(trackingId)], [digest, version]);
  }

  async watermark(): Promise<number | undefined> {
    const v = await this.redis.get(this.watermarkKey);
    return v === null ? undefined : Number(v);
  }

  async setWatermark(ms: number): Promise<void> {
    await this.redis.set(this.watermarkKey, String(ms));
  }

  async holdLease(holder: string, ms: number): Promise<boolean> {
    if ((await this.renewScript([this.leaseKey], [holder, ms])) === 1) return true;
    return (await this.redis.set(this.leaseKey, holder, 'PX', ms, 'NX')) === 'OK';
  }

  async leaseHolder(): Promise<string | undefined> {
    return (await this.redis.get(this.leaseKey)) ?? undefined;
  }

  async releaseLease(holder: string): Promise<void> {
    await this.releaseLeaseScript([this.leaseKey], [holder]);
  }
}
