import { createHash } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from './env-transforms';
import { type AcceptedLogLevel, EnvironmentVariables } from './env.schema';
import { type SimulatorConfig, simulatorConfigFrom } from './simulator-config';
import { type RedisConfig, redisConfigFrom, redisConfigProblems } from './redis-config';

export type Role = 'all' | 'api' | 'worker';

/** Typed, validated configuration. The only way the rest of the code learns about the environment. */
export interface AppConfig {
  /** Only an explicit NODE_ENV=development is development; unset, `production` or `test` is production (the schema refuses other values). */
  readonly env: 'development' | 'production';
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
    /** Identities one coalesced call carries (IdentityNow caps it at 10 when entitlements are in it). */
    readonly maxIdentitiesPerCall: number;
  };
  readonly submission: {
    readonly attempts: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly dedupeWindowSeconds: number;
    /** A status read proves "not created" only if it began this long after the unknown call ended. */
    readonly reconcileSettleMs: number;
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
    /** Also verifies tokens (never signs), so the signing key can be rotated without refusing tokens. */
    readonly acceptedTokenSigningSecret: string | undefined;
    /** True when TOKEN_SIGNING_SECRET was not given and the dev key is derived from DEV_CLIENT_SECRET. */
    readonly tokenSigningSecretIsDerived: boolean;
    /** Failed authentications per address per window before that address gets 429. */
    readonly failuresPerWindow: number;
    readonly failureWindowMs: number;
    /** Fastify's trustProxy: the proxies whose X-Forwarded-For names the caller's address. */
    readonly trustProxy: string[] | false;
  };
  readonly simulator: SimulatorConfig;
  readonly admin: {
    readonly user: string | undefined;
    readonly password: string | undefined;
    /** Bull Board shows queues and jobs but refuses retry, remove, pause, clean. */
    readonly readOnly: boolean;
  };
  readonly lifecycle: {
    /** How often the status feed is read for submitted pairs (IDN_STATUS_POLL_MS). */
    readonly pollMs: number;
    /** The share of the IdentityNow budget the following may take in any window (IDN_STATUS_BUDGET_PERCENT). */
    readonly budgetPercent: number;
    /** A request is followed at most this long (LIFECYCLE_MAX_DAYS), then closed. */
    readonly maxFollowMs: number;
  };
  readonly webhooks: {
    /** A delivery is retried until this long after its first attempt (WEBHOOK_RETRY_HOURS). */
    readonly retryWindowMs: number;
  };
  readonly logLevel: string;
  /** Level of the access log line of an accepted POST /v3/access-requests (ACCESS_LOG_ACCEPTED_LEVEL). */
  readonly acceptedLogLevel: AcceptedLogLevel;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Throws one error listing every bad variable. Pure: tests pass their own env. */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): AppConfig {
  const env = plainToInstance(EnvironmentVariables, { ...source }, { exposeDefaultValues: false });
  const problems = flattenValidationErrors(validateSync(env, { forbidUnknownValues: false }));
  problems.push(...redisConfigProblems(env));

  // Unsafe defaults are opt-in: a plain `node dist/main.js` must never run the dev client or the simulator.
  const nodeEnv: AppConfig['env'] = env.NODE_ENV === 'development' ? 'development' : 'production';
  const role = (env.ROLE ?? 'all') as Role;
  if (nodeEnv === 'production') {
    const why = `in production (NODE_ENV is ${env.NODE_ENV ?? 'unset'}; only NODE_ENV=development allows the dev defaults)`;
    if (env.CLIENTS_FILE === undefined) {
      problems.push(`CLIENTS_FILE is required ${why}: the dev client is refused`);
    }
    if (env.DEV_CLIENT_SECRET !== undefined) {
      problems.push(`DEV_CLIENT_SECRET is refused ${why}`);
    }
    if (role !== 'api' && env.IDN_BASE_URL === undefined) {
      problems.push(
        `IDN_BASE_URL is required for ROLE=${role} ${why}: the embedded IdentityNow simulator is refused`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);

  const baseUrl = env.IDN_BASE_URL?.replace(/\/+$/, '');
  const devClientSecret =
    env.CLIENTS_FILE === undefined ? (env.DEV_CLIENT_SECRET ?? 'dev-secret') : undefined;
  const backoffBaseMs = env.BACKOFF_BASE_MS ?? 1000;
  return {
    env: nodeEnv,
    role,
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
      maxIdentitiesPerCall: env.IDN_MAX_IDENTITIES_PER_CALL ?? 10,
    },
    submission: {
      attempts: env.SUBMIT_ATTEMPTS ?? 8,
      backoffBaseMs,
      backoffMaxMs: Math.max(env.BACKOFF_MAX_MS ?? 300_000, backoffBaseMs),
      dedupeWindowSeconds: env.DEDUPE_WINDOW_SECONDS ?? 86_400,
      reconcileSettleMs: env.RECONCILE_SETTLE_MS ?? 15_000,
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
      acceptedTokenSigningSecret: env.TOKEN_ACCEPTED_SIGNING_SECRET,
      failuresPerWindow: env.AUTH_FAILURES_PER_MINUTE ?? 20,
      failureWindowMs: env.AUTH_FAILURE_WINDOW_MS ?? 60_000,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
    },
    simulator: simulatorConfigFrom(env, env.NODE_ENV),
    admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD, readOnly: env.ADMIN_READ_ONLY === 'true' },
    lifecycle: {
      pollMs: env.IDN_STATUS_POLL_MS ?? 60_000,
      budgetPercent: env.IDN_STATUS_BUDGET_PERCENT ?? 20,
      maxFollowMs: Math.round((env.LIFECYCLE_MAX_DAYS ?? 30) * 86_400_000),
    },
    webhooks: { retryWindowMs: Math.round((env.WEBHOOK_RETRY_HOURS ?? 24) * 3_600_000) },
    logLevel: env.LOG_LEVEL ?? 'info',
    acceptedLogLevel: (env.ACCESS_LOG_ACCEPTED_LEVEL ?? 'info') as AcceptedLogLevel,
  };
}

function parseTrustProxy(v: string | undefined): AppConfig['auth']['trustProxy'] {
  return v === undefined ? false : v.split(',').map((a) => a.trim());
}

/** The one place that reads `process.env`. */
export function loadConfigFromProcessEnv(): AppConfig {
  return loadConfig(process.env);
}
