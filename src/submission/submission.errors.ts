/** The job data cannot be processed (wrong version, invalid request): fail it, never retry. */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError';
}

/** IdentityNow said 429 (or the global budget stayed exhausted): wait, without using an attempt. */
export class RateLimitedSignal extends Error {
  override readonly name = 'RateLimitedSignal';
  constructor(
    readonly retryAfterMs: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** A retryable failure: the attempt counts and BullMQ backs off (full jitter). */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
}

/** Every pair has its final outcome and at least one FAILED: the job ends failed (inspectable). */
export class SubmissionFailedError extends Error {
  override readonly name = 'SubmissionFailedError';
}
