import type { SimCreatedRecord } from './simulator.types';

export type ItemState = 'EXECUTING' | 'REQUEST_COMPLETED' | 'REJECTED' | 'CANCELLED';

export function itemName(r: SimCreatedRecord): string {
  return `${r.itemType} ${r.itemId}`;
}

/** One `AccessRequestTracking`-style entry of `GET /v3/access-request-status`. */
export function statusEntry(
  r: SimCreatedRecord,
  state: ItemState,
  modifiedMs: number,
  cancelComment: string | null,
  requesterName: string,
): Record<string, unknown> {
  const modified = new Date(modifiedMs).toISOString();
  const requester = { type: 'IDENTITY', id: r.requesterId, name: requesterName };
  const approvalDone = state !== 'EXECUTING' && state !== 'CANCELLED';
  return {
    id: r.accountActivityItemId,
    name: itemName(r),
    type: r.itemType,
    cancelledRequestDetails:
      state === 'CANCELLED'
        ? {
            comment: cancelComment ?? '',
            owner: { type: 'IDENTITY', id: r.requesterId, name: requester.name },
            modified,
          }
        : null,
    errorMessages: null,
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
    accessRequestPhases: [
      {
        started: r.created,
        finished: approvalDone || state === 'CANCELLED' ? modified : null,
        name: 'APPROVAL_PHASE',
        state: state === 'EXECUTING' ? 'EXECUTING' : state === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED',
        result: state === 'REQUEST_COMPLETED' ? 'SUCCESSFUL' : state === 'REJECTED' ? 'FAILED' : null,
        phaseReference: 'approvalDetails',
      },
    ],
    description: null,
    startDate: r.startDate,
    removeDate: r.removeDate,
    cancelable: state === 'EXECUTING',
    accessRequestId: r.accessRequestId,
    clientMetadata: r.clientMetadata === null ? null : { ...r.clientMetadata },
    requestedAccounts: null,
    privilegeLevel: null,
  };
}
