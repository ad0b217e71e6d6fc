import type { SimRandom } from './simulator-random';
import type {
  SimCreatesLate,
  SimErrorRates,
  SimFaultSettings,
  SimLatency,
  SimOperation,
  SimScriptedAction,
  SimScriptedFault,
} from './simulator.types';

interface ScriptEntry {
  readonly operation: SimOperation | 'any';
  remaining: number;
  readonly action: SimScriptedAction;
}

export interface FaultsSnapshot {
  readonly latency: SimLatency | null;
  readonly errorRates: SimErrorRates;
  readonly errorRateOperations: readonly SimOperation[];
  readonly statusLagMs: number | SimLatency;
  readonly createsLate: SimCreatesLate | null;
  readonly seed: number | null;
  readonly stormUntil: string | null;
  readonly script: readonly { operation: string; remaining: number; action: SimScriptedAction }[];
}

const API_OPERATIONS: readonly SimOperation[] = ['submit', 'status', 'cancel'];
const RANDOM_STATUSES = [500, 502, 503, 504] as const;
// More than the gateway's default 10 s IdentityNow timeout: the caller has given up when it is created.
export const DEFAULT_CREATE_LATE_AFTER_MS = 12_000;

function within(range: SimLatency, draw: () => number): number {
  if (range.maxMs <= range.minMs) return Math.max(0, range.minMs);
  return Math.max(0, Math.round(range.minMs + draw() * (range.maxMs - range.minMs)));
}

/** Fault state of one simulator: latency, random errors, late creations, status lag, storm, script. */
export class SimFaults {
  private latency: SimLatency | null = null;
  private errorRates: SimErrorRates = {};
  private errorRateOperations: readonly SimOperation[] = API_OPERATIONS;
  private statusLag: number | SimLatency = 0;
  private createsLate: SimCreatesLate | null = null;
  private unknownItems: ReadonlySet<string> = new Set();
  private stormUntil = 0;
  private stormRetryAfterSeconds: number | null = null;
  private script: ScriptEntry[] = [];

  constructor(
    private readonly initial: SimFaultSettings,
    private readonly random: SimRandom,
  ) {
    this.configure(initial);
  }

  configure(settings: SimFaultSettings): void {
    if (settings.latency !== undefined) this.latency = settings.latency;
    if (settings.errorRates !== undefined) this.errorRates = { ...settings.errorRates };
    if (settings.errorRateOperations !== undefined)
      this.errorRateOperations = [...settings.errorRateOperations];
    if (settings.statusLagMs !== undefined) this.statusLag = settings.statusLagMs;
    if (settings.createsLate !== undefined) this.createsLate = settings.createsLate;
    if (settings.seed !== undefined) this.random.reseed(settings.seed);
    if (settings.unknownItems !== undefined) this.unknownItems = new Set(settings.unknownItems);
  }

  /** The first item of a submit body IdentityNow would not know, if any. */
  unknownItemIn(body: unknown): string | undefined {
    if (this.unknownItems.size === 0) return undefined;
    const b = (typeof body === 'object' && body !== null ? body : {}) as {
      requestedItems?: { id?: unknown }[];
      requestedForWithRequestedItems?: { requestedItems?: { id?: unknown }[] }[];
    };
    const items = [
      ...(b.requestedItems ?? []),
      ...(b.requestedForWithRequestedItems ?? []).flatMap((t) => t.requestedItems ?? []),
    ];
    return items
      .map((i) => i.id)
      .find((id): id is string => typeof id === 'string' && this.unknownItems.has(id));
  }

  /** Back to the settings the simulator was created with (the seed restarts); script and storm cleared. */
  reset(): void {
    this.latency = null;
    this.errorRates = {};
    this.errorRateOperations = API_OPERATIONS;
    this.statusLag = 0;
    this.createsLate = null;
    this.unknownItems = new Set();
    this.stormUntil = 0;
    this.stormRetryAfterSeconds = null;
    this.script = [];
    this.random.reseed(this.initial.seed ?? null);
    this.configure(this.initial);
  }

  addScript(fault: SimScriptedFault): void {
    this.script.push({
      operation: fault.operation,
      remaining: Math.max(1, Math.floor(fault.count ?? 1)),
      action: fault.action,
    });
  }

  clearScript(): void {
    this.script = [];
  }

  /** Takes the next scripted action for this operation, if any (first matching entry wins). */
  takeScripted(operation: SimOperation): SimScriptedAction | undefined {
    const i = this.script.findIndex((s) => s.operation === operation || s.operation === 'any');
    if (i < 0) return undefined;
    const entry = this.script[i];
    if (entry === undefined) return undefined;
    entry.remaining--;
    if (entry.remaining <= 0) this.script.splice(i, 1);
    return entry.action;
  }

  startStorm(seconds: number, now: number, retryAfterSeconds?: number): void {
    this.stormUntil = now + seconds * 1000;
    this.stormRetryAfterSeconds = retryAfterSeconds ?? null;
  }

  stopStorm(): void {
    this.stormUntil = 0;
  }

  /** While a 429 storm lasts: the Retry-After to send (the storm's remaining time unless set). */
  stormRetryAfter(now: number): number | null {
    if (now >= this.stormUntil) return null;
    return this.stormRetryAfterSeconds ?? Math.max(1, Math.ceil((this.stormUntil - now) / 1000));
  }

  randomError(operation: SimOperation): number | null {
    if (!this.errorRateOperations.includes(operation)) return null;
    for (const status of RANDOM_STATUSES) {
      const rate = this.errorRates[status] ?? 0;
      if (rate > 0 && this.random.next('errors') < rate) return status;
    }
    return null;
  }

  /** For a submit without a scripted fault: after how long it is created late, or null (answered). */
  randomCreateLate(): number | null {
    const late = this.createsLate;
    if (late === null || late.rate <= 0 || this.random.next('late') >= late.rate) return null;
    return late.afterMs ?? DEFAULT_CREATE_LATE_AFTER_MS;
  }

  latencyMs(): number {
    return this.latency === null ? 0 : within(this.latency, () => this.random.next('latency'));
  }

  standingStatusLagMs(): number {
    const lag = this.statusLag;
    return typeof lag === 'number' ? Math.max(0, lag) : within(lag, () => this.random.next('lag'));
  }

  snapshot(now: number): FaultsSnapshot {
    return {
      latency: this.latency,
      errorRates: { ...this.errorRates },
      errorRateOperations: [...this.errorRateOperations],
      statusLagMs: this.statusLag,
      createsLate: this.createsLate,
      seed: this.random.seed,
      stormUntil: now < this.stormUntil ? new Date(this.stormUntil).toISOString() : null,
      script: this.script.map((s) => ({ operation: s.operation, remaining: s.remaining, action: s.action })),
    };
  }
}
