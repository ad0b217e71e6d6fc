import type { Cluster, Redis } from 'ioredis';
import { QueueKeys } from 'bullmq';
import type {
  AccessItem,
  Metadata,
  PerIdentityItem,
  RequestType,
} from '../access-request/access-request.types';
import type { AppConfig } from '../config/app-config';
import { callQueueName } from '../queue/submission-job';
import { redisKey } from '../redis/redis.keys';
import { luaScript, type LuaScript } from '../redis/redis-scripts';
import { waitForReplicas } from '../redis/redis-replication';
import type { PairDescriptor, PairResult, RequestMeta, RequestStore } from '../tracking/request.store';
import type { CallState } from './call-state';
import { APPLY_LUA, HANDOFF_LUA, STAMP_LUA } from './call.scripts';

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

/** A request's pairs for one identity joining a lane's (client, type, metadata) open call. */
export interface LaneUnit {
  readonly lane: string;
  readonly ctx: CallContext;
  readonly identityId: string;
  /** Entitlements a call of this lane may carry (25; a REVOKE one). */
  readonly maxEntitlements: number;
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
  /** Still a lane's open call, which other requests' pairs may join until it is sealed. */
  readonly open: boolean;
  readonly identities: number;
  readonly entitlements: number;
  /** Bumped when a re-drive puts a pair back into the call (its unit count does not change). */
  readonly rev: number;
  /** A status read proved the first send absent: a pair not in a later send was never sent. */
  readonly absent: boolean;
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

/** Where one of a request's pairs goes at the hand-off. */
export type Placement =
  { readonly call: string } | { readonly lane: number } | { readonly newCall: number } | undefined;

// Below the send window (call.service.ts): a WAIT that takes longer means the send is not made.
const REPLICA_WAIT_MS = 300;

function parseCall(id: string, h: Record<string, string>): StoredCall | undefined {
  if (h.state === undefined || h.ctx === undefined) return undefined;
  const units: CallUnit[] = [];
  for (let k = 1; k <= Number(h.nu ?? 0); k++) {
    const u = h[`u:${k}`];
    if (u !== undefined) units.push(JSON.parse(u) as CallUnit);
  }
  return {
    id,
    state: h.state as CallState,
    ctx: JSON.parse(h.ctx) as CallContext,
    units,
    createdAt: h.createdAt ?? new Date(0).toISOString(),
    sentAt: h.sentAt === undefined ? undefined : Number(h.sentAt),
    endedAt: h.endedAt === undefined ? undefined : Number(h.endedAt),
    reason: h.reason,
    children: JSON.parse(h.children ?? '[]') as string[],
    open: h.lane !== undefined && h.sealed === undefined && h.state === 'pending',
    identities: Number(h.ni ?? 0),
    entitlements: Number(h.ne ?? 0),
    rev: Number(h.rev ?? 0),
    absent: h.absent !== undefined,
  };
}

const unitArgs = (units: readonly CallUnit[]): (string | number)[] => [
  units.length,
  ...units.map((u) => JSON.stringify(u)),
];

/**
 * Every write is one script fenced by the BullMQ job lock and each pair's carrying call, so a stale
 * writer can never overwrite a re-drive or a cancel.
 */
export class CallStore {
  private readonly prefix: string;
  private readonly queueKeys: QueueKeys;
  private readonly handoffScript: LuaScript<(number | string)[]>;
  private readonly applyScript: LuaScript<(number | string)[]>;
  private readonly stampScript: LuaScript<number>;
  private readonly maxIdentities: number;
  private readonly minReplicas: number;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly requests: RequestStore,
    config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
    this.maxIdentities = config.idn.maxIdentitiesPerCall;
    this.minReplicas = config.redis.minReplicasAck;
    this.queueKeys = new QueueKeys(this.prefix);
    this.handoffScript = luaScript(redis, 'argCallHandoff', HANDOFF_LUA);
    this.applyScript = luaScript(redis, 'argCallApply', APPLY_LUA);
    this.stampScript = luaScript(redis, 'argCallStamp', STAMP_LUA);
  }

  key(callId: string): string {
    return redisKey(this.prefix, 'call', callId);
  }

  laneKey(lane: string): string {
    return redisKey(this.prefix, 'lane', lane);
  }

  /** Pairs waiting in calls that were never sealed, per client (a gauge for ops). */
  waitingKey(clientId: string): string {
    return redisKey(this.prefix, 'waiting', clientId);
  }

  /** The keys a cancel of one client's pairs writes besides the request (LifecycleStore.cancel). */
  cancelKeys(clientId: string): { readonly call: (callId: string) => string; readonly waiting: string } {
    return { call: (id) => this.key(id), waiting: this.waitingKey(clientId) };
  }

  /** Bumped by every hand-off: an idle scheduler looks at the queues again when it moves. */
  get ticketKey(): string {
    return redisKey(this.prefix, 'calls', 'ticket');
  }

  /** Every client that ever had calls: a scheduler also serves clients its own clients file lacks. */
  get clientsKey(): string {
    return redisKey(this.prefix, 'calls', 'clients');
  }

  /** Pairs handed to lanes per second, the demand that decides whether calls wait to fill up. */
  demandKey(second: number): string {
    return redisKey(this.prefix, 'demand', String(second));
  }

  /** The BullMQ lock of a job, which fences every write of the job's holder. */
  lockKey(queue: string, jobId: string): string {
    return `${this.queueKeys.toKey(queue, jobId)}:lock`;
  }

  callLockKey(clientId: string, callId: string): string {
    return this.lockKey(callQueueName(clientId), callId);
  }

  /** `sentAt` = now, under the lock: an orphan's deadline counts from the real send, not the seal. */
  async stampSend(callId: string, fence: Fence, at: number): Promise<boolean> {
    return (await this.stampScript([fence.lockKey, this.key(callId)], [fence.token, at])) === 1;
  }

  /** Whether replicas hold this connection's writes before a send: a failover must not forget a sent call. */
  async replicated(callId: string): Promise<boolean> {
    if (this.minReplicas < 1) return true;
    const acked = await waitForReplicas(this.redis, this.key(callId), this.minReplicas, REPLICA_WAIT_MS);
    return acked >= this.minReplicas;
  }

  /** The request hash whose `c:<fingerprint>` fields say which call carries each pair. */
  requestKey(trackingId: string): string {
    return this.requests.key(trackingId);
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

  /** Writes pairs and their calls in one step; returns the ids of created calls (they need jobs). */
  async handoff(input: {
    readonly trackingId: string;
    readonly clientId: string;
    readonly fence: Fence;
    readonly mode: 'new' | 'redrive';
    readonly meta: RequestMeta;
    readonly pairs: readonly {
      readonly fp: string;
      readonly d?: PairDescriptor;
      readonly o: PairResult;
      readonly place?: Placement;
    }[];
    readonly calls: readonly NewCall[];
    readonly lanes: readonly LaneUnit[];
    /** Ids for calls a lane unit may have to open, one per lane unit. */
    readonly candidates: readonly string[];
  }): Promise<{
    readonly outcome: 'written' | 'exists' | 'lock-lost' | 'changed';
    readonly created: readonly string[];
  }> {
    const now = new Date();
    const back = [
      ...new Set(
        input.pairs.flatMap((p) => (p.place !== undefined && 'call' in p.place ? [p.place.call] : [])),
      ),
    ];
    const args: (string | number)[] = [
      input.fence.token,
      this.requests.retentionSeconds,
      now.toISOString(),
      JSON.stringify(input.meta),
      input.mode,
      this.maxIdentities,
      input.pairs.length,
    ];
    for (const p of input.pairs) {
      const place = p.place;
      const code =
        place === undefined
          ? ''
          : 'call' in place
            ? `e${place.call}`
            : 'lane' in place
              ? `l${place.lane + 1}`
              : `c${place.newCall + 1}`;
      args.push(p.fp, p.d === undefined ? '' : JSON.stringify(p.d), JSON.stringify(p.o), code);
    }
    args.push(input.calls.length);
    for (const c of input.calls) args.push(c.id, JSON.stringify(c.ctx), ...unitArgs(c.units));
    args.push(input.lanes.length);
    input.lanes.forEach((l, k) => {
      const items = [...new Set(l.units.map((u) => `${u.item.type}|${u.item.id}`))];
      const ents = l.units.filter((u) => u.item.type === 'ENTITLEMENT').length;
      args.push(JSON.stringify(l.ctx), input.candidates[k] ?? '', l.identityId, l.maxEntitlements, ents);
      args.push(items.length, ...items, ...unitArgs(l.units));
    });
    args.push(...back, back.length, input.clientId);
    const keys = [
      this.requests.key(input.trackingId),
      input.fence.lockKey,
      this.waitingKey(input.clientId),
      this.ticketKey,
      this.demandKey(Math.floor(now.getTime() / 1000)),
      this.clientsKey,
      ...input.calls.map((c) => this.key(c.id)),
      ...input.lanes.flatMap((l, k) => [this.laneKey(l.lane), this.key(input.candidates[k] ?? '')]),
      ...back.map((id) => this.key(id)),
      this.requests.dirtyKey,
    ];
    const [code, ...created] = await this.handoffScript(keys, args);
    const outcome = code === 1 ? 'written' : code === 2 ? 'exists' : code === 3 ? 'changed' : 'lock-lost';
    return { outcome, created: created.map(String) };
  }

  /** One transition of a call (see call-state.ts) with the pair changes it brings. */
  async apply(input: {
    readonly call: Pick<StoredCall, 'id' | 'ctx'>;
    readonly fence: Fence;
    readonly from: readonly CallState[];
    readonly to?: CallState;
    readonly fields?: Readonly<Record<string, string | number | undefined>>;
    readonly pairs?: readonly PairUpdate[];
    /** Nothing is written unless every listed pair is still in the call and it has exactly these units. */
    readonly strict?: { readonly units?: number; readonly rev?: number };
    readonly newCalls?: readonly NewCall[];
  }): Promise<ApplyResult> {
    const pairs = input.pairs ?? [];
    const newCalls = input.newCalls ?? [];
    const reqs = [...new Set(pairs.map((p) => p.t))];
    const fields = Object.entries(input.fields ?? {});
    const args: (string | number)[] = [
      input.fence.token,
      input.call.id,
      this.requests.retentionSeconds,
      new Date().toISOString(),
      input.from.join(','),
      input.to ?? '',
      input.strict === undefined ? '0' : '1',
      input.strict?.units ?? '',
      input.strict?.rev ?? '',
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
    for (const c of newCalls) args.push(c.id, JSON.stringify(c.ctx), ...unitArgs(c.units));
    const keys = [
      this.key(input.call.id),
      input.fence.lockKey,
      this.waitingKey(input.call.ctx.clientId),
      ...reqs.map((t) => this.requests.key(t)),
      ...newCalls.map((c) => this.key(c.id)),
      this.requests.dirtyKey,
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
