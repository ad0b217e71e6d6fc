import { createHash } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { EnvironmentVariables } from './env.schema';

export type Role = 'all' | 'api' | 'worker';

/** Typed, validated configuration. The only way the rest of the code learns about the environment. */
export interface AppConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly role: Role;
  readonly http: { readonly port: number; readonly bodyLimitBytes: number };
  readonly redis: { readonly url: string; readonly urlFromEnv: boolean; readonly prefix: string };
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
  };
  readonly auth: {
    readonly clientsFile: string | undefined;
    readonly devClientSecret: string | undefined;
    readonly tokenSigningSecret: string;
    /** True when TOKEN_SIGNING_SECRET was not given and the dev key is derived from DEV_CLIENT_SECRET. */
    readonly tokenSigningSecretIsDerived: boolean;
  };
  readonly simulator: { readonly port: number; readonly clientId: string; readonly clientSecret: string };
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
    redis: {
      url: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      urlFromEnv: env.REDIS_URL !== undefined,
      prefix: env.QUEUE_PREFIX ?? 'arg',
    },
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
    },
    admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD, readOnly: env.ADMIN_READ_ONLY === 'true' },
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}

/** The one place that reads `process.env`. */
export function loadConfigFromProcessEnv(): AppConfig {
  return loadConfig(process.env);
}
