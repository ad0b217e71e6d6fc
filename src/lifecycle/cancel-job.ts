export const CANCEL_QUEUE = 'cancels';
export const CANCEL_JOB_NAME = 'cancel';
export const CANCEL_BACKOFF_TYPE = 'cancel-jitter';

/** Versioned like the submission job. The comment travels in the pairs' cancel notes, not here. */
export interface CancelJobDataV1 {
  readonly v: 1;
  readonly trackingId: string;
  readonly clientId: string;
}

export type CancelJobData = CancelJobDataV1;
