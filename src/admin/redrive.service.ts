import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { statusPath } from '../access-request/request-record';
import { ConflictError, NotFoundError } from '../common/gateway.errors';
import { isTrackingId, SUBMISSION_QUEUE, type SubmissionJobData } from '../queue/submission-job';
import { RequestStore } from '../tracking/request.store';

export interface RedriveAccepted {
  trackingId: string;
  state: 'QUEUED';
  statusUrl: string;
}

/** Re-drives a failed request; writes no status itself, so it can never overwrite a worker's write. */
@Injectable()
export class RedriveService {
  constructor(
    @InjectQueue(SUBMISSION_QUEUE) private readonly queue: Queue<SubmissionJobData>,
    @Inject(RequestStore) private readonly requests: RequestStore,
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
    if (!(await this.requests.requestRedrive(trackingId))) {
      throw new ConflictError([
        `request ${trackingId} has no stored progress left to continue from (its retention has passed); send it again instead`,
      ]);
    }
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return { trackingId, state: 'QUEUED', statusUrl: statusPath(trackingId) };
  }
}
