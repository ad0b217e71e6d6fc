import type { Cluster, Redis } from 'ioredis';
import type { ItemType, RequestType } from '../access-request/access-request.types';
import type {
  IdentityNowState,
  PairCancel,
  PairOutcome,
  RequestRecord,
} from '../access-request/request-record';
import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import { luaScript, type LuaScript } from '../redis/redis-scripts';
import { buildRecord } from './request-record.builder';

/** What a pair is, fixed at intake. `i` keeps the order of the accepted request. */
export interface PairDescriptor {
  readonly i: number;
  readonly requestedFor: string;
  readonly type: ItemType;
  readonly id: string;
  readonly requestType: RequestType;
}

/** What became of a pair. `call` names the last call that carried it; `unknown`: its outcome is. */
export interface PairResult {
  readonly outcome: PairOutcome;
  readonly accessRequestIds?: readonly string[];
  readonly duplicateOf?: string;
  readonly reason?: string;
  readonly call?: string;
  readonly unknown?: true;
}

/** What IdentityNow last said of a submitted pair (`s:` field): its state, and the row it came from. */
export interface PairIdnStatus {
  readonly state: IdentityNowState;
  readonly accessRequestId?: string;
  readonly modified?: string;
}

/** A cancel asked for a pair that is in flight or submitted (`x:` field). */
export interface PairCancelRecord {
  readonly state: PairCancel['state'];
  readonly comment: string;
  readonly reason?: string;
  readonly at: string;
}

export interface RequestMeta {
  readonly clientId: string;
  readonly createdAt: string;
  readonly requestId?: string;
  readonly traceparent?: string;
}

/** `handed-off`: every pair is final or in a call; `finished`: the request job ended. */
export type RequestPhase = 'handed-off' | 'finished' | 'redrive';

export interface StoredPair {
  readonly fp: string;
  readonly d: PairDescriptor;
  readonly o: PairResult;
  /** The call that carries the pair while it is not final. */
  readonly call: string | undefined;
  readonly attempts: number;
  readonly idn: PairIdnStatus | undefined;
  readonly cancel: PairCancelRecord | undefined;
}

export interface StoredRequest {
  readonly trackingId: string;
  readonly meta: RequestMeta;
  readonly phase: RequestPhase;
  readonly pairs: readonly StoredPair[];
  readonly updatedAt: string;
  /** Bumped by every write of the request (`v`): a change's identity. */
  readonly version: number;
  readonly closedAt: string | undefined;
  /** The digest of the last state told to the client's webhook. */
  readonly notified: string | undefined;
}

/** Hash fields of a request (one hash per request; see docs/architecture.md, "Records in Redis"). */
export const REQUEST_FIELD = {
  meta: 'meta',
  phase: 'phase',
  open: 'open',
  version: 'v',
  updatedAt: 'updatedAt',
  descriptor: 'd:',
  result: 'o:',
  call: 'c:',
  attempts: 'a:',
  idn: 's:',
  cancel: 'x:',
  closedAt: 'closedAt',
  notified: 'nd',
} as const;

export function requestRetentionSeconds(config: AppConfig): number {
  const s = config.submission;
  return Math.max(s.dedupeWindowSeconds, s.failedJobRetentionSeconds, 86_400);
}

export interface HolderPair {
  readonly result: PairResult;
  readonly idn: PairIdnStatus | undefined;
}

export function parseRequest(trackingId: string, h: Record<string, string>): StoredRequest | undefined {
  const meta = h[REQUEST_FIELD.meta];
  if (meta === undefined) return undefined;
  const pairs: StoredPair[] = [];
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith(REQUEST_FIELD.descriptor)) continue;
    const fp = field.slice(REQUEST_FIELD.descriptor.length);
    const result = h[REQUEST_FIELD.result + fp];
    const idn = h[REQUEST_FIELD.idn + fp];
    const cancel = h[REQUEST_FIELD.cancel + fp];
    pairs.push({
      fp,
      d: JSON.parse(value) as PairDescriptor,
      o: result === undefined ? { outcome: 'PENDING' } : (JSON.parse(result) as PairResult),
      call: h[REQUEST_FIELD.call + fp],
      attempts: Number(h[REQUEST_FIELD.attempts + fp] ?? 0),
      idn: idn === undefined ? undefined : (JSON.parse(idn) as PairIdnStatus),
      cancel: cancel === undefined ? undefined : (JSON.parse(cancel) as PairCancelRecord),
    });
  }
  pairs.sort((a, b) => a.d.i - b.d.i);
  return {
    trackingId,
    meta: JSON.parse(meta) as RequestMeta,
    phase: (h[REQUEST_FIELD.phase] ?? 'handed-off') as RequestPhase,
    pairs,
    updatedAt: h[REQUEST_FIELD.updatedAt] ?? (JSON.parse(meta) as RequestMeta).createdAt,
    version: Number(h[REQUEST_FIELD.version] ?? 0),
    closedAt: h[REQUEST_FIELD.closedAt],
    notified: h[REQUEST_FIELD.notified],
  };
}

const FINISHED_LUA = `
if redis.call('HEXISTS', KEYS[1], 'meta') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'finished')
return 1
`;

// The body's state changes (QUEUED again): a new version, marked for the webhook sweep.
const REDRIVE_LUA = `
if redis.call('HEXISTS', KEYS[1], 'meta') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'redrive')
local prev = redis.call('HGET', KEYS[1], 'updatedAt')
if not prev or prev < ARGV[2] then redis.call('HSET', KEYS[1], 'updatedAt', ARGV[2]) end
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
return 1
`;

/** One hash per request, written by the worker's scripts; the status body is derived on every read. */
export class RequestStore {
  readonly prefix: string;
  readonly retentionSeconds: number;
  // Defined up front: a script first defined while an auto-pipeline is open breaks that pipeline.
  private readonly finishedScript: LuaScript<number>;
  private readonly redriveScript: LuaScript<number>;

  constructor(
    readonly redis: Redis | Cluster,
    config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
    this.retentionSeconds = requestRetentionSeconds(config);
    this.finishedScript = luaScript(redis, 'argRequestFinished', FINISHED_LUA);
    this.redriveScript = luaScript(redis, 'argRequestRedrive', REDRIVE_LUA);
  }

  key(trackingId: string): string {
    return redisKey(this.prefix, 'req', trackingId);
  }

  /**
   * Changed, not yet told (ZADD NX in the writer's own script), so a crash before RequestEvents loses no
   * webhook: the lifecycle sweep tells what stays marked.
   */
  get dirtyKey(): string {
    return redisKey(this.prefix, 'lifecycle', 'dirty');
  }

  async load(trackingId: string): Promise<StoredRequest | undefined> {
    return parseRequest(trackingId, await this.redis.hgetall(this.key(trackingId)));
  }

  /** The status body; a DUPLICATE shows what its holder has achieved for the same pair so far. */
  async record(trackingId: string): Promise<RequestRecord | undefined> {
    const stored = await this.load(trackingId);
    return stored === undefined ? undefined : this.recordOf(stored);
  }

  async recordOf(stored: StoredRequest): Promise<RequestRecord> {
    const holders = new Map<string, HolderPair>();
    for (const p of stored.pairs) {
      const holder = p.o.duplicateOf;
      if (p.o.outcome !== 'DUPLICATE' || holder === undefined || holder === 'identitynow') continue;
      const [o, s] = await this.redis.hmget(
        this.key(holder),
        REQUEST_FIELD.result + p.fp,
        REQUEST_FIELD.idn + p.fp,
      );
      if (o === null || o === undefined) continue;
      holders.set(`${holder}|${p.fp}`, {
        result: JSON.parse(o) as PairResult,
        idn: s === null || s === undefined ? undefined : (JSON.parse(s) as PairIdnStatus),
      });
    }
    return buildRecord(stored, (holder, fp) => holders.get(`${holder}|${fp}`));
  }

  /** A job whose data is unusable still answers its status: FAILED, no pairs. */
  async recordInvalid(trackingId: string, meta: RequestMeta): Promise<void> {
    await this.redis
      .multi()
      .hsetnx(this.key(trackingId), REQUEST_FIELD.meta, JSON.stringify(meta))
      .hset(
        this.key(trackingId),
        REQUEST_FIELD.phase,
        'finished',
        REQUEST_FIELD.updatedAt,
        new Date().toISOString(),
      )
      .expire(this.key(trackingId), this.retentionSeconds)
      .exec();
  }

  /** Marks the request's job as ended; a request that was never written stays unwritten. */
  async markFinished(trackingId: string): Promise<void> {
    await this.finishedScript([this.key(trackingId)], []);
  }

  /** Admin re-drive of a failed request job: false when there is no progress left to continue from. */
  async requestRedrive(trackingId: string): Promise<boolean> {
    const now = Date.now();
    return (
      (await this.redriveScript(
        [this.key(trackingId), this.dirtyKey],
        [trackingId, new Date(now).toISOString(), now],
      )) === 1
    );
  }
}
