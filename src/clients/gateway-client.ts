import type { ItemType, RequestType } from '../access-request/access-request.types';

/** A calling app; an undefined restriction (types, quotas) means none. */
export interface GatewayClient {
  readonly id: string;
  /** Usually one; two while a secret is being rotated. The secrets themselves are never held. */
  readonly secretSha256s: readonly Buffer[];
  readonly requestTypes: ReadonlySet<RequestType> | undefined;
  readonly itemTypes: ReadonlySet<ItemType> | undefined;
  readonly requestsPerMinute: number | undefined;
  /** Identity-item pairs per minute, counted with the requests in one atomic step. */
  readonly pairsPerMinute: number | undefined;
  readonly webhook: ClientWebhook | undefined;
  /** Share of the IdentityNow budget when several clients have pairs waiting (default 1). */
  readonly budgetWeight: number;
}

/** Where `access_request.updated` deliveries go; the secrets sign them (Standard Webhooks). */
export interface ClientWebhook {
  readonly url: string;
  /** `whsec_` + base64 of the key. Usually one; two while the secret is rotated (a signature by each). */
  readonly secrets: readonly string[];
}

/** A client and the one of its secrets that a caller presented. */
export interface AuthenticatedSecret {
  readonly client: GatewayClient;
  readonly secretSha256: Buffer;
}
