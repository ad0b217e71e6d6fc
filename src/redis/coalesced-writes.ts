import { Redis } from 'ioredis';
import type { RedisClient } from './redis.connections';

const corked = new WeakSet<object>();

/**
 * Holds this connection's socket writes until the current tick's microtasks have run, so commands
 * issued together (the enqueues one quota answer releases) leave in one write(2), not one each:
 * auto-pipelining would do it a loop turn later, which cost more than it saved (docs/benchmarks.md).
 * A no-op for a Cluster (a socket per node) and for a socket that is not writable.
 */
export function coalesceWritesThisTick(redis: RedisClient): void {
  if (!(redis instanceof Redis)) return;
  const stream = redis.stream;
  if (corked.has(stream) || !stream.writable) return;
  corked.add(stream);
  stream.cork();
  process.nextTick(() => {
    corked.delete(stream);
    stream.uncork();
  });
}
