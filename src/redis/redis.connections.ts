import type { ConnectionOptions } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import type { RedisTopology } from '../config/redis-config';
import { type SentinelSwitchWatch, watchSentinelSwitch } from './sentinel-switch.watch';

export type RedisClient = Redis | Cluster;

type SentinelTopology = Extract<RedisTopology, { kind: 'sentinel' }>;
type ClusterTopology = Extract<RedisTopology, { kind: 'cluster' }>;

interface SharedConnections {
  watch: SentinelSwitchWatch | undefined;
  bullCluster: Cluster | undefined;
}

const shared = new WeakMap<AppConfig, SharedConnections>();

function sharedFor(config: AppConfig): SharedConnections {
  let s = shared.get(config);
  if (s === undefined) {
    s = { watch: undefined, bullCluster: undefined };
    shared.set(config, s);
  }
  return s;
}

// A replica that was primary (a managed failover behind one DNS name) answers READONLY on a live
// socket: reconnect (to the name's new address) and resend, since READONLY means nothing was written.
const reconnectOnReadonly = (e: Error): 2 | false => (e.message.startsWith('READONLY') ? 2 : false);

// Sentinel: a failover takes about two seconds; a short flat retry finds the new primary as soon as
// the sentinels name it, where exponential backoff would add up to a second more.
const SENTINEL_RETRY_MS = 100;
// A forced reconnect ends the old socket and destroys it only after this; a frozen peer never answers.
const DISCONNECT_TIMEOUT_MS = 200;

function sentinelOptions(config: AppConfig, t: SentinelTopology): RedisOptions {
  const s = sharedFor(config);
  s.watch ??= watchSentinelSwitch({
    sentinels: t.sentinels,
    name: t.masterName,
    password: config.redis.password,
    tls: t.tls,
  });
  const password = config.redis.password;
  return {
    sentinels: t.sentinels.map((a) => ({ host: a.host, port: a.port })),
    name: t.masterName,
    ...(password === undefined ? {} : { password, sentinelPassword: password }),
    ...(t.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    Connector: s.watch.Connector,
    retryStrategy: () => SENTINEL_RETRY_MS,
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    reconnectOnError: reconnectOnReadonly,
  };
}

function clusterOptions(
  config: AppConfig,
  t: ClusterTopology,
  patient: boolean,
  redisOptions: RedisOptions,
): ClusterOptions {
  const password = config.redis.password;
  // Each redirection waits `delay` once the cluster reports a node down: the API gives up after ~0.3 s
  // (a 503), the worker waits out a replica promotion (~2-3 s with a 1 s cluster-node-timeout) and more.
  const delay = patient ? 200 : 100;
  return {
    maxRedirections: patient ? 60 : 3,
    // ioredis drops the promise of a connect() whose ready check finds cluster_state:fail (as during
    // a failover): BullMQ awaits that promise to restore a blocking connection, and its worker stops.
    enableReadyCheck: !patient,
    retryDelayOnFailover: delay,
    retryDelayOnClusterDown: delay,
    retryDelayOnTryAgain: delay,
    // Managed clusters with TLS present certificates for their host names, not the node IPs.
    ...(t.tls
      ? {
          dnsLookup: (address, callback) => {
            callback(null, address);
          },
        }
      : {}),
    redisOptions: {
      ...(password === undefined ? {} : { password }),
      ...(t.tls ? { tls: {} } : {}),
      ...redisOptions,
    },
  };
}

function standaloneOptions(config: AppConfig): RedisOptions {
  const u = new URL(config.redis.url);
  const password = u.password !== '' ? decodeURIComponent(u.password) : config.redis.password;
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(password === undefined ? {} : { password }),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    reconnectOnError: reconnectOnReadonly,
  };
}

/** For `new Redis(url, …)`, where whatever the URL says wins. */
function standaloneExtras(config: AppConfig): RedisOptions {
  const password = config.redis.password;
  return { ...(password === undefined ? {} : { password }), reconnectOnError: reconnectOnReadonly };
}

function silenced<T extends RedisClient>(redis: T): T {
  // Errors surface through commands and readiness; without a listener ioredis would log each retry.
  redis.on('error', () => undefined);
  return redis;
}

// Off for the API: auto-pipelining holds each command until the next setImmediate, a loop turn added
// to each of the accept path's two sequential round trips (quota, then enqueue; the quota already
// batches a turn's submits, and an enqueue is one script call). docs/benchmarks.md: +27 % req/s,
// p99 −38 %.
const API_AUTO_PIPELINING = false;

/** All Redis connections. The API's fail fast (503); the worker's and BullMQ's wait out failovers. */
export function createApiRedis(config: AppConfig): RedisClient {
  const api: RedisOptions = {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    connectionName: 'arg-api',
  };
  const t = config.redis.topology;
  switch (t.kind) {
    case 'cluster':
      return silenced(
        new Cluster(
          t.nodes.map((n) => ({ ...n })),
          {
            ...clusterOptions(config, t, false, api),
            enableOfflineQueue: false,
            enableAutoPipelining: API_AUTO_PIPELINING,
          },
        ),
      );
    case 'sentinel':
      return silenced(
        new Redis({
          ...sentinelOptions(config, t),
          ...api,
          enableOfflineQueue: false,
          enableAutoPipelining: API_AUTO_PIPELINING,
        }),
      );
    case 'standalone':
      return silenced(
        new Redis(config.redis.url, {
          ...standaloneExtras(config),
          ...api,
          enableOfflineQueue: false,
          enableAutoPipelining: API_AUTO_PIPELINING,
          retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
        }),
      );
  }
}

export function createWorkerRedis(config: AppConfig): RedisClient {
  const worker: RedisOptions = { maxRetriesPerRequest: null, connectionName: 'arg-worker' };
  const t = config.redis.topology;
  switch (t.kind) {
    case 'cluster':
      return silenced(
        new Cluster(
          t.nodes.map((n) => ({ ...n })),
          {
            ...clusterOptions(config, t, true, worker),
            enableAutoPipelining: true,
          },
        ),
      );
    case 'sentinel':
      return silenced(new Redis({ ...sentinelOptions(config, t), ...worker, enableAutoPipelining: true }));
    case 'standalone':
      return silenced(
        new Redis(config.redis.url, { ...standaloneExtras(config), ...worker, enableAutoPipelining: true }),
      );
  }
}

/** BullMQ `connection` outside the API; on Cluster one shared instance (BullMQ requires it). */
export function bullConnection(config: AppConfig): ConnectionOptions {
  const t = config.redis.topology;
  switch (t.kind) {
    case 'cluster': {
      const s = sharedFor(config);
      s.bullCluster ??= silenced(
        new Cluster(
          t.nodes.map((n) => ({ ...n })),
          {
            ...clusterOptions(config, t, true, { maxRetriesPerRequest: null, connectionName: 'arg-bull' }),
            // BullMQ connects it on first use; a registration nobody uses never opens a socket.
            lazyConnect: true,
          },
        ),
      );
      return s.bullCluster;
    }
    case 'sentinel':
      return { ...sentinelOptions(config, t), maxRetriesPerRequest: null } as unknown as ConnectionOptions;
    case 'standalone':
      return { ...standaloneOptions(config), maxRetriesPerRequest: null } as unknown as ConnectionOptions;
  }
}

/** Closes what the process's connections shared (BullMQ's Cluster, the Sentinel watch). */
export async function releaseRedisConnections(config: AppConfig): Promise<void> {
  const s = shared.get(config);
  shared.delete(config);
  s?.watch?.close();
  if (s?.bullCluster !== undefined) await closeRedis(s.bullCluster);
}

/** One connection that many BullMQ queues and manual workers share (each worker adds a blocking one). */
export function createBullRedis(config: AppConfig): RedisClient {
  const c = bullConnection(config);
  if (c instanceof Cluster) return c;
  const redis = new Redis({ ...(c as RedisOptions), connectionName: 'arg-queues' });
  redis.on('error', () => undefined);
  return redis;
}

/** QUIT (lets pending replies arrive); if Redis is unreachable, drop the socket instead. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
