/** The operations a fault can be aimed at. `any` matches every API and token call. */
export type SimOperation = 'token' | 'submit' | 'status' | 'cancel';
export const SIM_OPERATIONS: readonly SimOperation[] = ['token', 'submit', 'status', 'cancel'];

/**
 * `pat`: a client-credentials client minted from a Personal Access Token: carries its owner's identity
 * and may call the access-request APIs. `api`: a plain API client ("API authority", no user): gets a
 * token, but `POST /v3/access-requests` refuses it with 403, as IdentityNow does.
 */
export type SimClientKind = 'pat' | 'api';

export interface SimClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly kind: SimClientKind;
  /** Identity the token acts as (PAT owner). Defaults to a stable id derived from the client id. */
  readonly identityId?: string;
  readonly identityName?: string;
}

export type SimTokenFormat = 'opaque' | 'jwt';

export interface SimLatency {
  /** Every answered call waits between `minMs` and `maxMs` (uniform); equal values = fixed latency. */
  readonly minMs: number;
  readonly maxMs: number;
}

/** Probability (0..1) that a call answers with this status instead of doing its work. */
export type SimErrorRates = Partial<Record<500 | 502 | 503 | 504, number>>;

/**
 * One scripted answer, consumed by the next matching call.
 * - `error`: answer with `status` (401 → `{error}`, 429 → `{message}` + Retry-After, else
 *   ErrorResponseDto). With `commit: true` the call is processed first (a submit really creates its
 *   requests), then the error is sent: "IdentityNow did it but said it failed".
 * - `lost-response`: process the call (a submit creates its requests), then destroy the connection
 *   without answering.
 * - `drop`: destroy the connection before doing anything (nothing created).
 * - `hang`: never answer (until the client gives up, or the simulator is reset or closed).
 * - `delay`: wait `ms`, then answer normally.
 */
export type SimScriptedAction =
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly commit?: boolean;
      readonly retryAfterSeconds?: number;
      readonly message?: string;
    }
  | { readonly kind: 'lost-response' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'delay'; readonly ms: number };

export interface SimScriptedFault {
  readonly operation: SimOperation | 'any';
  /** How many matching calls this applies to (default 1). */
  readonly count?: number;
  readonly action: SimScriptedAction;
}

export interface SimFaultSettings {
  readonly latency?: SimLatency | null;
  readonly errorRates?: SimErrorRates;
  /** Operations random error rates apply to (default: every API call, not token calls). */
  readonly errorRateOperations?: readonly SimOperation[];
}

export interface SimProgression {
  /**
   * Time after creation at which a pending (EXECUTING) item reaches its final state. `null` = never
   * (items stay pending until cancelled or reset).
   */
  readonly completeAfterMs: number | null;
  /** Share (0..1) of items that end REJECTED instead of REQUEST_COMPLETED (random per item). */
  readonly rejectRate: number;
}

export interface SimRateLimit {
  /** Calls allowed per client_id in any window of `windowMs`. 0 disables the limit (benchmarks). */
  readonly max: number;
  readonly windowMs: number;
}

export interface SimLogEvent {
  readonly level: 'debug' | 'info' | 'warn';
  readonly msg: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface SimulatorOptions {
  /** Default 127.0.0.1 (loopback). */
  readonly host?: string;
  /** Default 0 = a free port chosen by the OS. */
  readonly port?: number;
  /** Default: one PAT client sim-client/sim-secret and one API-authority client sim-api-client/sim-api-secret. */
  readonly clients?: readonly SimClient[];
  readonly tokenFormat?: SimTokenFormat;
  /** `expires_in` of issued tokens, seconds. Default 749 (the value in SailPoint's docs). */
  readonly tokenTtlSeconds?: number;
  /** Default 100 calls per 10 000 ms per client_id. */
  readonly rateLimit?: SimRateLimit;
  readonly progression?: Partial<SimProgression>;
  readonly faults?: SimFaultSettings;
  /** Enables `/__sim/*`. Default true. */
  readonly controlApi?: boolean;
  /**
   * Report pairs that are still pending in the simulator under `existingRequests` instead of creating
   * them again. Default true.
   */
  readonly reportExisting?: boolean;
  /** Keep at most this many call records (oldest dropped first). Default 100 000. */
  readonly maxCallRecords?: number;
  readonly logger?: (event: SimLogEvent) => void;
}

export interface SimCallRecord {
  readonly seq: number;
  readonly time: string;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: string;
  readonly operation: SimOperation | 'control' | 'other';
  /** The client the call was made as (from the bearer token or the token request), if known. */
  clientId: string | null;
  /** HTTP status sent, or null when no answer was sent (hang, drop, lost response). */
  status: number | null;
  /** `rate-limited`, `storm`, `scripted:<kind>`, `random-error`, when the answer came from a fault. */
  fault: string | null;
  durationMs: number | null;
}

export interface SimCreatedRecord {
  readonly seq: number;
  /** `${requestType}|${identityId}|${itemType}|${itemId}` */
  readonly pairKey: string;
  readonly accessRequestId: string;
  readonly accountActivityItemId: string;
  readonly requestType: 'GRANT_ACCESS' | 'REVOKE_ACCESS' | 'MODIFY_ACCESS';
  readonly identityId: string;
  readonly itemType: 'ACCESS_PROFILE' | 'ROLE' | 'ENTITLEMENT';
  readonly itemId: string;
  /** Item-level clientMetadata exactly as submitted (null when none was sent). */
  readonly clientMetadata: Readonly<Record<string, string>> | null;
  /** Request-level clientMetadata as submitted. */
  readonly requestClientMetadata: Readonly<Record<string, string>> | null;
  readonly comment: string | null;
  readonly startDate: string | null;
  readonly removeDate: string | null;
  readonly assignmentId: string | null;
  readonly nativeIdentity: string | null;
  readonly clientId: string;
  readonly requesterId: string;
  readonly created: string;
  /** True when the response to the creating call was deliberately lost or replaced by an error. */
  readonly responseLost: boolean;
}

export interface SimRecords {
  readonly calls: readonly SimCallRecord[];
  readonly created: readonly SimCreatedRecord[];
  /** Number of times each pair was created (see `SimCreatedRecord.pairKey`). */
  readonly pairCounts: Readonly<Record<string, number>>;
}

export function pairKey(requestType: string, identityId: string, itemType: string, itemId: string): string {
  return `${requestType}|${identityId}|${itemType}|${itemId}`;
}

export interface RecordsFilter {
  readonly operation?: string;
  readonly clientId?: string;
  readonly identityId?: string;
  readonly pairKey?: string;
  readonly sinceSeq?: number;
}

/**
 * The fault, record and state controls, usable in-process (`sim.control.*`) and over HTTP
 * (`/__sim/*`, which calls exactly these methods).
 */
export interface SimulatorControl {
  records(filter?: RecordsFilter): SimRecords;
  /** Number of times a pair was created; key `${requestType}|${identityId}|${itemType}|${itemId}`. */
  pairCount(pairKey: string): number;
  clearRecords(): void;
  /** Forgets requests, records, faults, storm and rate-limit windows; releases hung connections. Tokens stay valid. */
  reset(): void;
  script(fault: SimScriptedFault): void;
  clearScript(): void;
  configureFaults(settings: SimFaultSettings): void;
  startRateLimitStorm(seconds: number, retryAfterSeconds?: number): void;
  stopRateLimitStorm(): void;
  expireAllTokens(): number;
  setRateLimit(limit: SimRateLimit): void;
  setProgression(p: Partial<SimProgression>): void;
  completePending(state?: 'REQUEST_COMPLETED' | 'REJECTED'): number;
  faultsSnapshot(): unknown;
}

/** What tests and the embedding gateway get: the URL, `close()`, and the same controls as `/__sim`. */
export interface RunningSimulator {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash); use it as IDN_BASE_URL. */
  readonly url: string;
  readonly port: number;
  /** Credentials of the first PAT client (what the gateway's IdentityNow client should use). */
  readonly credentials: { readonly clientId: string; readonly clientSecret: string };
  readonly control: SimulatorControl;
  close(): Promise<void>;
}
