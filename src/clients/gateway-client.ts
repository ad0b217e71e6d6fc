import type { ItemType, RequestType } from '../access-request/access-request.types';

/** A calling app; an undefined restriction (types, quota) means none. */
export interface GatewayClient {
  readonly id: string;
  /** The secret itself is never held. */
  readonly secretSha256: Buffer;
  readonly requestTypes: ReadonlySet<RequestType> | undefined;
  readonly itemTypes: ReadonlySet<ItemType> | undefined;
  readonly requestsPerMinute: number | undefined;
  readonly webhook: ClientWebhook | undefined;
}

/** Where `access_request.updated` deliveries go; the secret signs them (Standard Webhooks). */
export interface ClientWebhook {
  readonly url: string;
  /** `whsec_` + base64 of the key. */
  readonly secret: string;
}
