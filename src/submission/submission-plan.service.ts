import { Inject, Injectable } from '@nestjs/common';
import type { RequestPair } from '../access-request/pairs';
import type { SubmissionJobData } from '../queue/submission-job';
import type { PairResult } from '../tracking/request-record.builder';
import { type ClaimResult, DedupeStore } from './dedupe.store';
import { type JobProgress, SubmissionProgressStore } from './submission-progress.store';
import { planContextOf, planSubmissions } from './submission.planner';

const resultOf = (c: ClaimResult | undefined): PairResult =>
  c === undefined || c.owned ? { outcome: 'PENDING' } : { outcome: 'DUPLICATE', duplicateOf: c.holder };

/** A job's plan: claimed and planned once, re-claimed on an admin re-drive, then only continued. */
@Injectable()
export class SubmissionPlanService {
  constructor(
    @Inject(DedupeStore) private readonly dedupe: DedupeStore,
    @Inject(SubmissionProgressStore) private readonly progressStore: SubmissionProgressStore,
  ) {}

  async loadOrPlan(data: SubmissionJobData, pairs: readonly RequestPair[]): Promise<JobProgress> {
    const existing = await this.progressStore.get(data.trackingId);
    if (existing !== undefined) {
      if (existing.redrive === true) await this.prepareRedrive(data, pairs, existing);
      return existing;
    }
    // First attempt (or a crash before the plan was saved: then the claims below come back as ours).
    const claims = await this.dedupe.claim(data.trackingId, pairs);
    const results: Record<string, PairResult> = {};
    const survivors: RequestPair[] = [];
    pairs.forEach((p, i) => {
      results[p.fingerprint] = resultOf(claims[i]);
      if (results[p.fingerprint]?.outcome === 'PENDING') survivors.push(p);
    });
    const progress: JobProgress = {
      v: 1,
      trackingId: data.trackingId,
      attemptsBefore: 0,
      pairs: results,
      submissions: planSubmissions(survivors, planContextOf(data)).map((p) => ({
        id: p.submissionId,
        fingerprints: p.fingerprints,
        state: 'pending',
      })),
    };
    await this.progressStore.put(progress);
    return progress;
  }

  /** FAILED pairs are claimed again (or become duplicates of whoever holds them now). */
  private async prepareRedrive(
    data: SubmissionJobData,
    pairs: readonly RequestPair[],
    progress: JobProgress,
  ): Promise<void> {
    const failed = pairs.filter((p) => progress.pairs[p.fingerprint]?.outcome === 'FAILED');
    const claims = await this.dedupe.claim(data.trackingId, failed);
    failed.forEach((p, i) => {
      progress.pairs[p.fingerprint] = resultOf(claims[i]);
    });
    for (const sub of progress.submissions) {
      if (sub.state === 'failed') sub.state = 'pending';
      delete sub.reason;
    }
    progress.redrive = false;
    await this.progressStore.put(progress);
  }
}
