/** The API's fail-fast connection (quota, idempotency, status, queue producer). */
export const REDIS = Symbol('REDIS');

/** The worker's patient connection (dedupe, progress, status records, the IdentityNow budget). */
export const WORKER_REDIS = Symbol('WORKER_REDIS');
