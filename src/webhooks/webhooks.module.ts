import { type DynamicModule, Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';
import {
  WEBHOOK_DELIVERY_DEFAULTS,
  WEBHOOK_DELIVERY_SETTINGS,
  type WebhookDeliverySettings,
} from './webhook-delivery.settings';
import { WebhookNotifier } from './webhook.producer';

export interface WebhooksModuleOptions {
  /** Run the delivery worker in this process: true for ROLE=worker|all. */
  readonly deliver: boolean;
  readonly delivery?: Partial<WebhookDeliverySettings>;
}

/** Webhooks to calling apps: `WebhookNotifier` for every module (global), delivery where asked. */
@Module({})
export class WebhooksModule {
  static forRoot(options: WebhooksModuleOptions): DynamicModule {
    return {
      module: WebhooksModule,
      global: true,
      imports: [ClientsModule],
      providers: [
        {
          provide: WEBHOOK_DELIVERY_SETTINGS,
          useValue: { ...WEBHOOK_DELIVERY_DEFAULTS, ...options.delivery },
        },
        WebhookNotifier,
        ...(options.deliver ? [WebhookDeliveryProcessor] : []),
      ],
      exports: [WebhookNotifier],
    };
  }
}
