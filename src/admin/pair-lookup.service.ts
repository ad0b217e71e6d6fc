import { Inject, Injectable } from '@nestjs/common';
import {
  ITEM_TYPES,
  type ItemType,
  REQUEST_TYPES,
  type RequestType,
} from '../access-request/access-request.types';
import { pairFingerprint } from '../access-request/pairs';
import type { IdentityNowState, PairOutcome } from '../access-request/request-record';
import { GatewayError, InvalidRequestError, UnavailableError } from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { withRedisTimeout } from '../redis/redis-timeout';
import { DedupeStore } from '../submission/dedupe.store';
import { type PairIdnStatus, type PairResult, REQUEST_FIELD, RequestStore } from '../tracking/request.store';

export interface PairHolder {
  trackingId: string;
  clientId: string | null;
  /** When the holding request was accepted. */
  since: string | null;
  /** When the claim runs out (unless the holder's next send extends it, or its end releases it). */
  until: string | null;
  outcome: PairOutcome | null;
  identityNowState: IdentityNowState | null;
  accessRequestIds: string[];
  closedAt: string | null;
}

export interface PairLookup {
  requestType: RequestType;
  fingerprint: string;
  /** null: nothing holds the pair; a request for it now is submitted. */
  holder: PairHolder | null;
}

const DATES = ['startDate', 'removeDate'] as const;

function one(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 256) {
    throw new InvalidRequestError([`${name} must be given once, 1 to 256 characters`]);
  }
  return v;
}

/** `GET /admin/pairs`: who holds a pair, since and until when, and how far it got. Read-only. */
@Injectable()
export class PairLookupService {
  private readonly dedupe: DedupeStore;

  constructor(
    @Inject(RequestStore) private readonly requests: RequestStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.dedupe = new DedupeStore(requests.redis, config);
  }

  async lookUp(query: Record<string, unknown>): Promise<{ pairs: PairLookup[] }> {
    const identity = one(query, 'identity');
    const type = one(query, 'type');
    const id = one(query, 'id');
    const requestType = one(query, 'requestType');
    const problems = [
      ...(identity === undefined ? ['identity is required (an identity id)'] : []),
      ...(type === undefined || !(ITEM_TYPES as readonly string[]).includes(type)
        ? [`type is required: one of ${ITEM_TYPES.join(', ')}`]
        : []),
      ...(id === undefined ? ['id is required (the item id)'] : []),
      ...(requestType !== undefined && !(REQUEST_TYPES as readonly string[]).includes(requestType)
        ? [`requestType must be one of ${REQUEST_TYPES.join(', ')}`]
        : []),
      ...DATES.filter((d) => {
        const v = one(query, d);
        return v !== undefined && Number.isNaN(Date.parse(v));
      }).map((d) => `${d} must be an ISO-8601 date-time`),
    ];
    if (problems.length > 0) throw new InvalidRequestError(problems);
    const item = {
      type: type as ItemType,
      id: id as string,
      ...Object.fromEntries(
        (['startDate', 'removeDate', 'assignmentId', 'nativeIdentity'] as const).flatMap((k) => {
          const v = one(query, k);
          return v === undefined ? [] : [[k, v]];
        }),
      ),
    };
    const types = requestType === undefined ? [...REQUEST_TYPES] : [requestType as RequestType];
    try {
      return {
        pairs: await withRedisTimeout(
          Promise.all(types.map((t) => this.lookUpOne(t, identity as string, item))),
          2_000,
        ),
      };
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      throw new UnavailableError(['Redis is unavailable; retry shortly'], 5);
    }
  }

  private async lookUpOne(
    requestType: RequestType,
    identityId: string,
    item: { type: ItemType; id: string },
  ): Promise<PairLookup> {
    const fingerprint = pairFingerprint(requestType, identityId, item);
    const [trackingId] = await this.dedupe.holders([{ requestType, identityId, item, fingerprint }]);
    if (trackingId === undefined) return { requestType, fingerprint, holder: null };
    const redis = this.requests.redis;
    const [ttl, fields] = await Promise.all([
      redis.pttl(this.dedupe.claimKey(fingerprint)),
      redis.hmget(
        this.requests.key(trackingId),
        REQUEST_FIELD.meta,
        REQUEST_FIELD.result + fingerprint,
        REQUEST_FIELD.idn + fingerprint,
        REQUEST_FIELD.closedAt,
      ),
    ]);
    const [meta, o, s, closedAt] = fields.map((f) => f ?? undefined);
    const m = meta === undefined ? undefined : (JSON.parse(meta) as { clientId: string; createdAt: string });
    const result = o === undefined ? undefined : (JSON.parse(o) as PairResult);
    const idn = s === undefined ? undefined : (JSON.parse(s) as PairIdnStatus);
    return {
      requestType,
      fingerprint,
      holder: {
        trackingId,
        clientId: m?.clientId ?? null,
        since: m?.createdAt ?? null,
        until: ttl > 0 ? new Date(Date.now() + ttl).toISOString() : null,
        outcome: result?.outcome ?? (m === undefined ? null : 'PENDING'),
        identityNowState: idn?.state ?? null,
        accessRequestIds: [...(result?.accessRequestIds ?? [])],
        closedAt: closedAt ?? null,
      },
    };
  }
}
