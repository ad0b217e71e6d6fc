import type { Cluster, Redis } from 'ioredis';
import type { Dispatcher } from 'undici';

/**
 * Where and as whom to call IdentityNow. Resolved by the app module, not read from `config.idn`
 * directly, because with `IDN_BASE_URL` unset the embedded simulator supplies these values.
 */
export interface IdnConnection {
  /** Tenant root without `/v3`, e.g. `https://acme.api.identitynow.com`. */
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Injection token for the {@link IdnConnection}. */
export const IDN_CONNECTION = Symbol('IDN_CONNECTION');

/** Injection token for the ioredis connection (Redis or Cluster) the global rate limiter uses. */
export const IDN_REDIS = Symbol('IDN_REDIS');
export type IdnRedis = Redis | Cluster;

/** Injection token for the undici dispatcher (keep-alive Agent) shared by the token provider and client. */
export const IDN_DISPATCHER = Symbol('IDN_DISPATCHER');
export type IdnDispatcher = Dispatcher;
