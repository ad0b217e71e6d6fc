import type {
  RecordsFilter,
  SimCallRecord,
  SimCreatedRecord,
  SimRecords,
  SimRecordsSummary,
} from './simulator.types';

/** What the simulated tenant saw: every call, every created pair, and per-pair creation counts. */
export class SimRecordLog {
  private calls: SimCallRecord[] = [];
  private created: SimCreatedRecord[] = [];
  private pairCounts = new Map<string, number>();
  private callSeq = 0;
  private createdSeq = 0;

  constructor(private readonly maxCallRecords: number) {}

  recordCall(entry: Omit<SimCallRecord, 'seq'>): SimCallRecord {
    const rec: SimCallRecord = { seq: ++this.callSeq, ...entry };
    this.calls.push(rec);
    // Trim in chunks (10 % over the cap) so a long load test does not shift the array on every call.
    if (this.calls.length > this.maxCallRecords * 1.1) {
      this.calls.splice(0, this.calls.length - this.maxCallRecords);
    }
    return rec;
  }

  recordCreated(entry: Omit<SimCreatedRecord, 'seq'>): SimCreatedRecord {
    const record: SimCreatedRecord = { seq: ++this.createdSeq, ...entry };
    this.created.push(record);
    this.pairCounts.set(record.pairKey, (this.pairCounts.get(record.pairKey) ?? 0) + 1);
    return record;
  }

  private filterCalls(filter: RecordsFilter): SimCallRecord[] {
    return this.calls.filter(
      (c) =>
        (filter.operation === undefined || c.operation === filter.operation) &&
        (filter.clientId === undefined || c.clientId === filter.clientId) &&
        (filter.sinceSeq === undefined || c.seq > filter.sinceSeq),
    );
  }

  private filterCreated(filter: RecordsFilter): SimCreatedRecord[] {
    return this.created.filter(
      (c) =>
        (filter.identityId === undefined || c.identityId === filter.identityId) &&
        (filter.pairKey === undefined || c.pairKey === filter.pairKey) &&
        (filter.clientId === undefined || c.clientId === filter.clientId) &&
        (filter.gatewaySubmissionId === undefined || c.gatewaySubmissionId === filter.gatewaySubmissionId),
    );
  }

  records(filter: RecordsFilter = {}): SimRecords {
    const calls = this.filterCalls(filter);
    const created = this.filterCreated(filter);
    const pairCounts: Record<string, number> = {};
    for (const c of created) pairCounts[c.pairKey] = (pairCounts[c.pairKey] ?? 0) + 1;
    return { calls: calls.map((c) => ({ ...c })), created: created.map((c) => ({ ...c })), pairCounts };
  }

  /** Creations per pair and per gatewaySubmissionId (distinct creating calls), and which exceed one. */
  summary(filter: RecordsFilter = {}): SimRecordsSummary {
    const created = this.filterCreated(filter);
    const pairCounts: Record<string, number> = {};
    const callsPerSubmission = new Map<string, Set<number>>();
    for (const c of created) {
      pairCounts[c.pairKey] = (pairCounts[c.pairKey] ?? 0) + 1;
      if (c.gatewaySubmissionId === null) continue;
      const calls = callsPerSubmission.get(c.gatewaySubmissionId) ?? new Set<number>();
      calls.add(c.callSeq);
      callsPerSubmission.set(c.gatewaySubmissionId, calls);
    }
    const submissionCounts = Object.fromEntries([...callsPerSubmission].map(([id, s]) => [id, s.size]));
    const over = (counts: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 1));
    return {
      submitCalls: this.filterCalls({ ...filter, operation: 'submit' }).length,
      createdItems: created.length,
      pairCounts,
      duplicatePairs: over(pairCounts),
      submissionCounts,
      duplicateSubmissions: over(submissionCounts),
    };
  }

  pairCount(key: string): number {
    return this.pairCounts.get(key) ?? 0;
  }

  clear(): void {
    this.calls = [];
    this.created = [];
    this.pairCounts.clear();
  }
}
