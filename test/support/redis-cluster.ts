import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, pollUntil, rawCommand, RedisProcess } from './redis-process';

const run = promisify(execFile);
const SLOTS = 16384;

export interface ClusterNode {
  readonly port: number;
  readonly server: RedisProcess;
}

export interface PrivateRedisCluster {
  /** Primaries first, then replicas (as created; a failover would swap roles). */
  readonly nodes: readonly ClusterNode[];
  readonly password: string | undefined;
  /** The gateway's settings for this cluster (REDIS_CLUSTER_NODES, REDIS_PASSWORD). */
  readonly env: Record<string, string>;
  /** The port of the primary that serves `key`'s slot. */
  ownerOf(key: string): Promise<number>;
  /** The ports of the replicas of the primary on `port`. */
  replicasOf(port: number): Promise<number[]>;
  /** Keys stored on one node. */
  dbsize(port: number): Promise<number>;
  command(port: number, command: string, args?: readonly (string | number)[]): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * A private Redis Cluster for one test file: `masters` primaries with `replicasPerMaster` replicas
 * each, on free loopback ports, created by `redis-cli --cluster create` as an operator would.
 */
export async function startRedisCluster(
  opts: { masters?: number; replicasPerMaster?: number; password?: string } = {},
): Promise<PrivateRedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 0;
  const total = masters * (1 + replicas);
  const password = opts.password;
  const ports = await freePorts(total * 2);
  const dir = mkdtempSync(join(tmpdir(), 'arg-rcluster-'));
  const auth = password === undefined ? [] : ['--requirepass', password, '--masterauth', password];
  const nodes: ClusterNode[] = ports.slice(0, total).map((port, i) => ({
    port,
    server: new RedisProcess(
      port,
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)],
        // Redis 7: an explicit bus port, so port + 10000 need not be free as well.
        ...['--cluster-port', String(ports[total + i])],
        ...['--cluster-node-timeout', '1000'],
        ...['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
        ...['--repl-diskless-sync-delay', '0'],
        ...['--logfile', join(dir, `redis-${port}.log`)],
        ...auth,
      ],
      'cluster node',
      password,
    ),
  }));
  const command = (port: number, cmd: string, args: readonly (string | number)[] = []): Promise<unknown> =>
    rawCommand(port, cmd, args, { password });
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.server.kill()));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(nodes.map((n) => n.server.start()));
    await run(
      'redis-cli',
      [
        ...['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`)],
        ...['--cluster-replicas', String(replicas), '--cluster-yes'],
        ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
      ],
      { timeout: 60_000 },
    );
    // Every node must see every slot covered; a master also holds writes for 2 s after joining.
    await pollUntil(
      'cluster_state:ok on every node',
      async () => {
        for (const n of nodes) {
          const text = String(await command(n.port, 'CLUSTER', ['INFO']));
          if (!text.includes('cluster_state:ok') || !text.includes(`cluster_slots_ok:${SLOTS}`)) return false;
          if (!text.includes(`cluster_known_nodes:${total}`)) return false;
          const role = String(await command(n.port, 'ROLE'));
          if (
            role.startsWith('slave') &&
            !String(await command(n.port, 'INFO', ['replication'])).includes('master_link_status:up')
          )
            return false;
        }
        return true;
      },
      30_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }

  const list = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  return {
    nodes,
    password,
    env: { REDIS_CLUSTER_NODES: list, ...(password === undefined ? {} : { REDIS_PASSWORD: password }) },
    async ownerOf(key) {
      const slot = Number(await command(nodes[0]?.port ?? 0, 'CLUSTER', ['KEYSLOT', key]));
      const ranges = (await command(nodes[0]?.port ?? 0, 'CLUSTER', ['SLOTS'])) as [
        number,
        number,
        [string, number],
      ][];
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (owner === undefined) throw new Error(`no node serves slot ${slot}`);
      return owner[2][1];
    },
    async replicasOf(port) {
      const lines = String(await command(port, 'CLUSTER', ['NODES'])).split('\n');
      const id = lines.find((l) => l.includes('myself'))?.split(' ')[0] ?? '';
      return lines.filter((l) => l.split(' ')[3] === id).map((l) => Number(/:(\d+)@/.exec(l)?.[1] ?? 0));
    },
    async dbsize(port) {
      return Number(await command(port, 'DBSIZE'));
    },
    command,
    stop,
  };
}
