import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { pairIsOpen } from '../access-request/lifecycle';
import type { RequestRecord } from '../access-request/request-record';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CancelProducer } from '../lifecycle/cancel.producer';
import { LifecycleStore } from '../lifecycle/lifecycle.store';
import { followedPairs } from '../lifecycle/status-matcher';
import { WebhookNotifier } from '../webhooks/webhook.producer';
import { REQUEST_FIELD, RequestStore, type StoredRequest } from './request.store';

const MAX_TRIES = 3;

function digestOf(r: RequestRecord): string {
  const parts = r.pairs.map((p) => [p.outcome, p.identityNowState ?? '', p.cancel?.state ?? '']);
  return createHash('sha256')
    .update(JSON.stringify([r.state, r.closedAt ?? '', parts]))
    .digest('base64url')
    .slice(0, 22);
}

const quiet = (r: RequestRecord): boolean =>
  r.closedAt === undefined && r.pairs.every((p) => p.outcome === 'PENDING' && p.cancel === undefined);

/** Changes stay marked in Redis until handled, so the sweep handles what a dead process left. */
@Injectable()
export class RequestEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('RequestEvents');
  readonly lifecycle: LifecycleStore;
  private readonly cancels: CancelProducer;

  constructor(
    @Inject(RequestStore) private readonly requests: RequestStore,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(WebhookNotifier) private readonly webhooks: WebhookNotifier,
  ) {
    this.lifecycle = new LifecycleStore(requests, config);
    this.cancels = new CancelProducer(requests.redis, config);
  }

  /** Never throws: what could not be handled stays marked for the sweep. */
  async changed(trackingIds: readonly string[]): Promise<void> {
    const ids = [...new Set(trackingIds)];
    if (ids.length === 0) return;
    try {
      await this.lifecycle.markDirty(ids);
    } catch (e) {
      this.warn('could not mark changes', ids, e);
    }
    await Promise.all(
      ids.map((id) =>
        this.settle(id).catch((e: unknown) => {
          this.warn('could not handle a change', [id], e);
        }),
      ),
    );
  }

  private async settle(trackingId: string): Promise<void> {
    for (let tries = 0; ; tries++) {
      const stored = await this.requests.load(trackingId);
      if (stored === undefined) {
        await this.lifecycle.unfollow(trackingId);
        await this.lifecycle.clearDirty(trackingId, undefined);
        return;
      }
      const write = this.closing(stored);
      if (write !== undefined && tries < MAX_TRIES) {
        const r = await this.lifecycle.write(trackingId, { expectedVersion: stored.version, ...write });
        if (r.ok || r.why === 'stale') continue;
        return;
      }
      if (stored.closedAt === undefined && followedPairs(stored.pairs).length > 0) {
        await this.lifecycle.follow(trackingId);
      }
      if (stored.pairs.some((p) => p.cancel?.state === 'PENDING')) {
        await this.cancels.add(trackingId, stored.meta.clientId);
      }
      await this.notify(stored);
      await this.lifecycle.clearDirty(trackingId, stored.version);
      return;
    }
  }

  private closing(
    stored: StoredRequest,
  ): { fields: Record<string, string | undefined>; follow?: 'remove' } | undefined {
    if (stored.phase === 'redrive') return undefined;
    const open = stored.pairs.some((p) => pairIsOpen(p.o.outcome, p.idn?.state));
    if (stored.closedAt === undefined && !open) {
      return { fields: { [REQUEST_FIELD.closedAt]: new Date().toISOString() }, follow: 'remove' };
    }
    if (stored.closedAt !== undefined && stored.pairs.some((p) => p.o.outcome === 'PENDING')) {
      return { fields: { [REQUEST_FIELD.closedAt]: undefined } };
    }
    return undefined;
  }

  private async notify(stored: StoredRequest): Promise<void> {
    if (!this.webhooks.wants(stored.meta.clientId)) return;
    const record = await this.requests.recordOf(stored);
    if (quiet(record)) return;
    const digest = digestOf(record);
    if (digest === stored.notified) return;
    await this.webhooks.notify(stored.meta.clientId, record, String(stored.version));
    await this.lifecycle.setNotified(stored.trackingId, digest, stored.version);
  }

  private warn(what: string, ids: readonly string[], e: unknown): void {
    this.logger.warn(
      `${what} (${ids.slice(0, 5).join(', ')}): ${e instanceof Error ? e.message : String(e)}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.cancels.close();
  }
}
