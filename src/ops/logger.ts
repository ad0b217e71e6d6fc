import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import type { SubmissionJobData } from '../queue/submission-job';

/** The process logger: pino, JSON lines on stdout. `logger.child({ requestId, traceparent })` for context. */
export type PinoLogger = Logger;

/** DI token for the process's pino logger (provided globally by OpsModule). */
export const PINO_LOGGER = Symbol('PINO_LOGGER');

export const REDACTED = '[REDACTED]';

/**
 * Fields that may carry a credential wherever they appear in a log object (pino matches these
 * paths exactly, `*` standing for one level). Request logs never include headers or bodies in the
 * first place; this list is the second line of defence for anything a future log call passes in.
 */
export const REDACT_PATHS: readonly string[] = (() => {
  const names = [
    'authorization',
    'Authorization',
    'cookie',
    'password',
    'secret',
    'token',
    'client_secret',
    'clientSecret',
    'access_token',
    'accessToken',
    'refresh_token',
    'id_token',
    'tokenSigningSecret',
    'devClientSecret',
    'IDN_CLIENT_SECRET',
    'TOKEN_SIGNING_SECRET',
    'DEV_CLIENT_SECRET',
    'ADMIN_PASSWORD',
    'SIMULATOR_CLIENT_SECRET',
  ];
  const paths = new Set<string>();
  for (const n of names) {
    paths.add(n);
    paths.add(`*.${n}`);
    paths.add(`*.*.${n}`);
    paths.add(`*.headers.${n}`);
    paths.add(`*.*.headers.${n}`);
  }
  // Whole bodies of token exchanges (ours and IdentityNow's) are never worth their risk.
  for (const p of ['body', 'form', 'params']) {
    paths.add(`oauth.${p}`);
    paths.add(`tokenRequest.${p}`);
  }
  return [...paths];
})();

/** Secret values known from configuration: scrubbed from every serialized line, whatever the field. */
export function configuredSecrets(config: AppConfig): string[] {
  return [
    config.idn.clientSecret,
    config.auth.devClientSecret,
    config.auth.tokenSigningSecretIsDerived ? undefined : config.auth.tokenSigningSecret,
    config.admin.password,
    config.simulator.clientSecret,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);
}

/**
 * Wraps a destination so that configured secret values never reach it, even inside a message text
 * or an error's stack (where field-path redaction cannot look).
 */
export function scrubbingDestination(
  target: DestinationStream,
  secrets: readonly string[],
): DestinationStream {
  if (secrets.length === 0) return target;
  return {
    write(line: string): void {
      let out = line;
      for (const s of secrets) {
        if (out.includes(s)) out = out.split(s).join(REDACTED);
      }
      target.write(out);
    },
  };
}

export interface CreateLoggerOptions {
  /** Where lines go (default: stdout, synchronously so nothing is lost on exit). Tests pass a buffer. */
  readonly destination?: DestinationStream;
  /** Overrides config.logLevel. */
  readonly level?: string;
}

const FLUSH_INTERVAL_MS = 1_000;

/**
 * stdout, buffered: one write(2) per ~4 KiB of lines instead of one per line (a synchronous write per
 * request was ~10% of the accept path's CPU). Flushed every second, so lines are never late by more
 * than that, and synchronously on exit (SIGTERM, process.exit, a crash that reaches 'exit'). Only a
 * SIGKILL can lose the last second of lines.
 */
function bufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    dest.flush();
  }, FLUSH_INTERVAL_MS);
  timer.unref();
  process.once('exit', () => {
    clearInterval(timer);
    try {
      dest.flushSync();
    } catch {
      // stdout already closed: nothing left to save.
    }
  });
  return dest;
}

/** The gateway's pino logger: JSON, level from LOG_LEVEL, credentials redacted. */
export function createLogger(config: AppConfig, options: CreateLoggerOptions = {}): PinoLogger {
  const destination = scrubbingDestination(
    options.destination ?? bufferedStdout(),
    configuredSecrets(config),
  );
  return pino(
    {
      level: options.level ?? config.logLevel,
      base: { service: 'access-request-gateway', role: config.role, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination,
  );
}

/**
 * A child logger for one job: every line it writes (job outcome, IdentityNow calls) carries the
 * ids that tie it to the HTTP request that created the job. Ids only, never the request body.
 */
export function jobLogger(
  logger: PinoLogger,
  data: Pick<SubmissionJobData, 'trackingId' | 'clientId' | 'requestId' | 'traceparent'>,
  extra: Record<string, unknown> = {},
): PinoLogger {
  return logger.child({
    trackingId: data.trackingId,
    clientId: data.clientId,
    ...(data.requestId === undefined ? {} : { requestId: data.requestId }),
    ...(data.traceparent === undefined ? {} : { traceparent: data.traceparent }),
    ...extra,
  });
}

type NestLevel = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
const PINO_LEVEL: Record<NestLevel, 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal'> = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Error);

/**
 * Nest's LoggerService over pino, so framework messages (bootstrap, `new Logger(ctx)` calls) come
 * out as the same JSON lines. Nest passes `(message, ...params)` where the last string param is the
 * context and, for `error`, a string before it is a stack.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: PinoLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: NestLevel, message: unknown, params: unknown[]): void {
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    // Nest appends the context (the `new Logger('Name')` argument) as the last string.
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') {
      fields.context = rest.pop();
    }
    let msg: string | undefined;
    if (isRecord(message)) {
      Object.assign(fields, message);
      if (typeof rest[0] === 'string') msg = rest.shift() as string;
    } else if (message instanceof Error) {
      fields.err = message;
      msg = message.message;
    } else {
      msg = typeof message === 'string' ? message : JSON.stringify(message);
    }
    if (level === 'error' && typeof rest[0] === 'string' && rest[0].includes('\n    at ')) {
      fields.stack = rest.shift();
    }
    if (rest.length > 0) fields.params = rest;
    this.logger[PINO_LEVEL[level]](fields, msg);
  }
}
