/**
 * Every key the gateway writes starts with QUEUE_PREFIX. On Redis Cluster the prefix carries a hash
 * tag (`{arg}`), which puts every key in one slot so multi-key Lua scripts and MULTI stay legal.
 */
export function redisKey(prefix: string, ...parts: string[]): string {
  return `${prefix}:${parts.join(':')}`;
}
