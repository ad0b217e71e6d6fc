import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFinalState } from '../access-request/lifecycle';
import { expandPairs } from '../access-request/pairs';
import type { RequestRecord } from '../access-request/request-record';
import type { GatewayClient } from '../clients/gateway-client';
import {
  ConflictError,
  GatewayError,
  InvalidRequestError,
  NotFoundError,
  UnavailableError,
} from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { CancelPair } from '../lifecycle/lifecycle.store';
import { isTrackingId } from '../queue/submission-job';
import { API_REDIS_TIMEOUT_MS, withRedisTimeout } from '../redis/redis-timeout';
import { CallStore } from '../submission/call.store';
import { DedupeStore } from '../submission/dedupe.store';
import { RequestEvents } from '../tracking/request-events';
import {
  type PairCancelRecord,
  type PairResult,
  RequestStore,
  type StoredRequest,
} from '../tracking/request.store';
import { SubmissionProducer } from './submission.producer';

const MAX_COMMENT = 255;
/** A request job that is being taken up right now writes its record within this. */
const INTAKE_WAIT_MS = 1_500;
const TRIES = 3;

export function cancelComment(body: unknown): string {
  const comment = (body as { comment?: unknown } | null | undefined)?.comment;
  if (typeof comment !== 'string' || comment.trim() === '' || comment.length > MAX_COMMENT) {
    throw new InvalidRequestError([`comment is required: a string of 1 to ${MAX_COMMENT} characters`]);
  }
  return comment;
}

/** Pairs not sent yet end CANCELLED at once; the others get a note the worker's cancel job carries out. */
@Injectable()
export class RequestCancelService {
  private readonly dedupe: DedupeStore;
  private readonly calls: CallStore;

  constructor(
    @Inject(RequestStore) private readonly requests: RequestStore,
    @Inject(RequestEvents) private readonly events: RequestEvents,
    @Inject(SubmissionProducer) private readonly producer: SubmissionProducer,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Only their key names are used: the API writes through the lifecycle's scripts.
    this.dedupe = new DedupeStore(requests.redis, config);
    this.calls = new CallStore(requests.redis, requests, config);
  }

  async cancel(client: GatewayClient, trackingId: string, body: unknown): Promise<RequestRecord> {
    const comment = cancelComment(body);
    const notFound = new NotFoundError([`no access request ${trackingId} for client ${client.id}`]);
    if (!isTrackingId(trackingId)) throw notFound;
    try {
      const { stored, takenOut } = await this.loadOrTakeUp(client, trackingId, comment, notFound);
      if (stored.meta.clientId !== client.id) throw notFound;
      if (!takenOut) await this.cancelPairs(stored, comment);
      // Handled now if it can be; a change it could not tell stays marked for the worker's sweep.
      await withRedisTimeout(this.events.changed([trackingId]), 4 * API_REDIS_TIMEOUT_MS).catch(
        () => undefined,
      );
      const record = await withRedisTimeout(this.requests.record(trackingId));
      if (record === undefined) throw notFound;
      return record;
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      throw new UnavailableError(['Redis is unavailable; nothing was cancelled, retry shortly'], 5);
    }
  }

  private async loadOrTakeUp(
    client: GatewayClient,
    trackingId: string,
    comment: string,
    notFound: NotFoundError,
  ): Promise<{ stored: StoredRequest; takenOut: boolean }> {
    const stored = await withRedisTimeout(this.requests.load(trackingId));
    if (stored !== undefined) return { stored, takenOut: false };
    const job = await withRedisTimeout(this.producer.find(trackingId));
    if (job === undefined || job.data.clientId !== client.id) throw notFound;
    let takenOut = await withRedisTimeout(this.producer.removeWaiting(trackingId));
    if (takenOut) {
      const reason = `cancelled before it was sent to IdentityNow: ${comment}`;
      const pairs = expandPairs(job.data.request);
      const written = await withRedisTimeout(
        this.events.lifecycle.cancelQueued(
          trackingId,
          JSON.stringify({
            clientId: job.data.clientId,
            createdAt: job.data.acceptedAt,
            ...(job.data.requestId === undefined ? {} : { requestId: job.data.requestId }),
          }),
          pairs.map((p, i) => ({
            fp: p.fingerprint,
            d: JSON.stringify({
              i,
              requestedFor: p.identityId,
              type: p.item.type,
              id: p.item.id,
              requestType: p.requestType,
            }),
            o: JSON.stringify({ outcome: 'CANCELLED', reason } satisfies PairResult),
          })),
          pairs.map((p) => this.dedupe.claimKey(p.fingerprint)),
        ),
      );
      if (!written) {
        // A worker handed the pairs off between our look and the removal: requeue, cancel pairs below.
        await withRedisTimeout(this.producer.restore(job.data));
        takenOut = false;
      }
    }
    // Taken out here, or taken up by a worker right now: its record follows at once.
    const end = Date.now() + INTAKE_WAIT_MS;
    for (;;) {
      const now = await withRedisTimeout(this.requests.load(trackingId));
      if (now !== undefined) return { stored: now, takenOut };
      if (Date.now() >= end) break;
      await sleep(100);
    }
    throw new UnavailableError(['the request is being taken up by a worker right now; retry in a second'], 1);
  }

  private async cancelPairs(initial: StoredRequest, comment: string): Promise<void> {
    let stored = initial;
    const reason = `cancelled before it was sent to IdentityNow: ${comment}`;
    for (let tries = 0; tries < TRIES; tries++) {
      const note: PairCancelRecord = { state: 'PENDING', comment, at: new Date().toISOString() };
      const pairs: CancelPair[] = stored.pairs
        .filter(
          (p) =>
            (p.o.outcome === 'PENDING' && p.call !== undefined) ||
            (p.o.outcome === 'SUBMITTED' &&
              !isFinalState(p.idn?.state) &&
              (p.cancel === undefined || p.cancel.state === 'REFUSED')),
        )
        .map((p) => ({
          fp: p.fp,
          ...(p.o.outcome === 'PENDING' && p.call !== undefined ? { call: p.call } : {}),
          claimKey: this.dedupe.claimKey(p.fp),
          cancelled: JSON.stringify({ outcome: 'CANCELLED', reason } satisfies PairResult),
          note: JSON.stringify(note),
        }));
      const underway = stored.pairs.some(
        (p) => p.cancel !== undefined && p.cancel.state !== 'REFUSED' && !isFinalState(p.idn?.state),
      );
      if (pairs.length === 0) {
        if (underway && tries === 0) return;
        if (tries > 0) return;
        if (stored.phase === 'redrive') {
          throw new ConflictError([
            `request ${stored.trackingId} is being re-driven: its FAILED pairs are about to be taken back; cancel again in a few seconds`,
          ]);
        }
        throw new ConflictError([
          `request ${stored.trackingId} has nothing left to cancel: every pair is final (CANCELLED, FAILED, DUPLICATE, or ended in IdentityNow)`,
        ]);
      }
      const codes = await withRedisTimeout(
        this.events.lifecycle.cancel(stored.trackingId, this.calls.cancelKeys(stored.meta.clientId), pairs),
      );
      if (!codes.includes('unchanged')) return;
      // A pair moved on meanwhile (sent, split, ended): look again.
      const again = await withRedisTimeout(this.requests.load(stored.trackingId));
      if (again === undefined) return;
      stored = again;
    }
  }
}
