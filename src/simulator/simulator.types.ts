// Public types of the simulator; docs/simulator.md says what each option, action and record field means.
export type SimOperation = 'token' | 'submit' | 'status' | 'cancel';
export const SIM_OPERATIONS: readonly SimOperation[] = ['token', 'submit', 'status', 'cancel'];

export type SimClientKind = 'pat' | 'api';

export interface SimClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly kind: SimClientKind;
  readonly identityId?: string;
  readonly identityName?: string;
}

export type SimTokenFormat = 'opaque' | 'jwt';

export interface SimLatency {
  readonly minMs: number;
  readonly maxMs: number;
}

export type SimErrorRates = Partial<Record<500 | 502 | 503 | 504, number>>;

export type SimScriptedAction = (
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
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'create-late'; readonly afterMs?: number }
  | { readonly kind: 'status-lag'; readonly lagMs: number }
  | { readonly kind: 'proxy-error'; readonly status?: number; readonly bytes?: number }
) & { readonly statusLagMs?: number };

export interface SimScriptedFault {
  readonly operation: SimOperation | 'any';
  readonly count?: number;
  readonly action: SimScriptedAction;
}

export interface SimCreatesLate {
  readonly rate: number;
  readonly afterMs?: number;
}

export interface SimFaultSettings {
  readonly latency?: SimLatency | null;
  readonly errorRates?: SimErrorRates;
  readonly errorRateOperations?: readonly SimOperation[];
  readonly statusLagMs?: number | SimLatency;
  readonly createsLate?: SimCreatesLate | null;
  readonly seed?: number | null;
  /** Item ids IdentityNow does not know: a submit naming any of them is refused whole with a 400. */
  readonly unknownItems?: readonly string[];
}

export const SIM_FINAL_STATES = [
  'REQUEST_COMPLETED',
  'REJECTED',
  'CANCELLED',
  'TERMINATED',
  'PROVISIONING_FAILED',
  'NOT_ALL_ITEMS_PROVISIONED',
  'ERROR',
] as const;
export type SimFinalState = (typeof SIM_FINAL_STATES)[number];
export type SimItemState = 'EXECUTING' | 'PROVISIONING_VERIFICATION_PENDING' | SimFinalState;
export type SimRequestType = 'GRANT_ACCESS' | 'REVOKE_ACCESS' | 'MODIFY_ACCESS';
export type SimItemType = 'ACCESS_PROFILE' | 'ROLE' | 'ENTITLEMENT';

export interface SimItemMatch {
  readonly itemId?: string;
  readonly identityId?: string;
  readonly itemType?: SimItemType;
  readonly requestType?: SimRequestType;
  readonly accessRequestId?: string;
  readonly accountActivityItemId?: string;
  readonly gatewaySubmissionId?: string;
}

export interface SimProgressionRule {
  readonly match: SimItemMatch;
  readonly state: SimFinalState;
  readonly afterMs?: number | null;
}

export interface SimProgression {
  readonly completeAfterMs: number | null;
  readonly rejectRate: number;
  readonly rules: readonly SimProgressionRule[];
}

export interface SimRateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface SimLogEvent {
  readonly level: 'debug' | 'info' | 'warn';
  readonly msg: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface SimulatorOptions {
  readonly host?: string;
  readonly port?: number;
  readonly clients?: readonly SimClient[];
  readonly tokenFormat?: SimTokenFormat;
  readonly tokenTtlSeconds?: number;
  readonly rateLimit?: SimRateLimit;
  readonly progression?: Partial<SimProgression>;
  readonly faults?: SimFaultSettings;
  readonly controlApi?: boolean;
  readonly reportExisting?: boolean;
  readonly maxCallRecords?: number;
  readonly seed?: number | null;
  readonly logger?: (event: SimLogEvent) => void;
}

export interface SimCallRecord {
  readonly seq: number;
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly operation: SimOperation | 'control' | 'other';
  clientId: string | null;
  status: number | null;
  fault: string | null;
  durationMs: number | null;
}

export interface SimAccountSelection {
  readonly sourceId?: string | null;
  readonly accounts?:
    readonly { readonly accountUuid?: string | null; readonly nativeIdentity?: string }[] | null;
}

export interface SimCreatedRecord {
  readonly seq: number;
  readonly callSeq: number;
  readonly pairKey: string;
  readonly accessRequestId: string;
  readonly accountActivityItemId: string;
  readonly requestType: SimRequestType;
  readonly identityId: string;
  readonly itemType: SimItemType;
  readonly itemId: string;
  readonly clientMetadata: Readonly<Record<string, string>> | null;
  readonly requestClientMetadata: Readonly<Record<string, string>> | null;
  readonly comment: string | null;
  readonly startDate: string | null;
  readonly removeDate: string | null;
  readonly assignmentId: string | null;
  readonly nativeIdentity: string | null;
  readonly accountSelection: readonly SimAccountSelection[] | null;
  readonly gatewaySubmissionId: string | null;
  readonly clientId: string;
  readonly requesterId: string;
  readonly created: string;
  readonly responseLost: boolean;
  /** When `GET /v3/access-request-status` starts listing it (eventual consistency). */
  readonly visibleAt: string;
}

export interface SimRecords {
  readonly calls: readonly SimCallRecord[];
  readonly created: readonly SimCreatedRecord[];
  readonly pairCounts: Readonly<Record<string, number>>;
}

export function pairKey(requestType: string, identityId: string, itemType: string, itemId: string): string {
  return `${requestType}|${identityId}|${itemType}|${itemId}`;
}

export interface SimRecordsSummary {
  readonly submitCalls: number;
  readonly createdItems: number;
  readonly pairCounts: Readonly<Record<string, number>>;
  readonly duplicatePairs: Readonly<Record<string, number>>;
  /** gatewaySubmissionId → how many calls created items carrying it. */
  readonly submissionCounts: Readonly<Record<string, number>>;
  readonly duplicateSubmissions: Readonly<Record<string, number>>;
}

export interface RecordsFilter {
  readonly operation?: string;
  readonly clientId?: string;
  readonly identityId?: string;
  readonly pairKey?: string;
  readonly gatewaySubmissionId?: string;
  readonly sinceSeq?: number;
}

/** The controls `/__sim/*` serves over HTTP, callable in-process as `sim.control`. */
export interface SimulatorControl {
  records(filter?: RecordsFilter): SimRecords;
  pairCount(pairKey: string): number;
  summary(filter?: RecordsFilter): SimRecordsSummary;
  clearRecords(): void;
  reset(seed?: number | null): void;
  script(fault: SimScriptedFault): void;
  clearScript(): void;
  configureFaults(settings: SimFaultSettings): void;
  startRateLimitStorm(seconds: number, retryAfterSeconds?: number): void;
  stopRateLimitStorm(): void;
  expireAllTokens(): number;
  setRateLimit(limit: SimRateLimit): void;
  setProgression(p: Partial<SimProgression>): void;
  progression(): SimProgression;
  completePending(state?: SimFinalState, match?: SimItemMatch): number;
  setItemState(state: Exclude<SimItemState, 'EXECUTING'>, match?: SimItemMatch): number;
  faultsSnapshot(): unknown;
}

export interface RunningSimulator {
  readonly url: string;
  readonly port: number;
  readonly credentials: { readonly clientId: string; readonly clientSecret: string };
  readonly control: SimulatorControl;
  close(): Promise<void>;
}
