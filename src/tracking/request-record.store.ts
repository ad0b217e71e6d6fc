import { Inject, Injectable } from '@nestjs/common';
import type { ChainableCommander, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { REDIS } from '../redis/redis.tokens';
import { redisKey } from '../redis/redis.keys';
import type { RequestRecord } from '../access-request/request-record';

/** At least the dedupe window, so a DUPLICATE always names a holder whose status still exists. */
export function recordRetentionSeconds(config: AppConfig): number {
  return Math.max(config.submission.dedupeWindowSeconds, 86_400);
}

@Injectable()
export class RequestRecordStore {
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
    this.ttlSeconds = recordRetentionSeconds(config);
  }

  private key(trackingId: string): string {
    return redisKey(this.prefix, 'request', trackingId);
  }

  async get(trackingId: string): Promise<RequestRecord | undefined> {
    const raw = await this.redis.get(this.key(trackingId));
    return raw === null ? undefined : (JSON.parse(raw) as RequestRecord);
  }

  async put(record: RequestRecord): Promise<void> {
    await this.redis.set(this.key(record.trackingId), JSON.stringify(record), 'EX', this.ttlSeconds);
  }

  /** Adds the record's write to a MULTI another store builds. */
  putIn(tx: ChainableCommander, record: RequestRecord): ChainableCommander {
    return tx.set(this.key(record.trackingId), JSON.stringify(record), 'EX', this.ttlSeconds);
  }
}
