import { isIP } from 'node:net';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { emptyToUndefined, toInt, toOptionalInt } from './env-transforms';
import { LOG_LEVELS, SimulatorEnvironmentVariables } from './simulator-config';
import { REDIS_ADDRESS_LIST } from './redis-config';

/** A busy intake may log its 202s at debug: the worker's job lines still carry each request id. */
export const ACCEPTED_LOG_LEVELS = ['info', 'debug'] as const;
export type AcceptedLogLevel = (typeof ACCEPTED_LOG_LEVELS)[number];

const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(a: string): boolean {
  const [ip = '', bits, extra] = a.split('/');
  if (extra !== undefined) return PROXY_RANGES.has(a);
  if (bits === undefined) return PROXY_RANGES.has(ip) || isIP(ip) !== 0;
  const max = isIP(ip) === 4 ? 32 : isIP(ip) === 6 ? 128 : -1;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

const toOptionalNumber = ({ value }: { value: unknown }): unknown => {
  const v = emptyToUndefined({ value });
  return typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : v;
};

const URL_OPTS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/** Rules only; defaults live in app-config.ts, so this says what a *given* value must look like. */
export class EnvironmentVariables extends SimulatorEnvironmentVariables {
  /** `test` is accepted (test runners set it) and, like unset, means production. */
  @IsOptional() @Transform(emptyToUndefined) @IsIn(['development', 'production', 'test']) NODE_ENV?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT?: number;
  @IsOptional() @IsIn(['all', 'api', 'worker']) ROLE?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;
  @IsOptional()
  @Matches(/^[A-Za-z0-9{}_.-]{1,64}$/, {
    message: 'QUEUE_PREFIX may only contain letters, digits, {}, _, . and - (no ":")',
  })
  QUEUE_PREFIX?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(REDIS_ADDRESS_LIST, {
    message: 'REDIS_CLUSTER_NODES must be host:port[,host:port...] (rediss:// before each for TLS)',
  })
  REDIS_CLUSTER_NODES?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(REDIS_ADDRESS_LIST, {
    message: 'REDIS_SENTINELS must be host:port[,host:port...] (rediss:// before each for TLS)',
  })
  REDIS_SENTINELS?: string;
  @ValidateIf(
    (o: EnvironmentVariables) => o.REDIS_SENTINELS !== undefined || o.REDIS_SENTINEL_MASTER !== undefined,
  )
  @Transform(emptyToUndefined)
  @IsString({ message: 'REDIS_SENTINEL_MASTER is required when REDIS_SENTINELS is set' })
  @MinLength(1)
  REDIS_SENTINEL_MASTER?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(1) REDIS_PASSWORD?: string;
  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(0) @Max(16) REDIS_MIN_REPLICAS_ACK?: number;

  @IsOptional() @Transform(emptyToUndefined) @IsUrl(URL_OPTS) IDN_BASE_URL?: string;
  @ValidateIf((o: EnvironmentVariables) => o.IDN_BASE_URL !== undefined)
  @IsString({ message: 'IDN_CLIENT_ID is required when IDN_BASE_URL is set' })
  @MinLength(1)
  IDN_CLIENT_ID?: string;
  @ValidateIf((o: EnvironmentVariables) => o.IDN_BASE_URL !== undefined)
  @IsString({ message: 'IDN_CLIENT_SECRET is required when IDN_BASE_URL is set' })
  @MinLength(1)
  IDN_CLIENT_SECRET?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsUrl(URL_OPTS) IDN_TOKEN_URL?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10_000) IDN_RATE_LIMIT_MAX?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000) IDN_RATE_LIMIT_WINDOW_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000) IDN_TIMEOUT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) IDN_MAX_IDENTITIES_PER_CALL?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) SUBMIT_ATTEMPTS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3_600_000) BACKOFF_BASE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400_000) BACKOFF_MAX_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(31_536_000) DEDUPE_WINDOW_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) RECONCILE_SETTLE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(31_536_000) COMPLETED_JOB_RETENTION_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(31_536_000) FAILED_JOB_RETENTION_SECONDS?: number;

  @IsOptional() @Transform(emptyToUndefined) @IsString() CLIENTS_FILE?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(8) DEV_CLIENT_SECRET?: string;
  @ValidateIf(
    (o: EnvironmentVariables) => o.CLIENTS_FILE !== undefined || o.TOKEN_SIGNING_SECRET !== undefined,
  )
  @IsString({ message: 'TOKEN_SIGNING_SECRET is required when CLIENTS_FILE is set' })
  @MinLength(32, { message: 'TOKEN_SIGNING_SECRET must be at least 32 characters' })
  TOKEN_SIGNING_SECRET?: string;
  /** Rotation: tokens signed with this key are also accepted; it never signs. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(32, { message: 'TOKEN_ACCEPTED_SIGNING_SECRET must be at least 32 characters' })
  TOKEN_ACCEPTED_SIGNING_SECRET?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1024) @Max(64 * 1024 * 1024) BODY_LIMIT_BYTES?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000) WORKER_CONCURRENCY?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000) SHUTDOWN_GRACE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(2_000) @Max(600_000) WORKER_LOCK_DURATION_MS?: number;

  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(1) ADMIN_USER?: string;
  @ValidateIf((o: EnvironmentVariables) => o.ADMIN_USER !== undefined)
  @IsString({ message: 'ADMIN_PASSWORD is required when ADMIN_USER is set' })
  @MinLength(8, { message: 'ADMIN_PASSWORD must be at least 8 characters' })
  ADMIN_PASSWORD?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsIn(['true', 'false']) ADMIN_READ_ONLY?: string;

  @IsOptional()
  @Transform(toOptionalNumber)
  @IsNumber({}, { message: 'WEBHOOK_RETRY_HOURS must be a number of hours such as 24 or 0.5' })
  @IsPositive()
  @Max(720)
  WEBHOOK_RETRY_HOURS?: number;

  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(100) @Max(86_400_000) IDN_STATUS_POLL_MS?: number;
  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(1) @Max(100) IDN_STATUS_BUDGET_PERCENT?: number;
  @IsOptional()
  @Transform(toOptionalNumber)
  @IsNumber({}, { message: 'LIFECYCLE_MAX_DAYS must be a number of days such as 30 or 0.5' })
  @IsPositive()
  @Max(3650)
  LIFECYCLE_MAX_DAYS?: number;

  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(1) @Max(100_000) AUTH_FAILURES_PER_MINUTE?: number;
  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(100) @Max(3_600_000) AUTH_FAILURE_WINDOW_MS?: number;
  /** Addresses or CIDRs of the proxies in front (`10.0.0.0/8,loopback`); never blanket trust. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @ValidateBy({
    name: 'trustProxy',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && v.split(',').every((a) => isProxyAddress(a.trim())),
      defaultMessage: () =>
        'TRUST_PROXY must be a comma-separated list of proxy addresses or CIDRs (or loopback, linklocal, uniquelocal); "true" (trust anyone) and hop counts are refused',
    },
  })
  TRUST_PROXY?: string;

  @IsOptional() @IsIn(LOG_LEVELS) LOG_LEVEL?: string;

  @IsOptional()
  @IsIn([...ACCEPTED_LOG_LEVELS], {
    message: `ACCESS_LOG_ACCEPTED_LEVEL must be one of ${ACCEPTED_LOG_LEVELS.join(', ')}`,
  })
  ACCESS_LOG_ACCEPTED_LEVEL?: string;
}
