import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { AccessRequestsModule } from './api/access-requests.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './ops/health.module';
import { bullConnection } from './redis/redis.connections';
import { RedisModule } from './redis/redis.module';
import { AdminModule } from './admin/admin.module';

export interface AppModuleOptions {
  /** Feature modules that run only in the worker role (registered by the worker feature). */
  readonly workerModules?: readonly (Type | DynamicModule)[];
  /** Modules every role gets (operations: metrics, logging, dashboard). */
  readonly extraModules?: readonly (Type | DynamicModule)[];
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    const api = config.role === 'api' || config.role === 'all';
    const worker = config.role === 'worker' || config.role === 'all';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        HealthModule,
        BullModule.forRoot({ connection: bullConnection(config), prefix: config.redis.prefix }),
        ...(api ? [AccessRequestsModule, AdminModule.forRoot(config)] : []),
        ...(worker ? (options.workerModules ?? []) : []),
        ...(options.extraModules ?? []),
      ],
    };
  }
}
