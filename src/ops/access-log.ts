import { type DestinationStream, symbols } from 'pino';
import type { PinoLogger } from './logger';

/** The fields of one access log line, in the order they are written. */
export interface AccessLogFields {
  readonly requestId: string;
  readonly traceparent: string | undefined;
  readonly method: string;
  readonly route: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly client: string;
}

export type AccessLogLevel = 'debug' | 'info' | 'error';

/** What pino keeps on a logger and formats every line from; read once, never changed here. */
interface PinoParts {
  readonly [symbols.lsCacheSym]?: Record<number, string>;
  readonly [symbols.chindingsSym]?: string;
  readonly [symbols.timeSym]?: () => string;
  readonly [symbols.streamSym]?: DestinationStream;
}

const MSG = ',"msg":"http request"}\n';

/**
 * Byte-identical to `logger[level](fields, 'http request')` from a fixed template (pino's generic path was
 * costly per request), same destination so secrets are scrubbed; access-log.spec.ts compares the two.
 */
export function accessLogWriter(
  logger: PinoLogger,
): (level: AccessLogLevel, fields: AccessLogFields) => void {
  const parts = logger as unknown as PinoParts;
  const levelPrefix = parts[symbols.lsCacheSym];
  const bindings = parts[symbols.chindingsSym];
  const time = parts[symbols.timeSym];
  const stream = parts[symbols.streamSym];
  if (levelPrefix === undefined || bindings === undefined || time === undefined || stream === undefined) {
    return (level, fields) => {
      logger[level](fields, 'http request');
    };
  }
  return (level, f) => {
    const value = logger.levels.values[level];
    if (value === undefined || value < logger.levelVal) return;
    stream.write(
      `${levelPrefix[value] ?? ''}${time()}${bindings},"requestId":${JSON.stringify(f.requestId)}${
        f.traceparent === undefined ? '' : `,"traceparent":${JSON.stringify(f.traceparent)}`
      },"method":${JSON.stringify(f.method)},"route":${JSON.stringify(f.route)},"path":${JSON.stringify(
        f.path,
      )},"status":${f.status},"durationMs":${f.durationMs},"client":${JSON.stringify(f.client)}${MSG}`,
    );
  };
}
