import {
  type DynamicModule,
  type ExistingProvider,
  type FactoryProvider,
  Module,
  type ModuleMetadata,
  type ValueProvider,
} from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowClient } from './identitynow.client';
import { createIdnDispatcher } from './identitynow.http';
import { IDN_CONNECTION, IDN_DISPATCHER, IDN_REDIS, type IdnRedis } from './identitynow.tokens';
import { RateLimiterService } from './rate-limiter.service';
import { TokenProvider } from './token.provider';

/** A provider definition without its token: `{ useValue }`, `{ useFactory, inject }` or `{ useExisting }`. */
export type IdnProviderSource =
  Omit<ValueProvider, 'provide'> | Omit<FactoryProvider, 'provide'> | Omit<ExistingProvider, 'provide'>;

export interface IdentityNowModuleOptions {
  /** Modules that export what the factories below inject (e.g. the module holding the Redis connection). */
  readonly imports?: ModuleMetadata['imports'];
  /** The ioredis connection (Redis or Cluster) for the global rate limiter. Its lifecycle stays with the owner. */
  readonly redis: IdnProviderSource;
  /** Where and as whom to call IdentityNow (the tenant, or the embedded simulator). */
  readonly connection: IdnProviderSource;
}

/**
 * IdentityNow access: client, token provider and the global rate limiter. Needs APP_CONFIG (the
 * global ConfigModule) plus the Redis connection and IdnConnection given to `forRoot`.
 */
@Module({})
export class IdentityNowModule {
  static forRoot(options: IdentityNowModuleOptions): DynamicModule {
    return {
      module: IdentityNowModule,
      imports: options.imports ?? [],
      providers: [
        { provide: IDN_REDIS, ...options.redis },
        { provide: IDN_CONNECTION, ...options.connection },
        {
          provide: IDN_DISPATCHER,
          useFactory: (config: AppConfig) => createIdnDispatcher(config.idn.timeoutMs),
          inject: [APP_CONFIG],
        },
        TokenProvider,
        {
          provide: RateLimiterService,
          useFactory: (config: AppConfig, redis: IdnRedis) => new RateLimiterService(config, redis),
          inject: [APP_CONFIG, IDN_REDIS],
        },
        IdentityNowClient,
      ],
      exports: [IdentityNowClient, RateLimiterService, TokenProvider, IDN_CONNECTION, IDN_REDIS],
    };
  }
}
