import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  IdempotencyInProgressError,
  IdempotencyMismatchError,
  InvalidRequestError,
  UnavailableError,
} from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { RedisClient } from '../redis/redis.connections';
import { REDIS } from '../redis/redis.tokens';
import { redisKey } from '../redis/redis.keys';
import { withRedisTimeout } from '../redis/redis-timeout';

const TTL_SECONDS = 24 * 3600;
/** In-progress lifetime: a dead answerer (or a late timed-out claim) must not block the key for a day. */
const PENDING_TTL_SECONDS = 120;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

interface PendingEntry {
  s: 'pending';
  h: string;
}
interface DoneEntry {
  s: 'done';
  h: string;
  status: number;
  body: unknown;
}
type Entry = PendingEntry | DoneEntry;

export type IdempotencyStart =
  { kind: 'proceed'; key: string; bodyHash: string } | { kind: 'replay'; status: number; body: unknown };

/** `Idempotency-Key`, per client, 24 h; `SET NX GET` claims and reads atomically (no two proceed). */
@Injectable()
export class IdempotencyService {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
  }

  async begin(clientId: string, idempotencyKey: string, body: unknown): Promise<IdempotencyStart> {
    if (!KEY_PATTERN.test(idempotencyKey)) {
      throw new InvalidRequestError(['Idempotency-Key must be 1 to 255 visible ASCII characters']);
    }
    const key = redisKey(
      this.prefix,
      'idem',
      clientId,
      createHash('sha256').update(idempotencyKey).digest('hex'),
    );
    const bodyHash = hashBody(body);
    const pending: PendingEntry = { s: 'pending', h: bodyHash };
    let previous: string | null;
    try {
      previous = await withRedisTimeout(
        this.redis.set(key, JSON.stringify(pending), 'EX', PENDING_TTL_SECONDS, 'NX', 'GET'),
      );
    } catch {
      throw new UnavailableError(['Redis is unavailable; nothing was accepted, retry shortly'], 5);
    }
    if (previous === null) return { kind: 'proceed', key, bodyHash };
    const entry = JSON.parse(previous) as Entry;
    if (entry.h !== bodyHash) {
      throw new IdempotencyMismatchError([
        'Idempotency-Key was already used with a different body; use a new key for a different request',
      ]);
    }
    if (entry.s === 'pending') {
      throw new IdempotencyInProgressError([
        'a request with this Idempotency-Key is still being answered; retry in a moment',
      ]);
    }
    return { kind: 'replay', status: entry.status, body: entry.body };
  }

  async complete(key: string, bodyHash: string, status: number, body: unknown): Promise<void> {
    const done: DoneEntry = { s: 'done', h: bodyHash, status, body };
    await withRedisTimeout(this.redis.set(key, JSON.stringify(done), 'EX', TTL_SECONDS));
  }

  /** The request was not accepted: free the key so the same request can be sent again. */
  async abandon(key: string): Promise<void> {
    await withRedisTimeout(this.redis.del(key)).catch(() => undefined);
  }
}

/** Same JSON, whatever the key order: a re-serialised body is still "the same body". */
export function hashBody(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  if (v === undefined) return 'null';
  return JSON.stringify(v);
}
