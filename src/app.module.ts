import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { AccessRequestsModule } from './api/access-requests.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './ops/health.module';
import { bullConnection } from './redis/redis.connections';
import { RedisModule } from './redis/redis.module';
import { AdminModule } from './admin/admin.module';
import type { WebhookDeliverySettings } from './webhooks/webhook-delivery.settings';
import { WebhooksModule } from './webhooks/webhooks.module';

export interface AppModuleOptions {
  /** Feature modules that run only in the worker role (registered by the worker feature). */
  readonly workerModules?: readonly (Type | DynamicModule)[];
  /** Modules every role gets (operations: metrics, logging, dashboard). */
  readonly extraModules?: readonly (Type | DynamicModule)[];
  /** Webhook delivery tuning (tests shorten the backoff); the defaults are the contract's. */
  readonly webhookDelivery?: Partial<WebhookDeliverySettings>;
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
        // Every role tells webhooks (a cancel at the API too); only workers deliver them.
        WebhooksModule.forRoot({
          deliver: worker,
          ...(options.webhookDelivery === undefined ? {} : { delivery: options.webhookDelivery }),
        }),
        ...(api ? [AccessRequestsModule, AdminModule.forRoot(config)] : []),
        ...(worker ? (options.workerModules ?? []) : []),
        ...(options.extraModules ?? []),
      ],
    };
  }
}
