import type { Cluster, Redis } from 'ioredis';
import type { Dispatcher } from 'undici';

/** Not read from `config.idn`: with `IDN_BASE_URL` unset the embedded simulator supplies it. */
export interface IdnConnection {
  /** Without `/v3`. */
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export const IDN_CONNECTION = Symbol('IDN_CONNECTION');

export const IDN_REDIS = Symbol('IDN_REDIS');
export type IdnRedis = Redis | Cluster;

export const IDN_DISPATCHER = Symbol('IDN_DISPATCHER');
export type IdnDispatcher = Dispatcher;
