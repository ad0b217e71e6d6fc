import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, info, pollUntil, rawCommand, RedisProcess } from './redis-process';

export interface PrivateRedisSentinel {
  readonly name: string;
  readonly password: string | undefined;
  /** Data nodes; index 0 was the first primary. */
  readonly servers: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  /** The gateway's settings (REDIS_SENTINELS, REDIS_SENTINEL_MASTER, REDIS_PASSWORD). */
  readonly env: Record<string, string>;
  /** The primary a majority of the running sentinels name. */
  primaryPort(): Promise<number>;
  /** Resolves with the new primary once a majority of sentinels name another one and it is master. */
  waitForNewPrimary(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Waits until the primary streams to `replicas` replicas and every sentinel knows them healthy. */
  waitForReplicas(replicas: number, timeoutMs?: number): Promise<void>;
  server(port: number): RedisProcess;
  /** Starts a killed data node again as a replica of the current primary (what Sentinel's rewrite of its config would do). */
  restartAsReplica(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private Sentinel deployment for one test file: one primary, `replicas` replicas and `sentinels`
 * sentinels on free loopback ports, each sentinel with its own fresh config file (Sentinel rewrites
 * it). Started in the order Sentinel needs: primary, replicas in sync, then sentinels.
 */
export async function startRedisSentinel(
  opts: {
    replicas?: number;
    sentinels?: number;
    name?: string;
    password?: string;
    /** Sentinel's down-after-milliseconds: 2000 or more keeps a loaded machine from false failovers. */
    downAfterMs?: number;
    failoverTimeoutMs?: number;
  } = {},
): Promise<PrivateRedisSentinel> {
  const nReplicas = opts.replicas ?? 2;
  const nSentinels = opts.sentinels ?? 3;
  const quorum = Math.floor(nSentinels / 2) + 1;
  const name = opts.name ?? 'mymaster';
  const password = opts.password;
  const ports = await freePorts(1 + nReplicas + nSentinels);
  const dataPorts = ports.slice(0, 1 + nReplicas);
  const sentinelPorts = ports.slice(1 + nReplicas);
  const first = dataPorts[0] ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'arg-rsentinel-'));
  const auth = password === undefined ? [] : ['--requirepass', password, '--masterauth', password];

  const serverArgs = (port: number, replicaOf?: number): string[] => [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`],
    ...['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
    // A full sync starts at once instead of waiting 5 s for more replicas.
    ...['--repl-diskless-sync-delay', '0'],
    ...['--logfile', join(dir, `redis-${port}.log`)],
    ...auth,
    ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]),
  ];
  const servers = dataPorts.map(
    (p, i) =>
      new RedisProcess(
        p,
        serverArgs(p, i === 0 ? undefined : first),
        i === 0 ? 'primary' : 'replica',
        password,
      ),
  );
  const sentinels = sentinelPorts.map((p) => {
    const conf = join(dir, `sentinel-${p}.conf`);
    writeFileSync(
      conf,
      [
        `port ${p}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `logfile ${join(dir, `sentinel-${p}.log`)}`,
        `sentinel monitor ${name} 127.0.0.1 ${first} ${quorum}`,
        `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 2_000}`,
        `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 4_000}`,
        `sentinel parallel-syncs ${name} 1`,
        ...(password === undefined
          ? []
          : [
              `requirepass ${password}`,
              `sentinel auth-pass ${name} ${password}`,
              `sentinel sentinel-pass ${password}`,
            ]),
        '',
      ].join('\n'),
    );
    return new RedisProcess(p, [conf, '--sentinel'], 'sentinel', password);
  });
  const stop = async (): Promise<void> => {
    await Promise.all([...servers, ...sentinels].map((s) => s.kill()));
    rmSync(dir, { recursive: true, force: true });
  };

  const sentinelsAgree = async (): Promise<number | undefined> => {
    const running = sentinels.filter((s) => s.running);
    const answers = await Promise.all(
      running.map(async (s) => {
        try {
          const r = (await rawCommand(s.port, 'SENTINEL', ['GET-MASTER-ADDR-BY-NAME', name], {
            password,
            timeoutMs: 500,
          })) as [string, string] | null;
          return r === null ? undefined : Number(r[1]);
        } catch {
          return undefined;
        }
      }),
    );
    const votes = new Map<number, number>();
    for (const a of answers) if (a !== undefined) votes.set(a, (votes.get(a) ?? 0) + 1);
    for (const [port, n] of votes) if (n > running.length / 2) return port;
    return undefined;
  };
  const byPort = (port: number): RedisProcess => {
    const s = servers.find((x) => x.port === port);
    if (s === undefined) throw new Error(`no data node on ${port}`);
    return s;
  };
  const sentinelMaster = async (s: RedisProcess): Promise<Record<string, string>> => {
    const m = (await rawCommand(s.port, 'SENTINEL', ['MASTER', name], { password })) as string[];
    const rec: Record<string, string> = {};
    for (let i = 0; i + 1 < m.length; i += 2) rec[m[i] ?? ''] = m[i + 1] ?? '';
    return rec;
  };
  const api: PrivateRedisSentinel = {
    name,
    password,
    servers,
    sentinels,
    env: {
      REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
      REDIS_SENTINEL_MASTER: name,
      ...(password === undefined ? {} : { REDIS_PASSWORD: password }),
    },
    async primaryPort() {
      const p = await sentinelsAgree();
      if (p === undefined) throw new Error('the sentinels do not agree on a primary');
      return p;
    },
    async waitForNewPrimary(oldPort, timeoutMs = 30_000) {
      let found = 0;
      await pollUntil(
        `a primary other than ${oldPort}`,
        async () => {
          const p = await sentinelsAgree();
          if (p === undefined || p === oldPort) return false;
          if ((await info(p, 'replication', password)).role !== 'master') return false;
          found = p;
          return true;
        },
        timeoutMs,
        10,
      );
      return found;
    },
    async waitForReplicas(replicas, timeoutMs = 30_000) {
      await pollUntil(
        `${replicas} replicas in sync, known to every sentinel`,
        async () => {
          const primary = await api.primaryPort();
          const r = await info(primary, 'replication', password);
          const online = Object.entries(r).filter(
            ([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online'),
          ).length;
          if (r.role !== 'master' || online < replicas) return false;
          for (const s of sentinels) {
            const m = await sentinelMaster(s);
            if (m.flags !== 'master' || Number(m['num-slaves']) < replicas) return false;
            if (Number(m['num-other-sentinels']) !== nSentinels - 1) return false;
            const known = (await rawCommand(s.port, 'SENTINEL', ['REPLICAS', name], {
              password,
            })) as string[][];
            const healthy = known.filter((fields) => {
              const flags = fields[fields.indexOf('flags') + 1] ?? '';
              return flags === 'slave';
            });
            if (healthy.length < replicas) return false;
          }
          return true;
        },
        timeoutMs,
        50,
      );
    },
    server: byPort,
    async restartAsReplica(port) {
      const current = await api.primaryPort();
      const s = byPort(port);
      s.setArgs(serverArgs(port, current));
      await s.start();
    },
    stop,
  };

  try {
    await servers[0]?.start();
    await Promise.all(servers.slice(1).map((s) => s.start()));
    await pollUntil('replicas in sync', async () => {
      const r = await info(first, 'replication', password);
      return (
        Object.entries(r).filter(([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online')).length ===
        nReplicas
      );
    });
    await Promise.all(sentinels.map((s) => s.start()));
    // Sentinels learn replicas from the primary's INFO and each other from hello messages (every 2 s):
    // only then can they agree that the primary is down and promote a replica.
    await api.waitForReplicas(nReplicas);
  } catch (e) {
    await stop();
    throw e;
  }
  return api;
}
