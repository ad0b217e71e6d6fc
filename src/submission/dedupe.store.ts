import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { RequestType } from '../access-request/access-request.types';
import type { RequestPair } from '../access-request/pairs';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { redisKey } from '../redis/redis.keys';
import { type LuaScript, luaScript } from '../redis/redis-scripts';
import { WORKER_REDIS } from '../redis/redis.tokens';

// docs/architecture.md, "Worker: requests, calls, never twice". Per pair KEYS: claim, own gen, opposite gen;
// ARGV: trackingId, window, kind per pair. Reads all before writing: a duplicate never changes state.
const CLAIM_LUA = `
local tid = ARGV[1]
local ttl = tonumber(ARGV[2])
local n = #KEYS / 3
local holders = {}
local fresh = {}
for i = 1, n do
  local claimKey, genKey = KEYS[3 * i - 2], KEYS[3 * i - 1]
  local kind = ARGV[2 + i]
  local cur = redis.call('GET', claimKey)
  local live = false
  if cur then
    local sp = string.find(cur, ' ', 1, true)
    local holder = string.sub(cur, 1, sp - 1)
    local gen = string.sub(cur, sp + 1)
    local curGen = '0'
    if kind ~= 'M' then curGen = redis.call('GET', genKey) or '0' end
    if gen == curGen then
      live = true
      if holder == tid then holders[i] = '' else holders[i] = holder end
    end
  end
  if not live then
    holders[i] = ''
    fresh[i] = true
  end
end
for i = 1, n do
  if fresh[i] then
    local claimKey, genKey, otherKey = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
    local kind = ARGV[2 + i]
    local gen = '0'
    if kind ~= 'M' then
      -- End the opposite type's live claims on this identity+item.
      redis.call('INCR', otherKey)
      if redis.call('TTL', otherKey) < ttl then redis.call('EXPIRE', otherKey, ttl) end
      gen = redis.call('GET', genKey) or '0'
      -- The generation must outlive every claim that refers to it.
      if gen ~= '0' and redis.call('TTL', genKey) < ttl then redis.call('EXPIRE', genKey, ttl) end
    end
    redis.call('SET', claimKey, tid .. ' ' .. gen, 'EX', ttl)
  end
end
return holders
`;

// Deletes only the claims their tracking id (ARGV[i], one per key) still holds.
const RELEASE_LUA = `
local released = 0
for i = 1, #KEYS do
  local prefix = ARGV[i] .. ' '
  local cur = redis.call('GET', KEYS[i])
  if cur and string.sub(cur, 1, #prefix) == prefix then
    redis.call('DEL', KEYS[i])
    released = released + 1
  end
end
return released
`;

// Before each send, under the call job's lock (KEYS[1], ARGV[2]; {'L'} when lost): per pair (KEYS
// claim, own gen, opposite gen, its request; ARGV window, token, then tid, kind, fingerprint and call
// per pair) a pair its request no longer has in that call (cancelled meanwhile) is '-' and left
// alone; a live claim of the pair's own request is extended (''); a claim its request held but that
// an opposite REVOKE/GRANT ended since is '!'; another live holder is returned; a free pair is claimed.
const RECLAIM_LUA = `
local ttl = tonumber(ARGV[1])
if ARGV[2] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[2] then return {'L'} end
local out = {}
for i = 1, (#KEYS - 1) / 4 do
  local claimKey, genKey, otherKey, reqKey = KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i], KEYS[4 * i + 1]
  local tid, kind, fp, callId = ARGV[4 * i - 1], ARGV[4 * i], ARGV[4 * i + 1], ARGV[4 * i + 2]
  if redis.call('HGET', reqKey, 'c:' .. fp) ~= callId then
    out[i] = '-'
  else
    local cur = redis.call('GET', claimKey)
    local curGen = '0'
    if kind ~= 'M' then curGen = redis.call('GET', genKey) or '0' end
    local holder, gen
    if cur then
      local sp = string.find(cur, ' ', 1, true)
      holder, gen = string.sub(cur, 1, sp - 1), string.sub(cur, sp + 1)
    end
    if holder == tid and gen == curGen then
      redis.call('EXPIRE', claimKey, ttl)
      out[i] = ''
    elseif holder == tid then
      out[i] = '!'
    elseif holder and gen == curGen then
      out[i] = holder
    else
      if kind ~= 'M' then
        redis.call('INCR', otherKey)
        if redis.call('TTL', otherKey) < ttl then redis.call('EXPIRE', otherKey, ttl) end
        if curGen ~= '0' and redis.call('TTL', genKey) < ttl then redis.call('EXPIRE', genKey, ttl) end
      end
      redis.call('SET', claimKey, tid .. ' ' .. curGen, 'EX', ttl)
      out[i] = ''
    end
  end
end
return out
`;

const HOLDERS_LUA = `
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local cur = redis.call('GET', KEYS[i])
  out[i] = ''
  if cur then
    local sp = string.find(cur, ' ', 1, true)
    local gen = string.sub(cur, sp + 1)
    local curGen = '0'
    if ARGV[i] ~= 'M' then curGen = redis.call('GET', KEYS[n + i]) or '0' end
    if gen == curGen then out[i] = string.sub(cur, 1, sp - 1) end
  end
end
return out
`;

export type ClaimResult = { readonly owned: true } | { readonly owned: false; readonly holder: string };

/** Re-checking a claim before a send: still ours (extended), taken by another request, or ended. */
export type ReclaimResult =
  | { readonly kind: 'owned' }
  | { readonly kind: 'taken'; readonly holder: string }
  | { readonly kind: 'superseded' }
  /** The pair left the call meanwhile (a cancel): nothing was claimed for it. */
  | { readonly kind: 'gone' };

type ClaimablePair = Pick<RequestPair, 'requestType' | 'identityId' | 'item' | 'fingerprint'>;

const KIND: Record<RequestType, 'G' | 'R' | 'M'> = {
  GRANT_ACCESS: 'G',
  REVOKE_ACCESS: 'R',
  MODIFY_ACCESS: 'M',
};
const OPPOSITE: Record<RequestType, RequestType> = {
  GRANT_ACCESS: 'REVOKE_ACCESS',
  REVOKE_ACCESS: 'GRANT_ACCESS',
  MODIFY_ACCESS: 'MODIFY_ACCESS',
};

@Injectable()
export class DedupeStore {
  private readonly prefix: string;
  private readonly windowSeconds: number;
  private readonly claimScript: LuaScript<string[]>;
  private readonly releaseScript: LuaScript<number>;
  private readonly holdersScript: LuaScript<string[]>;
  private readonly reclaimScript: LuaScript<string[]>;

  constructor(@Inject(WORKER_REDIS) redis: Redis | Cluster, @Inject(APP_CONFIG) config: AppConfig) {
    this.prefix = config.redis.prefix;
    this.windowSeconds = config.submission.dedupeWindowSeconds;
    this.claimScript = luaScript(redis, 'argClaim', CLAIM_LUA);
    this.releaseScript = luaScript(redis, 'argRelease', RELEASE_LUA);
    this.holdersScript = luaScript(redis, 'argHolders', HOLDERS_LUA);
    this.reclaimScript = luaScript(redis, 'argReclaim', RECLAIM_LUA);
  }

  claimKey(fingerprint: string): string {
    return redisKey(this.prefix, 'dedupe', 'claim', fingerprint);
  }

  private generationKey(requestType: RequestType, pair: Pick<ClaimablePair, 'identityId' | 'item'>): string {
    const access = createHash('sha256')
      .update(`${pair.identityId.trim()}|${pair.item.type}|${pair.item.id.trim()}`)
      .digest('hex');
    return redisKey(this.prefix, 'dedupe', 'gen', requestType, access);
  }

  /** All or nothing per pair, atomically; a claim this tracking id already holds comes back owned. */
  async claim(trackingId: string, pairs: readonly ClaimablePair[]): Promise<ClaimResult[]> {
    if (pairs.length === 0) return [];
    const keys = pairs.flatMap((p) => [
      this.claimKey(p.fingerprint),
      this.generationKey(p.requestType, p),
      this.generationKey(OPPOSITE[p.requestType], p),
    ]);
    const holders = await this.claimScript(keys, [
      trackingId,
      this.windowSeconds,
      ...pairs.map((p) => KIND[p.requestType]),
    ]);
    return holders.map((h) => (h === '' ? { owned: true } : { owned: false, holder: h }));
  }

  async release(trackingId: string, fingerprints: readonly string[]): Promise<number> {
    return this.releaseEach(fingerprints.map((fp) => ({ trackingId, fingerprint: fp })));
  }

  /** Compare-and-delete: each claim goes only if its own request still holds it. */
  async releaseEach(
    claims: readonly { readonly trackingId: string; readonly fingerprint: string }[],
  ): Promise<number> {
    if (claims.length === 0) return 0;
    return this.releaseScript(
      claims.map((c) => this.claimKey(c.fingerprint)),
      claims.map((c) => c.trackingId),
    );
  }

  /**
   * Re-checks and extends claims in the same step as the `c:<fp>` = callId check: a pair cancelled
   * meanwhile must not be claimed again. Undefined when `fence` is lost (nothing claimed).
   */
  async reclaim(
    entries: readonly {
      readonly trackingId: string;
      readonly pair: ClaimablePair;
      readonly requestKey: string;
      readonly callId: string;
    }[],
    fence: { readonly lockKey: string; readonly token: string },
  ): Promise<ReclaimResult[] | undefined> {
    if (entries.length === 0) return [];
    const keys = [
      fence.lockKey,
      ...entries.flatMap(({ pair: p, requestKey }) => [
        this.claimKey(p.fingerprint),
        this.generationKey(p.requestType, p),
        this.generationKey(OPPOSITE[p.requestType], p),
        requestKey,
      ]),
    ];
    const args = [
      this.windowSeconds,
      fence.token,
      ...entries.flatMap((e) => [e.trackingId, KIND[e.pair.requestType], e.pair.fingerprint, e.callId]),
    ];
    const out = await this.reclaimScript(keys, args);
    if (out[0] === 'L') return undefined;
    return out.map((h) =>
      h === ''
        ? { kind: 'owned' }
        : h === '!'
          ? { kind: 'superseded' }
          : h === '-'
            ? { kind: 'gone' }
            : { kind: 'taken', holder: h },
    );
  }

  /** The live holder of each pair, without claiming anything. */
  async holders(pairs: readonly ClaimablePair[]): Promise<(string | undefined)[]> {
    if (pairs.length === 0) return [];
    const keys = [
      ...pairs.map((p) => this.claimKey(p.fingerprint)),
      ...pairs.map((p) => this.generationKey(p.requestType, p)),
    ];
    const out = await this.holdersScript(
      keys,
      pairs.map((p) => KIND[p.requestType]),
    );
    return out.map((h) => (h === '' ? undefined : h));
  }
}
