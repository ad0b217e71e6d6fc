import {
  SIM_FINAL_STATES,
  type SimCreatedRecord,
  type SimFinalState,
  type SimItemMatch,
  type SimItemState,
  type SimProgression,
} from './simulator.types';

export interface SimItem {
  readonly record: SimCreatedRecord;
  readonly createdMs: number;
  readonly visibleAtMs: number;
  state: SimItemState;
  modifiedMs: number;
  approvalEndMs: number | null;
  planned: { readonly state: SimFinalState; readonly atMs: number } | null;
  readonly outcome: SimFinalState;
  cancelComment: string | null;
}

export function isFinal(state: SimItemState): state is SimFinalState {
  return (SIM_FINAL_STATES as readonly string[]).includes(state);
}

export function matchesItem(record: SimCreatedRecord, m: SimItemMatch): boolean {
  return (
    (m.itemId === undefined || m.itemId === record.itemId) &&
    (m.identityId === undefined || m.identityId === record.identityId) &&
    (m.itemType === undefined || m.itemType === record.itemType) &&
    (m.requestType === undefined || m.requestType === record.requestType) &&
    (m.accessRequestId === undefined || m.accessRequestId === record.accessRequestId) &&
    (m.accountActivityItemId === undefined || m.accountActivityItemId === record.accountActivityItemId) &&
    (m.gatewaySubmissionId === undefined || m.gatewaySubmissionId === record.gatewaySubmissionId)
  );
}

export function planItem(
  record: SimCreatedRecord,
  createdMs: number,
  visibleAtMs: number,
  progression: SimProgression,
  draw: () => number,
): SimItem {
  const rule = progression.rules.find((r) => matchesItem(record, r.match));
  let outcome: SimFinalState;
  let afterMs = progression.completeAfterMs;
  if (rule !== undefined) {
    outcome = rule.state;
    if (rule.afterMs !== undefined) afterMs = rule.afterMs;
  } else {
    // An item whose id starts with "reject" is always rejected: a deterministic way to see REJECTED.
    const rejected =
      record.itemId.toLowerCase().startsWith('reject') ||
      (progression.rejectRate > 0 && draw() < progression.rejectRate);
    outcome = rejected ? 'REJECTED' : 'REQUEST_COMPLETED';
  }
  return {
    record,
    createdMs,
    visibleAtMs,
    state: 'EXECUTING',
    modifiedMs: createdMs,
    approvalEndMs: null,
    planned: afterMs === null ? null : { state: outcome, atMs: createdMs + Math.max(0, afterMs) },
    outcome,
    cancelComment: null,
  };
}

// `modified` moves forward on every change, even two changes within one millisecond.
function moveTo(item: SimItem, state: SimItemState, atMs: number): void {
  const at = Math.max(atMs, item.modifiedMs + 1);
  if (item.state === 'EXECUTING') item.approvalEndMs = at;
  item.state = state;
  item.modifiedMs = at;
  if (isFinal(state)) item.planned = null;
}

// States are computed lazily, on read.
export function settle(item: SimItem, now: number): SimItem {
  const p = item.planned;
  if (p !== null && now >= p.atMs && !isFinal(item.state)) moveTo(item, p.state, p.atMs);
  return item;
}

export function forceState(item: SimItem, state: Exclude<SimItemState, 'EXECUTING'>, now: number): boolean {
  settle(item, now);
  if (isFinal(item.state) || item.state === state) return false;
  moveTo(item, state, now);
  return true;
}

/** IdentityNow cancels only before approval completes, i.e. while the item is EXECUTING. */
export function cancelItem(item: SimItem, comment: string, now: number): boolean {
  settle(item, now);
  if (item.state !== 'EXECUTING') return false;
  moveTo(item, 'CANCELLED', now);
  item.cancelComment = comment;
  return true;
}
