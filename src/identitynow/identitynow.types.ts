// IdentityNow v3 schemas as `Idn` + their OpenAPI name, only the fields the gateway uses (the SDK's v3
// types predate MODIFY_ACCESS, startDate and assignmentId).

export type IdnRequestType = 'GRANT_ACCESS' | 'REVOKE_ACCESS' | 'MODIFY_ACCESS';
export type IdnItemType = 'ACCESS_PROFILE' | 'ROLE' | 'ENTITLEMENT';

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

/** RequestedForDtoRef (GRANT only). */
export interface IdnRequestedForWithItems {
  identityId: string;
  requestedItems: (Omit<IdnAccessRequestItem, 'assignmentId' | 'nativeIdentity'> & {
    accountSelection?: {
      sourceId?: string;
      accounts?: { accountUuid?: string; nativeIdentity?: string }[];
    }[];
  })[];
}

export interface IdnAccessRequest {
  requestedFor?: string[];
  requestType?: IdnRequestType | null;
  requestedItems?: IdnAccessRequestItem[];
  clientMetadata?: Record<string, string>;
  requestedForWithRequestedItems?: IdnRequestedForWithItems[] | null;
}

export interface IdnAccessRequestTracking {
  requestedFor?: string;
  requestedItemsDetails?: { type?: string; id?: string }[];
  attributesHash?: number;
  accessRequestIds?: string[];
}

/** Both arrays are optional upstream (older tenants answer `{}`); the client fills them in. */
export interface IdnAccessRequestResponse {
  newRequests: IdnAccessRequestTracking[];
  existingRequests: IdnAccessRequestTracking[];
}

export interface IdnAccessRequestStatusQuery {
  'requested-for'?: string;
  'requested-by'?: string;
  'regarding-identity'?: string;
  'assigned-to'?: string;
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
  clientMetadata?: Record<string, string> | null;
  [key: string]: unknown;
}
