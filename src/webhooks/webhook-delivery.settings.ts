export interface WebhookDeliverySettings {
  /** The whole exchange with a receiver; the contract says 10 s. */
  readonly timeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Deliveries in flight per process, apart from the submission worker's. */
  readonly concurrency: number;
}

export const WEBHOOK_DELIVERY_DEFAULTS: WebhookDeliverySettings = {
  timeoutMs: 10_000,
  backoffBaseMs: 5_000,
  backoffMaxMs: 3_600_000,
  concurrency: 16,
};

export const WEBHOOK_DELIVERY_SETTINGS = Symbol('WEBHOOK_DELIVERY_SETTINGS');
