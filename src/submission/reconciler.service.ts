import { Inject, Injectable, Logger } from '@nestjs/common';
import { GATEWAY_META } from '../access-request/access-request.types';
import { MetricsService } from '../ops/metrics.service';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import { IdnRateLimitedError } from '../identitynow/identitynow.errors';
import type { IdnRequestedItemStatus } from '../identitynow/identitynow.types';

const PAGE = 250;
/** Bounded: a read that reaches it without finding the call proves nothing (it throws). */
const MAX_PAGES_PER_IDENTITY = 8;
/** Reads of one identity's ids once the call is found (without them a cancel cannot name the pair). */
const ID_READ_TRIES = 4;
/** Hosts' clocks and IdentityNow's may disagree a little. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface ArrivedSubmission {
  readonly accessRequestIds: ReadonlyMap<string, string[]>;
}

// Whether a submission of unknown outcome arrived, found by its items' `gatewaySubmissionId`; any item
// found means the whole POST arrived. See docs/architecture.md, "Never twice: the call state machine".
@Injectable()
export class ReconcilerService {
  private readonly logger = new Logger('Reconciler');

  constructor(
    @Inject(IdentityNowClient) private readonly client: IdentityNowClient,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  /** Undefined: it did not arrive and may be sent again. A failed read throws, never means "not there". */
  async findSubmission(
    submissionId: string,
    identities: readonly string[],
    since: Date,
    signal?: AbortSignal,
  ): Promise<ArrivedSubmission | undefined> {
    try {
      const found = await this.lookUp(submissionId, identities, since, signal);
      this.metrics.reconciliation(found === undefined ? 'not_found' : 'found');
      return found;
    } catch (err) {
      this.metrics.reconciliation('error');
      throw err;
    }
  }

  private async lookUp(
    submissionId: string,
    identities: readonly string[],
    since: Date,
    signal?: AbortSignal,
  ): Promise<ArrivedSubmission | undefined> {
    const after = new Date(since.getTime() - CLOCK_SKEW_MS).toISOString();
    // IdentityNow takes or refuses a POST whole, so one identity's complete read decides for the call;
    // the other identities are read after a find only for their own accessRequestIds.
    const ids = new Map<string, string[]>();
    const add = (identity: string, found: readonly IdnRequestedItemStatus[]): void => {
      for (const e of found) {
        const who = e.requestedFor?.id ?? identity;
        const list = ids.get(who) ?? [];
        if (e.accessRequestId !== undefined && !list.includes(e.accessRequestId))
          list.push(e.accessRequestId);
        ids.set(who, list);
      }
    };
    let problem: Error | undefined;
    const unread: string[] = [];
    for (const [k, identity] of identities.entries()) {
      let read;
      try {
        read = await this.entriesFor(identity, submissionId, after, signal);
      } catch (err) {
        if (err instanceof IdnRateLimitedError) throw err;
        problem = err instanceof Error ? err : new Error(String(err));
        unread.push(identity);
        continue;
      }
      if (read.found.length > 0) {
        add(identity, read.found);
        await this.readIds([...unread, ...identities.slice(k + 1)], submissionId, after, signal, add);
        this.logger.log(`submission ${submissionId} had reached IdentityNow; not sending it again`);
        return { accessRequestIds: ids };
      }
      if (read.complete) return undefined;
      problem = new Error(
        `status read of ${submissionId} stopped after ${MAX_PAGES_PER_IDENTITY * PAGE} items of identity ` +
          `${identity} without reaching the call's time; it cannot prove the call absent`,
      );
      unread.push(identity);
    }
    throw problem ?? new Error(`call ${submissionId} names no identity to read`);
  }

  /** Best effort, a few tries each: without its ids a pair cannot be named in a cancel. */
  private async readIds(
    identities: readonly string[],
    submissionId: string,
    after: string,
    signal: AbortSignal | undefined,
    add: (identity: string, found: readonly IdnRequestedItemStatus[]) => void,
  ): Promise<void> {
    for (const identity of identities) {
      for (let tries = 1; tries <= ID_READ_TRIES; tries++) {
        try {
          add(identity, (await this.entriesFor(identity, submissionId, after, signal)).found);
          break;
        } catch (err) {
          if (err instanceof IdnRateLimitedError) return;
        }
      }
    }
  }

  private async entriesFor(
    identity: string,
    submissionId: string,
    after: string,
    signal: AbortSignal | undefined,
  ): Promise<{ found: IdnRequestedItemStatus[]; complete: boolean }> {
    const found: IdnRequestedItemStatus[] = [];
    for (let page = 0; page < MAX_PAGES_PER_IDENTITY; page++) {
      const rows = await this.client.listAccessRequestStatus(
        {
          'requested-for': identity,
          filters: `created gt ${after}`,
          sorters: '-created',
          limit: PAGE,
          offset: page * PAGE,
        },
        signal === undefined ? {} : { signal },
      );
      for (const r of rows) {
        if (r.clientMetadata?.[GATEWAY_META.submissionId] === submissionId) found.push(r);
      }
      if (found.length > 0 || rows.length < PAGE) return { found, complete: true };
    }
    return { found, complete: false };
  }
}
