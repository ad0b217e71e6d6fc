import type { AccessRequestBody } from '../access-request/access-request.types';

export const SUBMISSION_QUEUE = 'submissions';
export const SUBMISSION_JOB_NAME = 'submit';
export const SUBMISSION_BACKOFF_TYPE = 'full-jitter';

/** Versioned: a worker recognises every version still queued, so a rolling deploy strands nothing. */
export interface SubmissionJobDataV1 {
  readonly v: 1;
  readonly trackingId: string;
  readonly clientId: string;
  /** Rules like "removeDate is in the future" were checked against this instant. */
  readonly acceptedAt: string;
  readonly request: AccessRequestBody;
  readonly requestId?: string;
  readonly traceparent?: string;
}

export type SubmissionJobData = SubmissionJobDataV1;

const TRACKING_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A tracking id is the UUID the API minted; it is also the job id. */
export function isTrackingId(value: unknown): value is string {
  return typeof value === 'string' && TRACKING_ID.test(value);
}

/** One queue of calls per client: BullMQ has no groups, so a queue per client is what fair share picks from. */
export const callQueueName = (clientId: string): string => `calls.${clientId}`;
export const CALL_JOB_NAME = 'call';
/** Full jitter, but never sooner than the job's own minimum (a call of unknown outcome must settle). */
export const CALL_BACKOFF_TYPE = 'settle-jitter';

/** One IdentityNow submission to make; its content lives in the call record, not in the job. */
export interface CallJobData {
  readonly v: 1;
  readonly callId: string;
  readonly clientId: string;
  /** For log lines: the request the call was made for, when it carries one request only. */
  readonly trackingId?: string;
  readonly requestId?: string;
  readonly traceparent?: string;
}
