import { Inject, Injectable, Logger } from '@nestjs/common';
import { GATEWAY_META } from '../access-request/access-request.types';
import { MetricsService } from '../ops/metrics.service';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import type { IdnRequestedItemStatus } from '../identitynow/identitynow.types';

const PAGE = 250;
/** Bounded: a read that reaches it without finding the call proves nothing (it throws). */
const MAX_PAGES_PER_IDENTITY = 8;
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
    // Every identity is read: one POST arrives whole, but each identity's accessRequestIds are its own.
    const ids = new Map<string, string[]>();
    let truncated: string | undefined;
    for (const identity of identities) {
      const { found, complete } = await this.entriesFor(identity, submissionId, after, signal);
      if (!complete) truncated = identity;
      for (const e of found) {
        const who = e.requestedFor?.id ?? identity;
        const list = ids.get(who) ?? [];
        if (e.accessRequestId !== undefined && !list.includes(e.accessRequestId))
          list.push(e.accessRequestId);
        ids.set(who, list);
      }
    }
    if (ids.size === 0 && truncated !== undefined)
      throw new Error(
        `status read of ${submissionId} stopped after ${MAX_PAGES_PER_IDENTITY * PAGE} items of identity ` +
          `${truncated} without reaching the call's time; it cannot prove the call absent`,
      );
    if (ids.size === 0) return undefined;
    this.logger.log(`submission ${submissionId} had reached IdentityNow; not sending it again`);
    return { accessRequestIds: ids };
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
