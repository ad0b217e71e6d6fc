import { AsyncLocalStorage } from 'node:async_hooks';
import type { PinoLogger } from './logger';

/** The running job's child logger, for log lines far below the processor (docs/architecture.md, Observability). */
export const jobContext = new AsyncLocalStorage<{ readonly log: PinoLogger }>();
