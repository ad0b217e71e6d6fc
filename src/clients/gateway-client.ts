import type { ItemType, RequestType } from '../access-request/access-request.types';

/** A calling app; an undefined restriction (types, quota) means none. */
export interface GatewayClient {
  readonly id: string;
  /** The secret itself is never held. */
  readonly secretSha256: Buffer;
  readonly requestTypes: ReadonlySet<RequestType> | undefined;
  readonly itemTypes: ReadonlySet<ItemType> | undefined;
  readonly requestsPerMinute: number | undefined;
}
