import type { ItemType, RequestType } from './access-request.types';

export type RequestState =
  'QUEUED' | 'PROCESSING' | 'SUBMITTED' | 'PARTIALLY_SUBMITTED' | 'DUPLICATE' | 'FAILED';
export type PairOutcome = 'PENDING' | 'SUBMITTED' | 'DUPLICATE' | 'FAILED';
export type HolderOutcome = 'PENDING' | 'SUBMITTED' | 'FAILED';

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
}

export interface RequestRecord {
  trackingId: string;
  clientId: string;
  state: RequestState;
  createdAt: string;
  updatedAt: string;
  attempts: number;
  pairs: PairStatus[];
}

export const statusPath = (trackingId: string): string => `/v3/access-requests/${trackingId}`;
