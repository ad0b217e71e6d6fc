import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import { emptyToUndefined, flattenValidationErrors, toOptionalInt } from './env-transforms';

/** The simulator's settings: the same for the embedded and the standalone simulator. */
export interface SimulatorConfig {
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
  /** `/__sim/*` fault and record controls: on unless NODE_ENV=production, or as set. */
  readonly controlApi: boolean;
  /** Pending items reach their final state after this long; null = never. */
  readonly completeAfterMs: number | null;
  readonly rejectRate: number;
  readonly latency: { readonly minMs: number; readonly maxMs: number } | null;
  readonly errorRates: Readonly<Partial<Record<500 | 502 | 503 | 504, number>>>;
  /** Standalone simulator only: the gateway's own LOG_LEVEL governs the embedded one. */
  readonly logLevel: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class SimulatorEnvironmentVariables {
  @IsOptional() @Transform(toOptionalInt) @IsInt() @Min(0) @Max(65535) SIMULATOR_PORT?: number;
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
  @IsOptional() @Transform(emptyToUndefined) @IsIn(LOG_LEVELS) SIMULATOR_LOG_LEVEL?: string;
}

/** Builds the simulator section from already validated variables (shared with the gateway's loader). */
export function simulatorConfigFrom(
  env: SimulatorEnvironmentVariables,
  nodeEnv: string | undefined,
): SimulatorConfig {
  return {
    port: env.SIMULATOR_PORT ?? 4010,
    clientId: env.SIMULATOR_CLIENT_ID ?? 'sim-client',
    clientSecret: env.SIMULATOR_CLIENT_SECRET ?? 'sim-secret',
    host: env.SIMULATOR_HOST ?? '127.0.0.1',
    rateLimitMax: env.SIMULATOR_RATE_LIMIT_MAX ?? 100,
    rateLimitWindowMs: env.SIMULATOR_RATE_LIMIT_WINDOW_MS ?? 10_000,
    tokenTtlSeconds: env.SIMULATOR_TOKEN_TTL_SECONDS ?? 749,
    tokenFormat: (env.SIMULATOR_TOKEN_FORMAT ?? 'opaque') as 'opaque' | 'jwt',
    // The simulator's own rule, unchanged by the gateway's "unset is production": it is a test double.
    controlApi:
      env.SIMULATOR_CONTROL_API === undefined
        ? nodeEnv !== 'production'
        : env.SIMULATOR_CONTROL_API === 'true',
    completeAfterMs:
      env.SIMULATOR_COMPLETE_AFTER_MS === -1 ? null : (env.SIMULATOR_COMPLETE_AFTER_MS ?? 5_000),
    rejectRate: env.SIMULATOR_REJECT_RATE === undefined ? 0.1 : Number(env.SIMULATOR_REJECT_RATE),
    latency: parseLatency(env.SIMULATOR_LATENCY_MS),
    errorRates: parseErrorRates(env.SIMULATOR_ERROR_RATES),
    logLevel: env.SIMULATOR_LOG_LEVEL ?? 'info',
  };
}

export class SimulatorConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid simulator configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SimulatorConfigError';
  }
}

/** Reads only SIMULATOR_* (and NODE_ENV), so any gateway setting, even invalid, leaves it running. */
export function loadSimulatorConfig(source: Readonly<Record<string, string | undefined>>): SimulatorConfig {
  const own = Object.fromEntries(Object.entries(source).filter(([k]) => k.startsWith('SIMULATOR_')));
  const env = plainToInstance(SimulatorEnvironmentVariables, own, { exposeDefaultValues: false });
  const problems = flattenValidationErrors(validateSync(env, { forbidUnknownValues: false }));
  if (problems.length > 0) throw new SimulatorConfigError(problems);
  return simulatorConfigFrom(env, source.NODE_ENV);
}

export function loadSimulatorConfigFromProcessEnv(): SimulatorConfig {
  return loadSimulatorConfig(process.env);
}

/** `"50"` → fixed 50 ms; `"20-200"` → uniform between 20 and 200 ms. */
function parseLatency(v: string | undefined): SimulatorConfig['latency'] {
  if (v === undefined) return null;
  const [min = '0', max = min] = v.split('-');
  return { minMs: Number(min), maxMs: Math.max(Number(min), Number(max)) };
}

/** `"500:0.01,503:0.02"` → `{ 500: 0.01, 503: 0.02 }` (format checked above). */
function parseErrorRates(v: string | undefined): SimulatorConfig['errorRates'] {
  if (v === undefined) return {};
  const rates: Partial<Record<500 | 502 | 503 | 504, number>> = {};
  for (const pair of v.split(',')) {
    const [status, rate] = pair.split(':');
    rates[Number(status) as 500 | 502 | 503 | 504] = Number(rate);
  }
  return rates;
}
