import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { AccessRequestsModule } from './access-requests/access-requests.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './ops/health.module';
import { RedisModule } from './redis/redis.module';
import { SubmissionAdminModule } from './submission/submission-admin.module';

export interface AppModuleOptions {
  /** Feature modules that run only in the worker role (registered by the worker feature). */
  readonly workerModules?: readonly (Type | DynamicModule)[];
  /** Modules every role gets (operations: metrics, logging, dashboard). */
  readonly extraModules?: readonly (Type | DynamicModule)[];
}

/** Parses REDIS_URL into options BullMQ can duplicate for its own (blocking) connections. */
export function bullConnection(config: AppConfig): Record<string, unknown> {
  const u = new URL(config.redis.url);
  return {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ workers must wait out Redis outages rather than fail commands.
    maxRetriesPerRequest: null,
  };
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
        ...(api ? [AccessRequestsModule, SubmissionAdminModule] : []),
        ...(worker ? (options.workerModules ?? []) : []),
        ...(options.extraModules ?? []),
      ],
    };
  }
}
