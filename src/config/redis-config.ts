export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

export type RedisTopology =
  | { readonly kind: 'standalone' }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisAddress[]; readonly tls: boolean }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisAddress[];
      readonly masterName: string;
      readonly tls: boolean;
    };

export interface RedisConfig {
  /** Used only by the standalone topology. */
  readonly url: string;
  readonly prefix: string;
  readonly topology: RedisTopology;
  readonly password: string | undefined;
  /** Replicas that must acknowledge an enqueue (Redis WAIT) before the API answers 202. */
  readonly minReplicasAck: number;
}

export interface RedisEnvironment {
  readonly REDIS_URL?: string | undefined;
  readonly QUEUE_PREFIX?: string | undefined;
  readonly REDIS_CLUSTER_NODES?: string | undefined;
  readonly REDIS_SENTINELS?: string | undefined;
  readonly REDIS_SENTINEL_MASTER?: string | undefined;
  readonly REDIS_PASSWORD?: string | undefined;
  readonly REDIS_MIN_REPLICAS_ACK?: number | undefined;
}

/** `host:port`, `[v6]:port`, optionally `rediss://` before it (TLS); several comma-separated. */
export const REDIS_ADDRESS_LIST =
  /^\s*(rediss?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?\s*(,\s*(rediss?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?\s*)*$/;

const DEFAULT_PREFIX = 'arg';

/** Redis hashes only the part between the first `{` and the next `}`, when that part is not empty. */
export function hashTagOf(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  if (open < 0) return undefined;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

function parseAddresses(list: string, defaultPort: number): { nodes: RedisAddress[]; tls: boolean[] } {
  const nodes: RedisAddress[] = [];
  const tls: boolean[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    const secure = entry.startsWith('rediss://');
    const rest = entry.replace(/^rediss?:\/\//, '');
    const m = /^(\[([^\]]+)\]|[^:]+)(?::(\d+))?$/.exec(rest);
    if (m === null) continue;
    nodes.push({ host: m[2] ?? m[1] ?? '', port: m[3] === undefined ? defaultPort : Number(m[3]) });
    tls.push(secure);
  }
  return { nodes, tls };
}

/** The cross-variable rules; the format of each variable is checked in env.schema.ts. */
export function redisConfigProblems(env: RedisEnvironment): string[] {
  const problems: string[] = [];
  if (env.REDIS_CLUSTER_NODES !== undefined && env.REDIS_SENTINELS !== undefined) {
    problems.push('REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set; choose one Redis topology');
  }
  if (env.REDIS_CLUSTER_NODES !== undefined && hashTagOf(env.QUEUE_PREFIX ?? DEFAULT_PREFIX) === undefined) {
    problems.push(
      `QUEUE_PREFIX must contain a hash tag such as {arg} on Redis Cluster (REDIS_CLUSTER_NODES is set; ` +
        `QUEUE_PREFIX is "${env.QUEUE_PREFIX ?? DEFAULT_PREFIX}"): the queue's scripts touch several keys ` +
        'at once, and only a hash tag puts them all in one slot',
    );
  }
  if (env.REDIS_SENTINEL_MASTER !== undefined && env.REDIS_SENTINELS === undefined) {
    problems.push('REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not');
  }
  for (const name of ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const) {
    const list = env[name];
    if (list === undefined || !REDIS_ADDRESS_LIST.test(list)) continue;
    const { tls, nodes } = parseAddresses(list, 0);
    if (new Set(tls).size > 1) problems.push(`${name}: use rediss:// on every address or on none`);
    if (nodes.some((n) => n.port > 65535)) problems.push(`${name}: a port is above 65535`);
  }
  return problems;
}

export function redisConfigFrom(env: RedisEnvironment): RedisConfig {
  let topology: RedisTopology = { kind: 'standalone' };
  if (env.REDIS_CLUSTER_NODES !== undefined) {
    const { nodes, tls } = parseAddresses(env.REDIS_CLUSTER_NODES, 6379);
    topology = { kind: 'cluster', nodes, tls: tls.every(Boolean) };
  } else if (env.REDIS_SENTINELS !== undefined) {
    const { nodes, tls } = parseAddresses(env.REDIS_SENTINELS, 26379);
    topology = {
      kind: 'sentinel',
      sentinels: nodes,
      masterName: env.REDIS_SENTINEL_MASTER ?? '',
      tls: tls.every(Boolean),
    };
  }
  return {
    url: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: env.QUEUE_PREFIX ?? DEFAULT_PREFIX,
    topology,
    password: env.REDIS_PASSWORD,
    minReplicasAck: env.REDIS_MIN_REPLICAS_ACK ?? 0,
  };
}
