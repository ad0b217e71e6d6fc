import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { REDIS } from '../redis/redis.tokens';
import { RequestEvents } from './request-events';
import { RequestStore } from './request.store';

/** The API's view of requests, through its fail-fast connection. */
@Module({
  providers: [
    {
      provide: RequestStore,
      inject: [REDIS, APP_CONFIG],
      useFactory: (redis: Redis, config: AppConfig) => new RequestStore(redis, config),
    },
    RequestEvents,
  ],
  exports: [RequestStore, RequestEvents],
})
export class TrackingModule {}
