import { createHash } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { EnvironmentVariables } from './env.schema';
import { type RedisConfig, redisConfigFrom, redisConfigProblems } from './redis-config';

export type Role = 'all' | 'api' | 'worker';

/** Typed, validated configuration. The only way the rest of the code learns about the environment. */
export interface AppConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly role: Role;
  readonly http: { readonly port: number; readonly bodyLimitBytes: number };
  readonly redis: RedisConfig;
  readonly idn: {
    /** Unset means: start the embedded simulator and point the client at it. */
    readonly baseUrl: string | undefined;
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly tokenUrl: string | undefined;
    readonly rateLimitMax: number;
    readonly rateLimitWindowMs: number;
    readonly timeoutMs: number;
  };
  readonly submission: {
    readonly attempts: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly dedupeWindowSeconds: number;
    /** How long finished jobs stay in BullMQ (the request's status record is kept separately). */
    readonly completedJobRetentionSeconds: number;
    readonly failedJobRetentionSeconds: number;
    readonly concurrency: number;
    readonly shutdownGraceMs: number;
    /** BullMQ job lock; a job of a killed worker is taken over after this (plus one stalled check). */
    readonly lockDurationMs: number;
  };
  readonly auth: {
    readonly clientsFile: string | undefined;
    readonly devClientSecret: string | undefined;
    readonly tokenSigningSecret: string;
    /** True when TOKEN_SIGNING_SECRET was not given and the dev key is derived from DEV_CLIENT_SECRET. */
    readonly tokenSigningSecretIsDerived: boolean;
  };
  readonly simulator: {
    readonly port: number;
    readonly clientId: string;
    readonly clientSecret: string;
    /** Interface of the standalone simulator (the embedded one always binds to loopback). */
    readonly host: string;
    /** Calls per client_id per window; 0 disables the limit (benchmarks). */
    readonly rateLimitMax: number;
    readonly rateLimitWindowMs: number;
    readonly tokenTtlSeconds: number;
    readonly tokenFormat: 'opaque' | 'jwt';
    /** `/__sim/*` fault and record controls: on in development/test, off in production unless set. */
    readonly controlApi: boolean;
    /** Pending items reach their final state after this long; null = never. */
    readonly completeAfterMs: number | null;
    readonly rejectRate: number;
    readonly latency: { readonly minMs: number; readonly maxMs: number } | null;
    readonly errorRates: Readonly<Partial<Record<500 | 502 | 503 | 504, number>>>;
  };
  readonly admin: {
    readonly user: string | undefined;
    readonly password: string | undefined;
    /** Bull Board shows queues and jobs but refuses retry, remove, pause, clean. */
    readonly readOnly: boolean;
  };
  readonly logLevel: string;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

function flatten(errors: readonly ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((msg) =>
      msg.startsWith(e.property) ? msg : `${e.property}: ${msg}`,
    ),
  );
}

/**
 * Validates the environment and returns typed configuration, or throws one error listing every bad
 * variable. Pure: tests pass their own env object.
 */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): AppConfig {
  const env = plainToInstance(EnvironmentVariables, { ...source }, { exposeDefaultValues: false });
  const problems = flatten(validateSync(env, { forbidUnknownValues: false }));
  problems.push(...redisConfigProblems(env));

  const nodeEnv = (env.NODE_ENV ?? 'development') as AppConfig['env'];
  if (nodeEnv === 'production') {
    if (env.CLIENTS_FILE === undefined) {
      problems.push(
        'CLIENTS_FILE is required in production (the dev client is refused when NODE_ENV=production)',
      );
    }
    if (env.DEV_CLIENT_SECRET !== undefined) {
      problems.push('DEV_CLIENT_SECRET is refused in production (NODE_ENV=production)');
    }
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);

  const baseUrl = env.IDN_BASE_URL?.replace(/\/+$/, '');
  const devClientSecret =
    env.CLIENTS_FILE === undefined ? (env.DEV_CLIENT_SECRET ?? 'dev-secret') : undefined;
  const backoffBaseMs = env.BACKOFF_BASE_MS ?? 1000;
  return {
    env: nodeEnv,
    role: (env.ROLE ?? 'all') as Role,
    http: { port: env.PORT ?? 3000, bodyLimitBytes: env.BODY_LIMIT_BYTES ?? 1_048_576 },
    redis: redisConfigFrom(env),
    idn: {
      baseUrl,
      clientId: env.IDN_CLIENT_ID,
      clientSecret: env.IDN_CLIENT_SECRET,
      tokenUrl: env.IDN_TOKEN_URL ?? (baseUrl === undefined ? undefined : `${baseUrl}/oauth/token`),
      rateLimitMax: env.IDN_RATE_LIMIT_MAX ?? 95,
      rateLimitWindowMs: env.IDN_RATE_LIMIT_WINDOW_MS ?? 10_000,
      timeoutMs: env.IDN_TIMEOUT_MS ?? 10_000,
    },
    submission: {
      attempts: env.SUBMIT_ATTEMPTS ?? 8,
      backoffBaseMs,
      backoffMaxMs: Math.max(env.BACKOFF_MAX_MS ?? 300_000, backoffBaseMs),
      dedupeWindowSeconds: env.DEDUPE_WINDOW_SECONDS ?? 86_400,
      completedJobRetentionSeconds: env.COMPLETED_JOB_RETENTION_SECONDS ?? 3_600,
      failedJobRetentionSeconds: env.FAILED_JOB_RETENTION_SECONDS ?? 604_800,
      concurrency: env.WORKER_CONCURRENCY ?? 16,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS ?? 20_000,
      lockDurationMs: env.WORKER_LOCK_DURATION_MS ?? 30_000,
    },
    auth: {
      clientsFile: env.CLIENTS_FILE,
      devClientSecret,
      // Without CLIENTS_FILE (development only) the key is derived from the dev secret, so tokens still
      // verify on every API process and across restarts, as the contract promises.
      tokenSigningSecret:
        env.TOKEN_SIGNING_SECRET ??
        createHash('sha256')
          .update(`access-request-gateway/dev-token-key/${devClientSecret ?? ''}`)
          .digest('hex'),
      tokenSigningSecretIsDerived: env.TOKEN_SIGNING_SECRET === undefined,
    },
    simulator: {
      port: env.SIMULATOR_PORT ?? 4010,
      clientId: env.SIMULATOR_CLIENT_ID ?? 'sim-client',
      clientSecret: env.SIMULATOR_CLIENT_SECRET ?? 'sim-secret',
      host: env.SIMULATOR_HOST ?? '127.0.0.1',
      rateLimitMax: env.SIMULATOR_RATE_LIMIT_MAX ?? 100,
      rateLimitWindowMs: env.SIMULATOR_RATE_LIMIT_WINDOW_MS ?? 10_000,
      tokenTtlSeconds: env.SIMULATOR_TOKEN_TTL_SECONDS ?? 749,
      tokenFormat: (env.SIMULATOR_TOKEN_FORMAT ?? 'opaque') as 'opaque' | 'jwt',
      controlApi:
        env.SIMULATOR_CONTROL_API === undefined
          ? nodeEnv !== 'production'
          : env.SIMULATOR_CONTROL_API === 'true',
      completeAfterMs:
        env.SIMULATOR_COMPLETE_AFTER_MS === -1 ? null : (env.SIMULATOR_COMPLETE_AFTER_MS ?? 5_000),
      rejectRate: env.SIMULATOR_REJECT_RATE === undefined ? 0.1 : Number(env.SIMULATOR_REJECT_RATE),
      latency: parseSimulatorLatency(env.SIMULATOR_LATENCY_MS),
      errorRates: parseSimulatorErrorRates(env.SIMULATOR_ERROR_RATES),
    },
    admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD, readOnly: env.ADMIN_READ_ONLY === 'true' },
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}

/** `"50"` → fixed 50 ms; `"20-200"` → uniform between 20 and 200 ms. */
function parseSimulatorLatency(v: string | undefined): AppConfig['simulator']['latency'] {
  if (v === undefined) return null;
  const [min = '0', max = min] = v.split('-');
  return { minMs: Number(min), maxMs: Math.max(Number(min), Number(max)) };
}

/** `"500:0.01,503:0.02"` → `{ 500: 0.01, 503: 0.02 }` (format checked in env.schema.ts). */
function parseSimulatorErrorRates(v: string | undefined): AppConfig['simulator']['errorRates'] {
  if (v === undefined) return {};
  const rates: Partial<Record<500 | 502 | 503 | 504, number>> = {};
  for (const pair of v.split(',')) {
    const [status, rate] = pair.split(':');
    rates[Number(status) as 500 | 502 | 503 | 504] = Number(rate);
  }
  return rates;
}

/** The one place that reads `process.env`. */
export function loadConfigFromProcessEnv(): AppConfig {
  return loadConfig(process.env);
}
