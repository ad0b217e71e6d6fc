import type { ItemType, RequestType } from './access-request.types';

export type RequestState =
  'QUEUED' | 'PROCESSING' | 'SUBMITTED' | 'PARTIALLY_SUBMITTED' | 'DUPLICATE' | 'FAILED' | 'CANCELLED';
export type PairOutcome = 'PENDING' | 'SUBMITTED' | 'DUPLICATE' | 'FAILED' | 'CANCELLED';
export type HolderOutcome = 'PENDING' | 'SUBMITTED' | 'FAILED';

/** IdentityNow's `RequestedItemStatusRequestState`. */
export const IDENTITYNOW_STATES = [
  'EXECUTING',
  'PROVISIONING_VERIFICATION_PENDING',
  'REQUEST_COMPLETED',
  'CANCELLED',
  'TERMINATED',
  'REJECTED',
  'PROVISIONING_FAILED',
  'NOT_ALL_ITEMS_PROVISIONED',
  'ERROR',
] as const;
export type IdentityNowState = (typeof IDENTITYNOW_STATES)[number];

/** A cancel asked for a submitted pair: not yet sent, accepted by IdentityNow, or refused (why). */
export interface PairCancel {
  state: 'PENDING' | 'SENT' | 'REFUSED';
  reason?: string;
}

export interface PairStatus {
  requestedFor: string;
  type: ItemType;
  id: string;
  requestType: RequestType;
  outcome: PairOutcome;
  accessRequestIds?: string[];
  /** The tracking id that holds the claim, or "identitynow" when IdentityNow reported it existing. */
  duplicateOf?: string;
  holderOutcome?: HolderOutcome;
  reason?: string;
  /** The latest state IdentityNow reported for a submitted pair; absent until first seen. */
  identityNowState?: IdentityNowState;
  cancel?: PairCancel;
}

export interface RequestRecord {
  trackingId: string;
  clientId: string;
  state: RequestState;
  createdAt: string;
  updatedAt: string;
  /** Set once no pair can change any more, or when following ended after LIFECYCLE_MAX_DAYS. */
  closedAt?: string;
  attempts: number;
  pairs: PairStatus[];
}

export const statusPath = (trackingId: string): string => `/v3/access-requests/${trackingId}`;
