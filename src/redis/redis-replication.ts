import type { RedisClient } from './redis.connections';

/** WAIT counts its own connection's writes: on Cluster, send it on the connection of `anchorKey`'s slot. */
async function onNodeOf<T>(
  redis: RedisClient,
  anchorKey: string,
  add: (p: ReturnType<RedisClient['pipeline']>) => void,
): Promise<T> {
  const pipeline = redis.pipeline().exists(anchorKey);
  add(pipeline);
  const [, reply] = (await pipeline.exec()) ?? [];
  if (reply === undefined) throw new Error('Redis returned no reply');
  const [err, value] = reply;
  if (err !== null) throw err;
  return value as T;
}

/** `WAIT replicas timeoutMs` after this connection's writes: how many replicas acknowledged them. */
export function waitForReplicas(
  redis: RedisClient,
  anchorKey: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  return onNodeOf<number>(redis, anchorKey, (p) => p.wait(replicas, timeoutMs));
}

export interface ReplicationState {
  readonly role: string;
  /** Replicas attached and streaming (`state=online`), whose acknowledgements WAIT counts. */
  readonly online: number;
  readonly connected: number;
}

/** From `INFO replication` of the primary that holds `anchorKey`. */
export async function replicationState(redis: RedisClient, anchorKey: string): Promise<ReplicationState> {
  const text = await onNodeOf<string>(redis, anchorKey, (p) => p.info('replication'));
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1));
  }
  let online = 0;
  for (const [k, v] of fields) if (/^slave\d+$/.test(k) && v.includes('state=online')) online += 1;
  return {
    role: fields.get('role') ?? 'unknown',
    online,
    connected: Number(fields.get('connected_slaves') ?? 0),
  };
}
