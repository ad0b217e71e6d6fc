import { Inject, Injectable } from '@nestjs/common';
import { releasesClaim } from '../access-request/lifecycle';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { IdnAccessRequestStatusQuery, IdnRequestedItemStatus } from '../identitynow/identitynow.types';
import { DedupeStore } from '../submission/dedupe.store';
import { RequestEvents } from '../tracking/request-events';
import { REQUEST_FIELD, RequestStore, type StoredRequest } from '../tracking/request.store';
import { LIFECYCLE_SETTINGS, type LifecycleSettings } from './lifecycle.settings';
import type { LifecycleStore } from './lifecycle.store';
import { followedPairs, matchStatuses, type StatusRow, statusRow } from './status-matcher';

export type StatusReader = (query: IdnAccessRequestStatusQuery) => Promise<IdnRequestedItemStatus[]>;

export interface SweepReport {
  readonly followed: number;
  readonly feedPages: number;
  readonly idReads: number;
  readonly changed: number;
}

interface Feed {
  readonly complete: boolean;
  readonly pages: number;
  readonly newestMs: number | undefined;
}

/** How the status filter quotes ids; IdentityNow's ids are hex, anything else is left out. */
const SAFE_ID = /^[\w-]{1,128}$/;

/** A sweep: read the status feed (by accessRequestId where it cannot answer), record, release, close. */
@Injectable()
export class LifecycleService {
  readonly store: LifecycleStore;

  constructor(
    @Inject(RequestStore) private readonly requests: RequestStore,
    @Inject(DedupeStore) private readonly dedupe: DedupeStore,
    @Inject(RequestEvents) private readonly events: RequestEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LIFECYCLE_SETTINGS) private readonly settings: LifecycleSettings,
  ) {
    this.store = events.lifecycle;
  }

  async sweep(read: StatusReader): Promise<SweepReport> {
    const now = Date.now();
    const { overlapMs } = this.settings;
    const followed = await this.store.followed();
    const aged = followed.filter((f) => now - f.since >= this.config.lifecycle.maxFollowMs);
    for (const f of aged) {
      await this.store.write(f.trackingId, {
        fields: { [REQUEST_FIELD.closedAt]: new Date(now).toISOString() },
        follow: 'remove',
      });
    }
    const active = followed.filter((f) => !aged.includes(f));
    const since = new Map(active.map((f) => [f.trackingId, f.since]));
    await this.store.keepAlive([...since.keys()]);
    const changed = aged.map((f) => f.trackingId);
    const targets = new Map<string, StoredRequest>();
    for (const id of since.keys()) {
      const stored = await this.requests.load(id);
      // Nothing left to follow (or gone): the events close it or drop it from the index.
      if (stored === undefined || followedPairs(stored.pairs).length === 0) changed.push(id);
      else targets.set(id, stored);
      if (
        stored?.pairs.some(
          (p) =>
            p.cancel?.state === 'PENDING' && p.call === undefined && staleNote(p.cancel.at, now, this.config),
        )
      ) {
        changed.push(id);
      }
    }
    let feed: Feed = { complete: true, pages: 0, newestMs: undefined };
    let idReads = 0;
    if (targets.size === 0) {
      await this.store.setWatermark(now - overlapMs);
    } else {
      const rows = new Map<string, StatusRow[]>();
      const keep = (r: IdnRequestedItemStatus): void => {
        const row = statusRow(r);
        if (row !== undefined && targets.has(row.trackingId))
          rows.set(row.trackingId, [...(rows.get(row.trackingId) ?? []), row]);
      };
      const oldest = [...since.values()].reduce((a, b) => Math.min(a, b), now);
      feed = await this.readFeed(read, (await this.store.watermark()) ?? oldest - overlapMs, keep);
      const ids = this.idsToRead(targets, rows, since, feed.complete, now);
      for (const r of await this.readByIds(read, ids, () => (idReads += 1))) keep(r);
      for (const id of targets.keys()) {
        if (await this.applyRows(id, rows.get(id) ?? [])) changed.push(id);
      }
      if (feed.newestMs !== undefined) await this.store.setWatermark(feed.newestMs);
    }
    await this.events.changed(changed);
    const stale = await this.store.dirtySince(now - this.config.lifecycle.pollMs, 500);
    await this.events.changed(stale);
    return { followed: followed.length, feedPages: feed.pages, idReads, changed: changed.length };
  }

  private async readFeed(
    read: StatusReader,
    watermark: number,
    keep: (r: IdnRequestedItemStatus) => void,
  ): Promise<Feed> {
    const { pageSize, maxFeedPages, overlapMs } = this.settings;
    const stopAt = watermark - overlapMs;
    let newestMs: number | undefined;
    for (let page = 0; page < maxFeedPages; page++) {
      const rows = await read({
        'requested-by': 'me',
        sorters: '-modified',
        limit: pageSize,
        offset: page * pageSize,
      });
      let oldestMs = Infinity;
      for (const r of rows) {
        keep(r);
        const ms = Date.parse(r.modified ?? r.created ?? '');
        if (Number.isNaN(ms)) continue;
        newestMs = Math.max(newestMs ?? ms, ms);
        oldestMs = Math.min(oldestMs, ms);
      }
      if (rows.length < pageSize || oldestMs < stopAt) return { complete: true, pages: page + 1, newestMs };
    }
    return { complete: false, pages: maxFeedPages, newestMs };
  }

  /** Every followed pair when the feed was cut short, else the pairs never seen though due by now. */
  private idsToRead(
    targets: ReadonlyMap<string, StoredRequest>,
    rows: ReadonlyMap<string, readonly StatusRow[]>,
    since: ReadonlyMap<string, number>,
    complete: boolean,
    now: number,
  ): string[] {
    const ids = new Set<string>();
    for (const [id, stored] of targets) {
      const late = (since.get(id) ?? now) <= now - this.settings.overlapMs;
      const seen = new Set((rows.get(id) ?? []).map((r) => `${r.identityId}|${r.type}`));
      for (const p of followedPairs(stored.pairs)) {
        if (complete && (p.idn !== undefined || !late || seen.has(`${p.d.requestedFor}|${p.d.type}`)))
          continue;
        for (const a of [...(p.o.accessRequestIds ?? []), p.idn?.accessRequestId]) {
          if (a !== undefined && SAFE_ID.test(a)) ids.add(a);
        }
      }
    }
    return [...ids];
  }

  async readByIds(
    read: StatusReader,
    ids: readonly string[],
    counted: () => void = () => undefined,
  ): Promise<IdnRequestedItemStatus[]> {
    const { idsPerRead, pageSize } = this.settings;
    const out: IdnRequestedItemStatus[] = [];
    for (let i = 0; i < ids.length; i += idsPerRead) {
      const batch = ids.slice(i, i + idsPerRead).filter((a) => SAFE_ID.test(a));
      if (batch.length === 0) continue;
      for (let offset = 0; ; offset += pageSize) {
        const rows = await read({
          filters: `accessRequestId in (${batch.map((a) => `"${a}"`).join(',')})`,
          limit: pageSize,
          offset,
        });
        counted();
        out.push(...rows);
        if (rows.length < pageSize) break;
      }
    }
    return out;
  }

  /** One write, valid only for the version it was computed from: states, and the claims they free. */
  async applyRows(trackingId: string, rows: readonly StatusRow[]): Promise<boolean> {
    if (rows.length === 0) return false;
    for (let tries = 0; tries < 3; tries++) {
      const stored = await this.requests.load(trackingId);
      if (stored === undefined) return false;
      const found = matchStatuses(stored.pairs, rows);
      if (found.size === 0) return false;
      const fields: Record<string, string> = {};
      const release: string[] = [];
      for (const p of stored.pairs) {
        const s = found.get(p.fp);
        if (s === undefined) continue;
        fields[REQUEST_FIELD.idn + p.fp] = JSON.stringify(s);
        if (releasesClaim(p.d.requestType, s.state)) release.push(this.dedupe.claimKey(p.fp));
      }
      const r = await this.store.write(trackingId, {
        expectedVersion: stored.version,
        fields,
        releaseClaims: release,
      });
      if (r.ok) return true;
      if (r.why === 'gone') return false;
    }
    return false;
  }
}

function staleNote(at: string, now: number, config: AppConfig): boolean {
  return now - Date.parse(at) > 2 * config.lifecycle.pollMs;
}
