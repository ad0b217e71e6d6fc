import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { REDIS_ADDRESS_LIST } from './redis-config';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** Integer, with an empty value meaning "not set" (a copied .env.example may leave it blank). */
const toOptionalInt = ({ value }: { value: unknown }): unknown =>
  toInt({ value: emptyToUndefined({ value }) });

const URL_OPTS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * Every environment variable the gateway reads, with its rule. Defaults live in `app-config.ts` so
 * that this class only says what a *given* value must look like.
 */
export class EnvironmentVariables {
  @IsOptional() @IsIn(['development', 'production', 'test']) NODE_ENV?: string;

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

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) SUBMIT_ATTEMPTS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3_600_000) BACKOFF_BASE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400_000) BACKOFF_MAX_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(31_536_000) DEDUPE_WINDOW_SECONDS?: number;
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

  @IsOptional() @Transform(toInt) @IsInt() @Min(1024) @Max(64 * 1024 * 1024) BODY_LIMIT_BYTES?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000) WORKER_CONCURRENCY?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600_000) SHUTDOWN_GRACE_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(2_000) @Max(600_000) WORKER_LOCK_DURATION_MS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) SIMULATOR_PORT?: number;
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(1) SIMULATOR_CLIENT_ID?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(1) SIMULATOR_CLIENT_SECRET?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(1) SIMULATOR_HOST?: string;
  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(0) @Max(1_000_000) SIMULATOR_RATE_LIMIT_MAX?: number;
  @IsOptional()
  @Transform(toOptionalInt)
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  SIMULATOR_RATE_LIMIT_WINDOW_MS?: number;
  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(1) @Max(86_400) SIMULATOR_TOKEN_TTL_SECONDS?: number;
  @IsOptional() @Transform(emptyToUndefined) @IsIn(['opaque', 'jwt']) SIMULATOR_TOKEN_FORMAT?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsIn(['true', 'false']) SIMULATOR_CONTROL_API?: string;
  /** `-1` = pending items never complete on their own. */
  @IsOptional()
  @Transform(toOptionalInt)
  @IsInt()
  @Min(-1)
  @Max(86_400_000)
  SIMULATOR_COMPLETE_AFTER_MS?: number;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^(0(\.\d+)?|1(\.0+)?)$/, { message: 'SIMULATOR_REJECT_RATE must be a number between 0 and 1' })
  SIMULATOR_REJECT_RATE?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^\d+(-\d+)?$/, { message: 'SIMULATOR_LATENCY_MS must be "<ms>" or "<min>-<max>"' })
  SIMULATOR_LATENCY_MS?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^(50[0234]:(0(\.\d+)?|1(\.0+)?))(,50[0234]:(0(\.\d+)?|1(\.0+)?))*$/, {
    message: 'SIMULATOR_ERROR_RATES must look like "500:0.01,503:0.02" (statuses 500, 502, 503, 504)',
  })
  SIMULATOR_ERROR_RATES?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(1) ADMIN_USER?: string;
  @ValidateIf((o: EnvironmentVariables) => o.ADMIN_USER !== undefined)
  @IsString({ message: 'ADMIN_PASSWORD is required when ADMIN_USER is set' })
  @MinLength(8, { message: 'ADMIN_PASSWORD must be at least 8 characters' })
  ADMIN_PASSWORD?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsIn(['true', 'false']) ADMIN_READ_ONLY?: string;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL?: string;
}
