/** On Cluster QUEUE_PREFIX carries a hash tag, so all keys share a slot (multi-key Lua and MULTI work). */
export function redisKey(prefix: string, ...parts: string[]): string {
  return `${prefix}:${parts.join(':')}`;
}
