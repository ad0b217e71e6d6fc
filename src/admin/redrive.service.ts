import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { statusPath } from '../access-request/request-record';
import { ConflictError, NotFoundError } from '../common/gateway.errors';
import { isTrackingId, SUBMISSION_QUEUE, type SubmissionJobData } from '../queue/submission-job';
import { RequestRecordStore } from '../tracking/request-record.store';
import { SubmissionProgressStore } from '../submission/submission-progress.store';

export interface RedriveAccepted {
  trackingId: string;
  state: 'QUEUED';
  statusUrl: string;
}

/**
 * Re-drives a failed submission job. The job's progress is flagged so that its next attempt claims
 * the FAILED pairs again (or reports them as duplicates of whoever holds them now) and reconciles
 * every submission whose outcome was unknown before sending anything.
 */
@Injectable()
export class RedriveService {
  constructor(
    @InjectQueue(SUBMISSION_QUEUE) private readonly queue: Queue<SubmissionJobData>,
    @Inject(SubmissionProgressStore) private readonly progress: SubmissionProgressStore,
    @Inject(RequestRecordStore) private readonly records: RequestRecordStore,
  ) {}

  async retry(trackingId: string): Promise<RedriveAccepted> {
    const notFound = new NotFoundError([
      `no submission job ${trackingId} (unknown, or its retention has passed)`,
    ]);
    if (!isTrackingId(trackingId)) throw notFound;
    const job = await this.queue.getJob(trackingId);
    if (job === undefined) throw notFound;
    const state = await job.getState();
    if (state !== 'failed') {
      throw new ConflictError([`request ${trackingId} is ${state}; only failed requests can be re-driven`]);
    }
    const progress = await this.progress.get(trackingId);
    if (progress !== undefined) {
      progress.redrive = true;
      progress.attemptsBefore += job.attemptsMade;
      await this.progress.put(progress);
    }
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    const record = await this.records.get(trackingId);
    if (record !== undefined) {
      await this.records.put({ ...record, state: 'QUEUED', updatedAt: new Date().toISOString() });
    }
    return { trackingId, state: 'QUEUED', statusUrl: statusPath(trackingId) };
  }
}
