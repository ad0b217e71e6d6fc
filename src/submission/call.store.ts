import type { Cluster, Redis } from 'ioredis';
import { QueueKeys } from 'bullmq';
import type {
  AccessItem,
  Metadata,
  PerIdentityItem,
  RequestType,
} from '../access-request/access-request.types';
import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import { luaScript, type LuaScript } from '../redis/redis-scripts';
import type { PairDescriptor, PairResult, RequestMeta, RequestStore } from '../tracking/request.store';
import type { CallState } from './call-state';

/** One pair as a call carries it: whose it is and the item exactly as it is sent for that identity. */
export interface CallUnit {
  readonly t: string;
  readonly fp: string;
  readonly identityId: string;
  readonly item: AccessItem | PerIdentityItem;
}

/** What every pair of a call shares: one IdentityNow request carries one type and one metadata map. */
export interface CallContext {
  readonly clientId: string;
  readonly requestType: RequestType;
  readonly clientMetadata?: Metadata;
  readonly shape: 'requestedFor' | 'perIdentity';
}

export interface NewCall {
  readonly id: string;
  readonly ctx: CallContext;
  readonly units: readonly CallUnit[];
}

export interface StoredCall {
  readonly id: string;
  readonly state: CallState;
  readonly ctx: CallContext;
  readonly units: readonly CallUnit[];
  readonly createdAt: string;
  readonly sentAt: number | undefined;
  readonly endedAt: number | undefined;
  readonly reason: string | undefined;
  readonly children: readonly string[];
}

/** A pair change written with a transition, only while the pair is still carried by that call. */
export interface PairUpdate {
  readonly t: string;
  readonly fp: string;
  readonly result?: PairResult;
  readonly final?: boolean;
  readonly attempts?: number;
  /** Hand the pair to another call (a split). */
  readonly moveTo?: string;
}

export interface Fence {
  readonly lockKey: string;
  readonly token: string;
}

export type ApplyResult =
  /** `touched`: requests whose pairs changed; `completed`: those of them with no open pair left. */
  | { readonly ok: true; readonly completed: readonly string[]; readonly touched: readonly string[] }
  | { readonly ok: false; readonly why: 'lock-lost' | 'state' | 'moved'; readonly state?: string };

// Shared by the scripts below: the job-lock fence and the write of one pair into its request.
const PRELUDE = `
local function fenced(lockKey, token)
  return token == '' or redis.call('GET', lockKey) == token
end
local function touch(reqKey, ttl, now)
  redis.call('HINCRBY', reqKey, 'v', 1)
  redis.call('HSET', reqKey, 'updatedAt', now)
  redis.call('EXPIRE', reqKey, ttl)
end
local function newCall(key, id, ctx, units, now, ttl)
  if ctx ~= '{}' and redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'state', 'pending', 'ctx', ctx, 'units', units, 'createdAt', now)
    redis.call('EXPIRE', key, ttl)
  end
end
`;

/**
 * KEYS: request, its job lock, then one key per new call. ARGV: token, ttl, now, meta, mode ('new' |
 * 'redrive'), nPairs, per pair [fp, descriptor ('' keep), result, callIndex (0 = final)], nCalls, per
 * call [id, ctx, units]. 'new' writes a request that does not exist yet (2 when it does); 'redrive'
 * takes back only pairs that are final and in no call. Returns 1, 2, or 0 when the lock is lost.
 */
const HANDOFF_LUA = `${PRELUDE}
local reqKey, lockKey = KEYS[1], KEYS[2]
local token, ttl, now, meta, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
if not fenced(lockKey, token) then return 0 end
if mode == 'new' and redis.call('HEXISTS', reqKey, 'meta') == 1 then return 2 end
local nPairs = tonumber(ARGV[6])
local base = 6 + nPairs * 4
local nCalls = tonumber(ARGV[base + 1])
local callIds = {}
for c = 1, nCalls do
  local a = base + 1 + (c - 1) * 3
  callIds[c] = ARGV[a + 1]
  newCall(KEYS[2 + c], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], now, ttl)
end
if mode == 'new' then redis.call('HSET', reqKey, 'meta', meta, 'open', 0) end
local open = 0
for i = 1, nPairs do
  local a = 6 + (i - 1) * 4
  local fp, d, o, ci = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  if mode == 'new' or redis.call('HEXISTS', reqKey, 'c:' .. fp) == 0 then
    if d ~= '' then redis.call('HSET', reqKey, 'd:' .. fp, d) end
    redis.call('HSET', reqKey, 'o:' .. fp, o)
    if ci > 0 then
      redis.call('HSET', reqKey, 'c:' .. fp, callIds[ci])
      open = open + 1
    end
  end
end
redis.call('HINCRBY', reqKey, 'open', open)
redis.call('HSET', reqKey, 'phase', 'handed-off')
touch(reqKey, ttl, now)
return 1
`;

/**
 * A transition of one call and its pairs. KEYS: call, its job lock, the requests (nReq), the new calls.
 * ARGV: token, callId, ttl, now, fromStates (comma list, '' = any), newState ('' = keep), strict (1 =
 * every listed pair must still be in this call, else nothing is written), nReq, nFields, fields…,
 * nPairs, per pair [reqIndex, fp, result ('' keep), final, attemptsDelta, moveTo], nNew, per new call
 * [id, ctx, units]. Returns {1, touched request indexes (negative: still open)…}, {0} lock lost, {-1,
 * state}, {-2} moved.
 */
const APPLY_LUA = `${PRELUDE}
local callKey, lockKey = KEYS[1], KEYS[2]
local token, callId, ttl, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local from, to, strict, nReq = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
if not fenced(lockKey, token) then return {0} end
local state = redis.call('HGET', callKey, 'state')
if not state then return {-1, ''} end
if from ~= '' and not string.find(',' .. from .. ',', ',' .. state .. ',', 1, true) then return {-1, state} end
local nFields = tonumber(ARGV[9])
local p0 = 9 + nFields * 2
local nPairs = tonumber(ARGV[p0 + 1])
local n0 = p0 + 1 + nPairs * 6
if strict == '1' then
  for i = 1, nPairs do
    local a = p0 + 1 + (i - 1) * 6
    if redis.call('HGET', KEYS[2 + tonumber(ARGV[a + 1])], 'c:' .. ARGV[a + 2]) ~= callId then return {-2} end
  end
end
local nNew = tonumber(ARGV[n0 + 1])
for c = 1, nNew do
  local a = n0 + 1 + (c - 1) * 3
  newCall(KEYS[2 + nReq + c], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], now, ttl)
end
if to ~= '' then redis.call('HSET', callKey, 'state', to) end
for f = 1, nFields do
  local k, v = ARGV[9 + f * 2 - 1], ARGV[9 + f * 2]
  if v == '' then redis.call('HDEL', callKey, k) else redis.call('HSET', callKey, k, v) end
end
redis.call('EXPIRE', callKey, ttl)
local touched, done = {}, {}
for i = 1, nPairs do
  local a = p0 + 1 + (i - 1) * 6
  local ri, fp, o, final, delta, moveTo = tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5]), ARGV[a + 6]
  local reqKey = KEYS[2 + ri]
  if redis.call('HGET', reqKey, 'c:' .. fp) == callId then
    if o ~= '' then redis.call('HSET', reqKey, 'o:' .. fp, o) end
    if delta ~= 0 then redis.call('HINCRBY', reqKey, 'a:' .. fp, delta) end
    if moveTo ~= '' then redis.call('HSET', reqKey, 'c:' .. fp, moveTo) end
    if final == '1' then
      redis.call('HDEL', reqKey, 'c:' .. fp)
      if redis.call('HINCRBY', reqKey, 'open', -1) <= 0 then done[ri] = true end
    end
    touched[ri] = true
  end
end
local out = {1}
for ri in pairs(touched) do
  touch(KEYS[2 + ri], ttl, now)
  if done[ri] then out[#out + 1] = ri else out[#out + 1] = -ri end
end
return out
`;

const STAMP_LUA = `${PRELUDE}
if not fenced(KEYS[1], ARGV[1]) or redis.call('HGET', KEYS[2], 'state') ~= 'in-flight' then return 0 end
redis.call('HSET', KEYS[2], 'sentAt', ARGV[2])
return 1
`;

function parseCall(id: string, h: Record<string, string>): StoredCall | undefined {
  if (h.state === undefined || h.ctx === undefined) return undefined;
  return {
    id,
    state: h.state as CallState,
    ctx: JSON.parse(h.ctx) as CallContext,
    units: JSON.parse(h.units ?? '[]') as CallUnit[],
    createdAt: h.createdAt ?? new Date(0).toISOString(),
    sentAt: h.sentAt === undefined ? undefined : Number(h.sentAt),
    endedAt: h.endedAt === undefined ? undefined : Number(h.endedAt),
    reason: h.reason,
    children: JSON.parse(h.children ?? '[]') as string[],
  };
}

/**
 * Calls (IdentityNow submissions) and the hand-off of pairs into them. Every write is one script that
 * checks the writer still holds its BullMQ job lock and that each pair is still carried by the call,
 * so a worker that lost its job, a re-drive or a cancel can never be overwritten by a stale writer.
 */
export class CallStore {
  private readonly prefix: string;
  private readonly queueKeys: QueueKeys;
  private readonly handoffScript: LuaScript<number>;
  private readonly applyScript: LuaScript<(number | string)[]>;
  private readonly stampScript: LuaScript<number>;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly requests: RequestStore,
    config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
    this.queueKeys = new QueueKeys(this.prefix);
    this.handoffScript = luaScript(redis, 'argCallHandoff', HANDOFF_LUA);
    this.applyScript = luaScript(redis, 'argCallApply', APPLY_LUA);
    this.stampScript = luaScript(redis, 'argCallStamp', STAMP_LUA);
  }

  key(callId: string): string {
    return redisKey(this.prefix, 'call', callId);
  }

  /** The BullMQ lock of a job, which fences every write of the job's holder. */
  lockKey(queue: string, jobId: string): string {
    return `${this.queueKeys.toKey(queue, jobId)}:lock`;
  }

  /**
   * Right before a send: true only while the job lock is held, and then the call's `sentAt` becomes
   * now (the budget wait after the seal can be long; an orphan's deadline counts from the real send).
   */
  async stampSend(callId: string, fence: Fence): Promise<boolean> {
    return (await this.stampScript([fence.lockKey, this.key(callId)], [fence.token, Date.now()])) === 1;
  }

  async load(callId: string): Promise<StoredCall | undefined> {
    return parseCall(callId, await this.redis.hgetall(this.key(callId)));
  }

  /** Which of the call's units are still carried by it (not final, not moved, not cancelled). */
  async live(call: StoredCall): Promise<CallUnit[]> {
    if (call.units.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const u of call.units) pipe.hget(this.requests.key(u.t), `c:${u.fp}`);
    const res = (await pipe.exec()) ?? [];
    return call.units.filter((_, i) => res[i]?.[1] === call.id);
  }

  /**
   * Writes a request's pairs and the new calls that carry them, in one step. `pairs` carry a call
   * index (into `calls`, 1-based; an existing call id is allowed in `callOf`) or 0 when final.
   */
  async handoff(input: {
    readonly trackingId: string;
    readonly fence: Fence;
    readonly mode: 'new' | 'redrive';
    readonly meta: RequestMeta;
    readonly pairs: readonly {
      readonly fp: string;
      readonly d?: PairDescriptor;
      readonly o: PairResult;
      readonly call?: string;
    }[];
    readonly calls: readonly NewCall[];
  }): Promise<'written' | 'exists' | 'lock-lost'> {
    const callIds = input.calls.map((c) => c.id);
    // A pair may go back into an existing call (a re-drive of an unknown outcome): it is listed too.
    const extra = [
      ...new Set(input.pairs.map((p) => p.call).filter((c): c is string => c !== undefined)),
    ].filter((c) => !callIds.includes(c));
    const all = [...callIds, ...extra];
    const now = new Date().toISOString();
    const args: (string | number)[] = [
      input.fence.token,
      this.requests.retentionSeconds,
      now,
      JSON.stringify(input.meta),
      input.mode,
      input.pairs.length,
    ];
    for (const p of input.pairs) {
      args.push(p.fp, p.d === undefined ? '' : JSON.stringify(p.d), JSON.stringify(p.o));
      args.push(p.call === undefined ? 0 : all.indexOf(p.call) + 1);
    }
    // Existing calls are passed without content: the script never overwrites a call that exists.
    args.push(all.length);
    const byId = new Map(input.calls.map((c) => [c.id, c]));
    for (const id of all) {
      const c = byId.get(id);
      args.push(
        id,
        c === undefined ? '{}' : JSON.stringify(c.ctx),
        c === undefined ? '[]' : JSON.stringify(c.units),
      );
    }
    const keys = [this.requests.key(input.trackingId), input.fence.lockKey, ...all.map((id) => this.key(id))];
    const r = await this.handoffScript(keys, args);
    return r === 1 ? 'written' : r === 2 ? 'exists' : 'lock-lost';
  }

  /** One transition of a call (see call-state.ts) with the pair changes it brings. */
  async apply(input: {
    readonly callId: string;
    readonly fence: Fence;
    readonly from: readonly CallState[];
    readonly to?: CallState;
    readonly fields?: Readonly<Record<string, string | number | undefined>>;
    readonly pairs?: readonly PairUpdate[];
    readonly strict?: boolean;
    readonly newCalls?: readonly NewCall[];
  }): Promise<ApplyResult> {
    const pairs = input.pairs ?? [];
    const newCalls = input.newCalls ?? [];
    const reqs = [...new Set(pairs.map((p) => p.t))];
    const fields = Object.entries(input.fields ?? {});
    const args: (string | number)[] = [
      input.fence.token,
      input.callId,
      this.requests.retentionSeconds,
      new Date().toISOString(),
      input.from.join(','),
      input.to ?? '',
      input.strict === true ? '1' : '0',
      reqs.length,
      fields.length,
    ];
    for (const [k, v] of fields) args.push(k, v === undefined ? '' : String(v));
    args.push(pairs.length);
    for (const p of pairs) {
      args.push(reqs.indexOf(p.t) + 1, p.fp, p.result === undefined ? '' : JSON.stringify(p.result));
      args.push(p.final === true ? '1' : '0', p.attempts ?? 0, p.moveTo ?? '');
    }
    args.push(newCalls.length);
    for (const c of newCalls) args.push(c.id, JSON.stringify(c.ctx), JSON.stringify(c.units));
    const keys = [
      this.key(input.callId),
      input.fence.lockKey,
      ...reqs.map((t) => this.requests.key(t)),
      ...newCalls.map((c) => this.key(c.id)),
    ];
    const [code, ...rest] = await this.applyScript(keys, args);
    if (code === 0) return { ok: false, why: 'lock-lost' };
    if (code === -1) return { ok: false, why: 'state', state: String(rest[0] ?? '') };
    if (code === -2) return { ok: false, why: 'moved' };
    return {
      ok: true,
      completed: rest
        .filter((i) => Number(i) > 0)
        .map((i) => reqs[Number(i) - 1])
        .filter((t): t is string => t !== undefined),
      touched: rest.map((i) => reqs[Math.abs(Number(i)) - 1]).filter((t): t is string => t !== undefined),
    };
  }
}
