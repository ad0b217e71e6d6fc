// The queued (validated, normalised) body as plain shapes: the worker reads job data without the DTOs.
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

export const GATEWAY_META = {
  clientId: 'gatewayClientId',
  trackingId: 'gatewayTrackingId',
  submissionId: 'gatewaySubmissionId',
} as const;
export const RESERVED_METADATA_PREFIX = 'gateway';
