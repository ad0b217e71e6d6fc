import type { Cluster, Redis } from 'ioredis';

type Connection = Redis | Cluster;
type Command<R> = (...args: (string | number)[]) => Promise<R>;

export type LuaScript<R> = (keys: readonly string[], args: readonly (string | number)[]) => Promise<R>;

const defined = new WeakMap<Connection, Map<string, string>>();

// ioredis `defineCommand`: EVAL once per socket, then EVALSHA, re-sent after a NOSCRIPT. Idempotent
// per connection; a name stands for one script.
export function luaScript<R>(redis: Connection, name: string, lua: string): LuaScript<R> {
  let scripts = defined.get(redis);
  if (scripts === undefined) {
    scripts = new Map();
    defined.set(redis, scripts);
  }
  const known = scripts.get(name);
  if (known === undefined) {
    redis.defineCommand(name, { lua });
    scripts.set(name, lua);
  } else if (known !== lua) {
    throw new Error(`another Lua script is already defined as ${name} on this connection`);
  }
  const command = (redis as unknown as Record<string, Command<R>>)[name] as Command<R>;
  return (keys, args) => command.call(redis, keys.length, ...keys, ...args);
}
