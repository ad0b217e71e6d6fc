/** Tuning of the following that is not configuration: fixed for production, shortened by tests. */
export interface LifecycleSettings {
  readonly pageSize: number;
  /** Feed pages per sweep; a longer backlog of changes is read by accessRequestId instead. */
  readonly maxFeedPages: number;
  /** How far before the last sweep's newest row the feed is read again (IdentityNow lists late). */
  readonly overlapMs: number;
  readonly idsPerRead: number;
}

export const LIFECYCLE_DEFAULTS: LifecycleSettings = {
  pageSize: 250,
  maxFeedPages: 20,
  overlapMs: 5 * 60_000,
  idsPerRead: 50,
};

export const LIFECYCLE_SETTINGS = Symbol('LIFECYCLE_SETTINGS');
