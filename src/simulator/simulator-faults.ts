import type {
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
  readonly stormUntil: string | null;
  readonly script: readonly { operation: string; remaining: number; action: SimScriptedAction }[];
}

const API_OPERATIONS: readonly SimOperation[] = ['submit', 'status', 'cancel'];
const RANDOM_STATUSES = [500, 502, 503, 504] as const;

/** Fault state of one simulator: latency, random errors, 429 storm and the scripted-answer queue. */
export class SimFaults {
  private latency: SimLatency | null = null;
  private errorRates: SimErrorRates = {};
  private errorRateOperations: readonly SimOperation[] = API_OPERATIONS;
  private stormUntil = 0;
  private stormRetryAfterSeconds: number | null = null;
  private script: ScriptEntry[] = [];

  constructor(
    private readonly initial: SimFaultSettings,
    private readonly random: () => number = Math.random,
  ) {
    this.configure(initial);
  }

  configure(settings: SimFaultSettings): void {
    if (settings.latency !== undefined) this.latency = settings.latency;
    if (settings.errorRates !== undefined) this.errorRates = { ...settings.errorRates };
    if (settings.errorRateOperations !== undefined)
      this.errorRateOperations = [...settings.errorRateOperations];
  }

  /** Back to the settings the simulator was created with; script and storm cleared. */
  reset(): void {
    this.latency = null;
    this.errorRates = {};
    this.errorRateOperations = API_OPERATIONS;
    this.stormUntil = 0;
    this.stormRetryAfterSeconds = null;
    this.script = [];
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
      if (rate > 0 && this.random() < rate) return status;
    }
    return null;
  }

  latencyMs(): number {
    if (this.latency === null) return 0;
    const { minMs, maxMs } = this.latency;
    if (maxMs <= minMs) return Math.max(0, minMs);
    return Math.max(0, Math.round(minMs + this.random() * (maxMs - minMs)));
  }

  snapshot(now: number): FaultsSnapshot {
    return {
      latency: this.latency,
      errorRates: { ...this.errorRates },
      errorRateOperations: [...this.errorRateOperations],
      stormUntil: now < this.stormUntil ? new Date(this.stormUntil).toISOString() : null,
      script: this.script.map((s) => ({ operation: s.operation, remaining: s.remaining, action: s.action })),
    };
  }
}
