/**
 * The worker's own Redis connection (dedupe claims, submission progress, status records, the global
 * IdentityNow rate limiter). Unlike the API's fail-fast connection it waits out short Redis outages,
 * as BullMQ's own connections do, so an outage delays jobs instead of failing their attempts.
 */
export const SUBMISSION_REDIS = Symbol('SUBMISSION_REDIS');
