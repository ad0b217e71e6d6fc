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
  readonly imports?: ModuleMetadata['imports'];
  /** For the global rate limiter; its lifecycle stays with its owner. */
  readonly redis: IdnProviderSource;
  readonly connection: IdnProviderSource;
}

/** IdentityNow access: client, token provider and the global rate limiter. */
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
