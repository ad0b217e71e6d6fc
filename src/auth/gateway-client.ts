import type { ItemType, RequestType } from '../access-request/access-request.types';

/** A calling app, from the clients file (or the single dev client). */
export interface GatewayClient {
  readonly id: string;
  /** sha256 of the secret, raw bytes; the secret itself is never held. */
  readonly secretSha256: Buffer;
  /** Undefined = every request type / item type is allowed. */
  readonly requestTypes: ReadonlySet<RequestType> | undefined;
  readonly itemTypes: ReadonlySet<ItemType> | undefined;
  /** Undefined = no per-client quota. */
  readonly requestsPerMinute: number | undefined;
}
