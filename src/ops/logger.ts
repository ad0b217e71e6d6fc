import type { LoggerService } from '@nestjs/common';
import { pino, symbols, type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { pinoIsoTime } from '../common/iso-time';
import type { SubmissionJobData } from '../queue/submission-job';

export type PinoLogger = Logger;

export const PINO_LOGGER = Symbol('PINO_LOGGER');

export const REDACTED = '[REDACTED]';
/** Shorter values would redact ordinary text. */
const MIN_SECRET_LENGTH = 4;

/** Credential-bearing fields, up to two levels deep: a second line of defence behind never logging them. */
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
    'TOKEN_ACCEPTED_SIGNING_SECRET',
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
  for (const p of ['body', 'form', 'params']) {
    paths.add(`oauth.${p}`);
    paths.add(`tokenRequest.${p}`);
  }
  return [...paths];
})();

/** A password inside REDIS_URL would otherwise reach the logs with any connection error. */
function redisUrlPassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

export function configuredSecrets(config: AppConfig): string[] {
  return [
    config.idn.clientSecret,
    config.auth.devClientSecret,
    config.auth.tokenSigningSecretIsDerived ? undefined : config.auth.tokenSigningSecret,
    config.auth.acceptedTokenSigningSecret,
    config.admin.password,
    config.simulator.clientSecret,
    config.redis.password,
    redisUrlPassword(config.redis.url),
  ].filter((s): s is string => typeof s === 'string');
}

/** Configured secret values never reach the destination, even inside a message or a stack. */
class ScrubbingDestination implements DestinationStream {
  private readonly secrets: string[] = [];

  constructor(
    private readonly target: DestinationStream,
    secrets: readonly string[],
  ) {
    this.add(secrets);
  }

  add(secrets: readonly string[]): void {
    for (const s of secrets) {
      if (s.length >= MIN_SECRET_LENGTH && !this.secrets.includes(s)) this.secrets.push(s);
    }
  }

  write(line: string): void {
    let out = line;
    for (const s of this.secrets) {
      if (out.includes(s)) out = out.split(s).join(REDACTED);
    }
    this.target.write(out);
  }
}

/** Secrets known only once the application is built (the clients file's webhook secrets). */
export function addLogSecrets(logger: PinoLogger, secrets: readonly string[]): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[symbols.streamSym];
  if (stream instanceof ScrubbingDestination) stream.add(secrets);
}

export interface CreateLoggerOptions {
  readonly destination?: DestinationStream;
  readonly level?: string;
}

const FLUSH_INTERVAL_MS = 1_000;
/** Characters of lines gathered before they are handed to the writer as one string. */
const CHUNK_CHARS = 64 * 1024;

let stdoutBuffer: DestinationStream | undefined;

/** One per process: stdout is one stream, and each buffer holds a timer and an exit listener. */
function bufferedStdout(): DestinationStream {
  stdoutBuffer ??= createBufferedStdout();
  return stdoutBuffer;
}

/**
 * A write(2) per line was ~10% of the accept path's CPU: buffered, flushed every second and on exit,
 * so only a SIGKILL can lose the last second of lines. Lines are gathered here and joined once per
 * 64 KiB: sonic-boom's own buffer appends each line to one string and measures it per line, which
 * copied the whole buffer every line (at 4 KiB, the writes of those strings were 5 % of the accept
 * path; at 64 KiB, the copies were 40 % of all bytes allocated). sonic-boom still does the writing
 * (partial writes, EAGAIN, the synchronous flush on exit).
 */
function createBufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false });
  let lines: string[] = [];
  let chars = 0;
  const drain = (): void => {
    if (lines.length === 0) return;
    const chunk = lines.join('');
    lines = [];
    chars = 0;
    dest.write(chunk);
  };
  const timer = setInterval(drain, FLUSH_INTERVAL_MS);
  timer.unref();
  process.once('exit', () => {
    clearInterval(timer);
    try {
      drain();
      dest.flushSync();
    } catch {
      // stdout already closed.
    }
  });
  return {
    write(line: string): void {
      lines.push(line);
      chars += line.length;
      if (chars >= CHUNK_CHARS) drain();
    },
  };
}

export function createLogger(config: AppConfig, options: CreateLoggerOptions = {}): PinoLogger {
  const destination = new ScrubbingDestination(
    options.destination ?? bufferedStdout(),
    configuredSecrets(config),
  );
  return pino(
    {
      level: options.level ?? config.logLevel,
      base: { service: 'access-request-gateway', role: config.role, pid: process.pid },
      timestamp: pinoIsoTime,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination,
  );
}

/** Ties a job's lines to the HTTP request that created it: ids only, never the body. */
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

/** Nest's own messages as the same JSON lines. Nest passes `(message, ...params, context)`. */
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
