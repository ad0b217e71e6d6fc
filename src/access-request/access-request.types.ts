/**
 * Plain shapes of IdentityNow's v3 `AccessRequest` body as the gateway stores it in job data:
 * validated, dates normalised to UTC `Z`, gateway metadata added. No classes, no decorators, so the
 * worker can read them back from Redis without the HTTP edge.
 */
export const REQUEST_TYPES = ['GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const ITEM_TYPES = ['ACCESS_PROFILE', 'ROLE', 'ENTITLEMENT'] as const;
export type ItemType = (typeof ITEM_TYPES)[number];

export type Metadata = Record<string, string>;

export interface AccessItem {
  type: ItemType;
  id: string;
  comment?: string;
  clientMetadata?: Metadata;
  startDate?: string;
  removeDate?: string;
  assignmentId?: string;
  nativeIdentity?: string;
}

export interface AccountRef {
  accountUuid?: string | null;
  nativeIdentity: string;
}

export interface AccountSelection {
  sourceId?: string | null;
  accounts?: AccountRef[] | null;
}

export interface PerIdentityItem {
  type: ItemType;
  id: string;
  comment?: string;
  clientMetadata?: Metadata;
  startDate?: string;
  removeDate?: string;
  accountSelection?: AccountSelection[] | null;
}

export interface PerIdentityRequest {
  identityId: string;
  requestedItems: PerIdentityItem[];
}

/** Exactly one of the two shapes IdentityNow allows. */
export type AccessRequestBody =
  | {
      requestType: RequestType;
      requestedFor: string[];
      requestedItems: AccessItem[];
      clientMetadata?: Metadata;
      requestedForWithRequestedItems?: undefined;
    }
  | {
      requestType: 'GRANT_ACCESS';
      requestedFor?: undefined;
      requestedItems?: undefined;
      clientMetadata?: Metadata;
      requestedForWithRequestedItems: PerIdentityRequest[];
    };

/** Metadata keys the gateway owns (callers may not send keys starting with `gateway`). */
export const GATEWAY_META = {
  clientId: 'gatewayClientId',
  trackingId: 'gatewayTrackingId',
  submissionId: 'gatewaySubmissionId',
} as const;
export const RESERVED_METADATA_PREFIX = 'gateway';
