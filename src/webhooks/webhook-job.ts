import { createHash } from 'node:crypto';
import type { RequestRecord } from '../access-request/request-record';

export const WEBHOOK_QUEUE = 'webhooks';
export const WEBHOOK_JOB_NAME = 'deliver';
export const WEBHOOK_BACKOFF_TYPE = 'webhook-window';
export const WEBHOOK_EVENT_TYPE = 'access_request.updated';

export interface WebhookPayload {
  readonly type: typeof WEBHOOK_EVENT_TYPE;
  readonly timestamp: string;
  readonly data: RequestRecord;
}

/** Versioned like the submission job. Holds no URL and no secret: both are read at delivery. */
export interface WebhookJobDataV1 {
  readonly v: 1;
  readonly clientId: string;
  readonly payload: WebhookPayload;
  /** Written by the first attempt; retries end WEBHOOK_RETRY_HOURS after it. */
  readonly firstAttemptAt?: string;
}

export type WebhookJobData = WebhookJobDataV1;

/** The job id and `webhook-id`: one per request and change, so notifying a change twice adds nothing. */
export function webhookMessageId(trackingId: string, version: string): string {
  const digest = createHash('sha256').update(`${trackingId}\n${version}`).digest('base64url');
  return `msg_${digest.slice(0, 27)}`;
}
