import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { policyViolations } from '../auth/client-policy';
import type { GatewayClient } from '../clients/gateway-client';
import {
  EnqueueUnconfirmedError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  UnavailableError,
  UnsupportedMediaTypeError,
} from '../common/gateway.errors';
import { isoTime } from '../common/iso-time';
import { isTrackingId, type SubmissionJobData } from '../queue/submission-job';
import { API_REDIS_TIMEOUT_MS, withRedisTimeout } from '../redis/redis-timeout';
import { RequestStore } from '../tracking/request.store';
import { statusPath, type RequestRecord } from '../access-request/request-record';
import { GATEWAY_META, type AccessRequestBody } from '../access-request/access-request.types';
import { validateAccessRequest } from '../access-request/access-request.validator';
import { IdempotencyService } from './idempotency.service';
import { expandPairs } from '../access-request/pairs';
import { pairCount, QuotaService } from './quota.service';
import { SubmissionProducer } from './submission.producer';

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

export interface AcceptedBody {
  trackingId: string;
  state: 'QUEUED';
  statusUrl: string;
}

export interface AcceptInput {
  client: GatewayClient;
  body: unknown;
  contentType: string | undefined;
  idempotencyKey: string | undefined;
  requestId: string;
  traceparent: string | undefined;
}

export interface AcceptResult {
  status: number;
  body: unknown;
  replayed: boolean;
}

/** The accept path; a 202 is returned only once the job is in Redis. */
@Injectable()
export class AccessRequestsService {
  constructor(
    private readonly producer: SubmissionProducer,
    private readonly idempotency: IdempotencyService,
    private readonly quota: QuotaService,
    private readonly records: RequestStore,
  ) {}

  async accept(input: AcceptInput): Promise<AcceptResult> {
    if (input.contentType === undefined || !/^application\/json\b/i.test(input.contentType)) {
      throw new UnsupportedMediaTypeError(['Content-Type must be application/json']);
    }
    const now = new Date();
    const result = validateAccessRequest(input.body, { now });
    if (!result.ok) throw new InvalidRequestError(result.messages);
    const denied = policyViolations(input.client, result.value);
    if (denied.length > 0) throw new ForbiddenError(denied);

    let idem: { key: string; bodyHash: string } | undefined;
    if (input.idempotencyKey !== undefined) {
      const start = await this.idempotency.begin(input.client.id, input.idempotencyKey, input.body);
      if (start.kind === 'replay') return { status: start.status, body: start.body, replayed: true };
      idem = start;
    }
    let acceptedBody: AcceptedBody | undefined;
    try {
      await this.quota.consume(input.client, pairCount(result.value));
      const trackingId = randomUUID();
      const body: AcceptedBody = { trackingId, state: 'QUEUED', statusUrl: statusPath(trackingId) };
      acceptedBody = body;
      await this.producer.enqueue(this.jobData(trackingId, now, result.value, input));
      if (idem !== undefined) {
        // The job is queued: a failure to record the replay must not turn the 202 into an error.
        await this.idempotency.complete(idem.key, idem.bodyHash, 202, body).catch(() => undefined);
      }
      return { status: 202, body, replayed: false };
    } catch (e) {
      if (idem !== undefined) {
        const key = idem;
        if (e instanceof EnqueueUnconfirmedError) {
          // The key stays "in progress" (409) until Redis tells whether the job landed; then it
          // replays the 202 of the job that exists, or frees the key for a real retry.
          const accepted = acceptedBody;
          void e.settled
            .then(async (landed) => {
              if (landed && accepted !== undefined) {
                await this.idempotency.complete(key.key, key.bodyHash, 202, accepted);
              } else {
                await this.idempotency.abandon(key.key);
              }
            })
            .catch(() => undefined);
        } else {
          await this.idempotency.abandon(key.key);
        }
      }
      throw e;
    }
  }

  async status(client: GatewayClient, trackingId: string): Promise<RequestRecord> {
    const notFound = new NotFoundError([`no access request ${trackingId} for client ${client.id}`]);
    if (!isTrackingId(trackingId)) throw notFound;
    try {
      return await withRedisTimeout(this.readStatus(client, trackingId, notFound), 2 * API_REDIS_TIMEOUT_MS);
    } catch (e) {
      if (e instanceof NotFoundError) throw e;
      throw new UnavailableError(
        ['Redis is unavailable; the status cannot be read right now, retry shortly'],
        5,
      );
    }
  }

  private async readStatus(
    client: GatewayClient,
    trackingId: string,
    notFound: NotFoundError,
  ): Promise<RequestRecord> {
    const record = await this.records.record(trackingId);
    if (record !== undefined) {
      // Another client's request is indistinguishable from a missing one.
      if (record.clientId !== client.id) throw notFound;
      if (record.state !== 'QUEUED' && record.state !== 'PROCESSING') return record;
      const job = await this.producer.find(trackingId);
      return job?.failedReason === undefined ? record : failedByQueue(record, job.failedReason);
    }
    const job = await this.producer.find(trackingId);
    if (job === undefined || job.data.clientId !== client.id) throw notFound;
    const queued: RequestRecord = {
      trackingId,
      clientId: job.data.clientId,
      state: 'QUEUED',
      createdAt: job.data.acceptedAt,
      updatedAt: job.data.acceptedAt,
      attempts: job.attemptsMade,
      pairs: expandPairs(job.data.request).map((p) => ({
        requestedFor: p.identityId,
        type: p.item.type,
        id: p.item.id,
        requestType: p.requestType,
        outcome: 'PENDING',
      })),
    };
    return job.failedReason === undefined ? queued : failedByQueue(queued, job.failedReason);
  }

  private jobData(
    trackingId: string,
    now: Date,
    request: AccessRequestBody,
    input: AcceptInput,
  ): SubmissionJobData {
    // The calling app goes into IdentityNow's trail; it is never taken from the caller's body. The
    // metadata is the validator's own copy, so it is stamped in place.
    const metadata = request.clientMetadata ?? {};
    metadata[GATEWAY_META.clientId] = input.client.id;
    request.clientMetadata = metadata;
    const data: { -readonly [K in keyof SubmissionJobData]: SubmissionJobData[K] } = {
      v: 1,
      trackingId,
      clientId: input.client.id,
      acceptedAt: isoTime(now.getTime()),
      request,
      requestId: input.requestId,
    };
    if (input.traceparent !== undefined && TRACEPARENT.test(input.traceparent)) {
      data.traceparent = input.traceparent;
    }
    return data;
  }
}

/** Failed job without a final record (e.g. maxmemory): report the queue's view, not PROCESSING forever. */
function failedByQueue(record: RequestRecord, failedReason: string): RequestRecord {
  const reason = `the submission job failed (${failedReason}); an admin can re-drive it with POST /admin/requests/${record.trackingId}/retry`;
  const pairs = record.pairs.map((p) =>
    p.outcome === 'PENDING' ? { ...p, outcome: 'FAILED' as const, reason } : p,
  );
  const submitted = pairs.some((p) => p.outcome === 'SUBMITTED');
  return { ...record, state: submitted ? 'PARTIALLY_SUBMITTED' : 'FAILED', pairs };
}
