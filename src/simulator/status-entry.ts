import type { SimItem } from './simulator-item';
import type { SimCreatedRecord, SimItemState } from './simulator.types';

export function itemName(r: SimCreatedRecord): string {
  return `${r.itemType} ${r.itemId}`;
}

type Phase = Record<string, unknown>;

function phase(
  name: string,
  started: string,
  finished: string | null,
  state: string,
  result: string | null,
): Phase {
  const phaseReference = name === 'APPROVAL_PHASE' ? 'approvalDetails' : null;
  return { started, finished, name, state, result, phaseReference };
}

// Simplified phases: approval, then provisioning once approved; enough for a client to tell them apart.
function phases(state: SimItemState, created: string, approvalEnd: string | null, modified: string): Phase[] {
  const end = approvalEnd ?? modified;
  switch (state) {
    case 'EXECUTING':
      return [phase('APPROVAL_PHASE', created, null, 'EXECUTING', null)];
    case 'CANCELLED':
    case 'TERMINATED':
      return [phase('APPROVAL_PHASE', created, end, 'CANCELLED', null)];
    case 'REJECTED':
    case 'ERROR':
      return [phase('APPROVAL_PHASE', created, end, 'COMPLETED', 'FAILED')];
    case 'PROVISIONING_VERIFICATION_PENDING':
      return [
        phase('APPROVAL_PHASE', created, end, 'COMPLETED', 'SUCCESSFUL'),
        phase('PROVISIONING_PHASE', end, null, 'EXECUTING', null),
      ];
    case 'REQUEST_COMPLETED':
    case 'PROVISIONING_FAILED':
    case 'NOT_ALL_ITEMS_PROVISIONED': {
      const result = state === 'REQUEST_COMPLETED' ? 'SUCCESSFUL' : 'FAILED';
      return [
        phase('APPROVAL_PHASE', created, end, 'COMPLETED', 'SUCCESSFUL'),
        phase('PROVISIONING_PHASE', end, modified, 'COMPLETED', result),
      ];
    }
  }
}

const ERROR_TEXT: Partial<Record<SimItemState, string>> = {
  ERROR: 'An error occurred while processing the request.',
  PROVISIONING_FAILED: 'Provisioning failed.',
  NOT_ALL_ITEMS_PROVISIONED: 'Not all items were provisioned.',
};

/** One `RequestedItemStatus` entry of `GET /v3/access-request-status`. */
export function statusEntry(item: SimItem, requesterName: string): Record<string, unknown> {
  const r = item.record;
  const state = item.state;
  const modified = new Date(item.modifiedMs).toISOString();
  const approvalEnd = item.approvalEndMs === null ? null : new Date(item.approvalEndMs).toISOString();
  const requester = { type: 'IDENTITY', id: r.requesterId, name: requesterName };
  const errorText = ERROR_TEXT[state];
  return {
    id: r.accountActivityItemId,
    name: itemName(r),
    type: r.itemType,
    cancelledRequestDetails:
      state === 'CANCELLED'
        ? {
            comment: item.cancelComment ?? 'Cancelled by the system.',
            owner: { type: 'IDENTITY', id: r.requesterId, name: requester.name },
            modified,
          }
        : null,
    errorMessages:
      errorText === undefined ? null : [[{ locale: 'en-US', localeOrigin: 'DEFAULT', text: errorText }]],
    state,
    approvalDetails: [],
    approvalIds: [],
    manualWorkItemDetails: null,
    accountActivityItemId: r.accountActivityItemId,
    requestType: r.requestType,
    modified,
    created: r.created,
    requester,
    requestedFor: { type: 'IDENTITY', id: r.identityId, name: r.identityId },
    requesterComment:
      r.comment === null ? null : { comment: r.comment, created: r.created, author: requester },
    sodViolationContext: null,
    provisioningDetails: null,
    preApprovalTriggerDetails: null,
    accessRequestPhases: phases(state, r.created, approvalEnd, modified),
    description: null,
    startDate: r.startDate,
    removeDate: r.removeDate,
    cancelable: state === 'EXECUTING',
    accessRequestId: r.accessRequestId,
    clientMetadata: r.clientMetadata === null ? null : { ...r.clientMetadata },
    requestedAccounts: requestedAccounts(r),
    privilegeLevel: null,
  };
}

function requestedAccounts(r: SimCreatedRecord): Record<string, unknown>[] | null {
  if (r.accountSelection === null) return null;
  return r.accountSelection.flatMap((sel) =>
    (sel.accounts ?? []).map((a) => ({
      name: a.nativeIdentity ?? '',
      type: 'ACCOUNT',
      accountUuid: a.accountUuid ?? null,
      accountId: a.nativeIdentity ?? null,
      sourceName: sel.sourceId ?? '',
    })),
  );
}
