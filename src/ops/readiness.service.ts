import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { withTimeout } from '../common/with-timeout';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { SUBMISSION_QUEUE } from '../queue/submission-job';
import type { RedisClient } from '../redis/redis.connections';
import { redisKey } from '../redis/redis.keys';
import { replicationState } from '../redis/redis-replication';
import { REDIS } from '../redis/redis.tokens';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

export interface ReadinessContributor {
  readonly name: string;
  check(): Promise<string | undefined> | string | undefined;
}

const CHECK_TIMEOUT_MS = 1_000;

// Managed Redis services often disable CONFIG: then the process stays ready and says so, since
// refusing traffic forever would be worse than trusting the operator's setting.
const CONFIG_UNAVAILABLE = /unknown command|NOPERM|no permissions|not allowed|disabled/i;
const OK_PREFIX = 'ok';

function passes(text: string): boolean {
  return text === OK_PREFIX || text.startsWith(`${OK_PREFIX} (`);
}

/** `ok (remark)` → `remark`. */
function remarkOf(text: string): string {
  return text.slice(OK_PREFIX.length + 2, -1);
}

@Injectable()
export class ReadinessService implements OnModuleDestroy, BeforeApplicationShutdown {
  private shuttingDown = false;
  private readonly contributors: ReadinessContributor[] = [];

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  register(contributor: ReadinessContributor): void {
    this.contributors.push(contributor);
  }

  /** The first shutdown hook Nest calls: load balancers see 503 while in-flight work drains. */
  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  async check(): Promise<ReadinessReport> {
    const checks: Record<string, string> = {};
    checks.shutdown = this.shuttingDown ? 'shutting down' : 'ok';
    checks.redis = await this.redisProblem().then(
      (p) => p ?? 'ok',
      (e: unknown) => `unreachable: ${e instanceof Error ? e.message : 'error'}`,
    );
    if (this.config.redis.minReplicasAck > 0 && this.config.role !== 'worker') {
      checks.redisReplicas = await bounded(this.replicasProblem()).catch(
        (e: unknown) => `unknown: ${e instanceof Error ? e.message : 'error'}`,
      );
    }
    for (const c of this.contributors) {
      // Several contributors may share a name (the workers): the first problem is the one shown.
      const problem = await c.check();
      if (problem !== undefined || checks[c.name] === undefined) checks[c.name] ??= problem ?? 'ok';
      if (problem !== undefined && checks[c.name] === 'ok') checks[c.name] = problem;
    }
    return { ready: Object.values(checks).every(passes), checks };
  }

  /** BullMQ loses jobs if Redis may evict keys, so anything but noeviction is "not ready". */
  private async redisProblem(): Promise<string | undefined> {
    if (this.redis.status !== 'ready') return `unreachable (connection ${this.redis.status})`;
    const [eviction, topology] = await bounded(Promise.all([this.evictionProblem(), this.topology()]));
    if (eviction !== undefined && !passes(eviction)) return eviction;
    if (topology !== undefined && !passes(topology)) return topology;
    const remarks = [topology, eviction].flatMap((r) => (r === undefined ? [] : [remarkOf(r)]));
    return remarks.length === 0 ? undefined : `${OK_PREFIX} (${remarks.join('; ')})`;
  }

  /** Which servers this process is on; standalone needs no remark. */
  private async topology(): Promise<string | undefined> {
    const t = this.config.redis.topology;
    if (t.kind === 'sentinel' && this.redis instanceof Redis) {
      const s = this.redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
      return `${OK_PREFIX} (sentinel ${t.masterName}: primary ${s?.remoteAddress ?? '?'}:${s?.remotePort ?? '?'})`;
    }
    if (t.kind !== 'cluster' || !(this.redis instanceof Cluster)) return undefined;
    const info = await this.redis.cluster('INFO');
    const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
    if (state !== 'ok') return `cluster_state is ${state}: some slots have no reachable primary`;
    return `${OK_PREFIX} (cluster: cluster_state ok, ${this.redis.nodes('master').length} primaries)`;
  }

  /** The replicas that acknowledge writes to the queue's primary, against REDIS_MIN_REPLICAS_ACK. */
  private async replicasProblem(): Promise<string> {
    const need = this.config.redis.minReplicasAck;
    const anchor = redisKey(this.config.redis.prefix, SUBMISSION_QUEUE);
    const { role, online } = await replicationState(this.redis, anchor);
    const summary = `${online} replica${online === 1 ? '' : 's'} in sync, REDIS_MIN_REPLICAS_ACK ${need}`;
    if (role !== 'master') return `connected to a ${role}, not a primary`;
    if (online < need) return `${summary}: requests are refused (503) until enough replicas are back`;
    return `${OK_PREFIX} (${summary})`;
  }

  private async evictionProblem(): Promise<string | undefined> {
    let reply: unknown;
    try {
      reply = await this.redis.config('GET', 'maxmemory-policy');
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!CONFIG_UNAVAILABLE.test(message)) throw e;
      await this.redis.ping();
      return `${OK_PREFIX} (maxmemory-policy cannot be checked: CONFIG is not available on this Redis; make sure it is noeviction)`;
    }
    const policy = Array.isArray(reply) ? (reply as unknown[])[1] : undefined;
    if (typeof policy === 'string' && policy !== 'noeviction') {
      return `maxmemory-policy is ${policy}; BullMQ needs noeviction`;
    }
    return undefined;
  }
}

function bounded<T>(p: Promise<T>): Promise<T> {
  return withTimeout(p, CHECK_TIMEOUT_MS, () => {
    throw new Error('timed out');
  });
}
