import { AsyncLocalStorage } from 'node:async_hooks';
import type { PinoLogger } from './logger';

/**
 * The job being processed, for code deep below the processor (the IdentityNow call log lines):
 * they log through this job's child logger, so every line carries the HTTP request's id and
 * traceparent without threading a logger through every function.
 */
export const jobContext = new AsyncLocalStorage<{ readonly log: PinoLogger }>();
