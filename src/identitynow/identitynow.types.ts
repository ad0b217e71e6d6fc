/**
 * Wire types for the IdentityNow v3 calls the gateway makes, following the schemas of
 * `../shared/idn-openapi/subset-access-requests.v3.yaml` (AccessRequest, AccessRequestItem,
 * AccessRequestResponse, AccessRequestTracking, RequestedItemStatus, CancelAccessRequest).
 * Only the fields the gateway reads or writes are typed; everything IdentityNow adds is kept as-is.
 * (The official SDK's v3 types are older than the spec: no MODIFY_ACCESS, startDate or assignmentId.)
 */

export type IdnRequestType = 'GRANT_ACCESS' | 'REVOKE_ACCESS' | 'MODIFY_ACCESS';
export type IdnItemType = 'ACCESS_PROFILE' | 'ROLE' | 'ENTITLEMENT';

/** AccessRequestItem */
export interface IdnAccessRequestItem {
  type: IdnItemType;
  id: string;
  comment?: string;
  clientMetadata?: Record<string, string>;
  startDate?: string;
  removeDate?: string;
  assignmentId?: string;
  nativeIdentity?: string;
}

/** RequestedForDtoRef (GRANT only, alternative to requestedFor + requestedItems) */
export interface IdnRequestedForWithItems {
  identityId: string;
  requestedItems: (Omit<IdnAccessRequestItem, 'assignmentId' | 'nativeIdentity'> & {
    accountSelection?: {
      sourceId?: string;
      accounts?: { accountUuid?: string; nativeIdentity?: string }[];
    }[];
  })[];
}

/** AccessRequest: the body of `POST /v3/access-requests`. */
export interface IdnAccessRequest {
  requestedFor?: string[];
  requestType?: IdnRequestType | null;
  requestedItems?: IdnAccessRequestItem[];
  clientMetadata?: Record<string, string>;
  requestedForWithRequestedItems?: IdnRequestedForWithItems[] | null;
}

/** AccessRequestTracking */
export interface IdnAccessRequestTracking {
  requestedFor?: string;
  requestedItemsDetails?: { type?: string; id?: string }[];
  attributesHash?: number;
  accessRequestIds?: string[];
}

/**
 * AccessRequestResponse (202). Neither array is required and older tenants answer `{}`: the client
 * normalises both to arrays.
 */
export interface IdnAccessRequestResponse {
  newRequests: IdnAccessRequestTracking[];
  existingRequests: IdnAccessRequestTracking[];
}

/** Query of `GET /v3/access-request-status` (listAccessRequestStatus). */
export interface IdnAccessRequestStatusQuery {
  'requested-for'?: string;
  'requested-by'?: string;
  'regarding-identity'?: string;
  'assigned-to'?: string;
  /** At most 250. */
  limit?: number;
  offset?: number;
  filters?: string;
  sorters?: string;
  'request-state'?: string;
}

export interface IdnIdentityRef {
  type?: string;
  id?: string;
  name?: string;
}

/** RequestedItemStatus: one entry per (identity, item). */
export interface IdnRequestedItemStatus {
  id?: string;
  name?: string;
  type?: IdnItemType | null;
  state?: string;
  requestType?: IdnRequestType | null;
  accessRequestId?: string;
  accountActivityItemId?: string;
  created?: string;
  modified?: string | null;
  requester?: IdnIdentityRef;
  requestedFor?: IdnIdentityRef;
  removeDate?: string | null;
  startDate?: string | null;
  cancelable?: boolean;
  /** The item-level map sent on submit: how a lost submission is found again. */
  clientMetadata?: Record<string, string> | null;
  [key: string]: unknown;
}
