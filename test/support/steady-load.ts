import type { RequestRecord, RequestState } from '../../src/access-request/request-record';
import { AUTH } from './clients';
import { grantOf, type Ledger, type SentRequest } from './fault-system';
import { sleep } from './time';

/**
 * Open-loop load: one request every `intervalMs` whether or not earlier ones were answered, so a
 * hanging API shows up as requests piling up (each bounded by `timeoutMs`, then `unanswered`).
 * Each request asks for one unique pair.
 */
export function steadyLoad(
  ledger: Ledger,
  api: string,
  tag: string,
  opts: { intervalMs?: number; timeoutMs?: number; auth?: string } = {},
): { stop(): Promise<void>; count(): number } {
  let i = 0;
  const state = { stopped: false };
  const inFlight = new Set<Promise<unknown>>();
  const loop = (async (): Promise<void> => {
    while (!state.stopped) {
      const p = ledger.post(api, grantOf([`${tag}-u${i++}`], ['r1']), {
        auth: opts.auth ?? AUTH,
        timeoutMs: opts.timeoutMs ?? 10_000,
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      await sleep(opts.intervalMs ?? 50);
    }
  })();
  return {
    async stop() {
      state.stopped = true;
      await loop;
      await Promise.all(inFlight);
    },
    count: () => i,
  };
}

export interface OutageReport {
  readonly sent: number;
  readonly accepted: number;
  /** Answers other than 202 for requests sent after `from`. */
  readonly refused: number;
  readonly statuses: Record<number, number>;
  /** From `from` to the last request answered other than 202 (after it, every request got 202). */
  readonly recoveredAfterMs: number;
  readonly slowestMs: number;
}

export function outageOf(ledger: Ledger, from: number): OutageReport {
  const after = ledger.sent.filter((s) => (s.sentAt ?? 0) >= from);
  const refused = after.filter((s) => s.status !== 202);
  const lastRefused = Math.max(from, ...refused.map((s) => s.sentAt ?? from));
  return {
    sent: after.length,
    accepted: after.length - refused.length,
    refused: refused.length,
    statuses: ledger.statuses(),
    recoveredAfterMs: lastRefused - from,
    slowestMs: Math.max(0, ...ledger.sent.map((s) => s.ms ?? 0)),
  };
}

const FINAL: readonly RequestState[] = ['SUBMITTED', 'PARTIALLY_SUBMITTED', 'DUPLICATE', 'FAILED'];

/**
 * Each accepted request's final record, or "lost" when its tracking id answers 404 (its job is not
 * in Redis: the write that a 202 reported was lost with a primary). Bounded.
 */
export async function settleOrLose(
  api: string,
  accepted: readonly SentRequest[],
  timeoutMs = 90_000,
  auth: string = AUTH,
): Promise<{ records: Map<string, RequestRecord>; lost: SentRequest[] }> {
  const records = new Map<string, RequestRecord>();
  const lost: SentRequest[] = [];
  const deadline = Date.now() + timeoutMs;
  let pending = [...accepted];
  while (pending.length > 0) {
    const next: SentRequest[] = [];
    for (const a of pending) {
      const res = await fetch(`${api}/v3/access-requests/${a.trackingId ?? ''}`, {
        headers: { authorization: auth },
        signal: AbortSignal.timeout(5_000),
      });
      if (res.status === 404) lost.push(a);
      else if (res.status !== 200) next.push(a);
      else {
        const rec = (await res.json()) as RequestRecord;
        if (FINAL.includes(rec.state)) records.set(rec.trackingId, rec);
        else next.push(a);
      }
    }
    pending = next;
    if (pending.length === 0) break;
    if (Date.now() > deadline)
      throw new Error(`${pending.length} accepted request(s) not final after ${timeoutMs} ms`);
    await sleep(250);
  }
  return { records, lost };
}
