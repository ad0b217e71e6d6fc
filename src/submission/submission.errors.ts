/** Fail the job, never retry. */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError';
}

/** Wait without using an attempt. */
export class RateLimitedSignal extends Error {
  override readonly name = 'RateLimitedSignal';
  constructor(
    readonly retryAfterMs: number,
    reason: string,
  ) {
    super(reason);
  }
}

export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
}

/** Every pair settled, at least one FAILED: the job ends failed (inspectable). */
export class SubmissionFailedError extends Error {
  override readonly name = 'SubmissionFailedError';
}
