import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import type { DynamicModule } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { SUBMISSION_QUEUE } from '../queue/submission-job';
import { CANCEL_QUEUE } from '../lifecycle/cancel-job';
import { WEBHOOK_QUEUE } from '../webhooks/webhook-job';
import { QUEUE_DASHBOARD_ROUTE } from './admin-auth';

/** Bull Board at /admin/queues; unmounted without ADMIN_USER (404); auth is admin-auth.ts's hook. */
export function queueDashboardModules(config: AppConfig): DynamicModule[] {
  if (config.admin.user === undefined) return [];
  const readOnly = config.admin.readOnly;
  return [
    BullBoardModule.forRoot({
      route: QUEUE_DASHBOARD_ROUTE,
      adapter: FastifyAdapter,
      boardOptions: {
        uiConfig: {
          boardTitle: 'access-request-gateway',
          hideDocsLink: true,
        },
      },
    }),
    BullBoardModule.forFeature({
      name: SUBMISSION_QUEUE,
      adapter: BullMQAdapter,
      options: {
        readOnlyMode: readOnly,
        allowRetries: !readOnly,
        description: 'Accepted access requests waiting for, or being, submitted to IdentityNow',
      },
    }),
    BullBoardModule.forFeature({
      name: WEBHOOK_QUEUE,
      adapter: BullMQAdapter,
      options: {
        readOnlyMode: readOnly,
        allowRetries: !readOnly,
        description: 'access_request.updated deliveries to the calling apps (webhooks); failed = given up',
      },
    }),
    BullBoardModule.forFeature({
      name: CANCEL_QUEUE,
      adapter: BullMQAdapter,
      options: {
        readOnlyMode: readOnly,
        allowRetries: !readOnly,
        description: 'Cancels of submitted pairs, carried out in IdentityNow (one job per request)',
      },
    }),
  ];
}
