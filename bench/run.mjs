// Ingress benchmark (issue 6, point 2). One run, interleaved rounds (a, b, c, a, b, c, ...) after a
// warm-up, the same closed-loop POST load against:
//   (a) bare node:http answering 202 (the ceiling),
//   (b) Fastify + hand validation + BullMQ queue.add (what a team would write instead of us),
//   (c) the built gateway, ROLE=api, everything on (auth, validation, policy, quota, queue).
// Each target is its own child process with its own private redis-server. Prints a markdown table and
// writes the raw numbers to bench/results/. Knobs (all bounded): BENCH_ROUNDS, BENCH_DURATION_S,
// BENCH_WARMUP_S, BENCH_CONNECTIONS, BENCH_TOOL=wrk|autocannon, BENCH_TARGETS=a,b,c,
// BENCH_GATEWAY_LOG_LEVEL (default info), BENCH_ACCEPTED_LOG_LEVEL (the gateway's ACCESS_LOG_ACCEPTED_LEVEL,
// default info), BENCH_NODE_ARGS_A/_B/_C/_D (node flags for one target, e.g. BENCH_NODE_ARGS_C="--cpu-prof
// --cpu-prof-dir=/tmp/prof" to profile the gateway under this load).
// BENCH_OTHER_GATEWAY=/path/to/other/checkout with BENCH_TARGETS=c,d adds (d): that checkout's built
// dist/main.js with (c)'s settings, to compare two versions of the gateway (A/B of one change) in one run.
// `npm run bench -- --profile`: the gateway alone (unless BENCH_TARGETS says otherwise), 2 rounds, under
// a CPU profile written to bench/results/profile-<time>/; prints the top functions of the measured
// rounds (start-up and warm-up left out) with bench/profile-summary.mjs.
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { summariseProfile } from './profile-summary.mjs';
import {
  BASELINE_ENV,
  benchRequest,
  gatewayEnv as benchGatewayEnv,
  gatewayMain,
  SERVER_BARE,
  SERVER_BASELINE,
} from './targets.mjs';
import { runLoad, wrkAvailable, wrkVersion } from './load.mjs';
import {
  cpuMicros,
  freePort,
  intEnv,
  peakRssMiB,
  spawnLogged,
  startRedis,
  stopChild,
  waitForPort,
} from './proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const PROFILE = process.argv.slice(2).includes('--profile');
const ROUNDS = intEnv('BENCH_ROUNDS', PROFILE ? 2 : 5, 1, 30);
const DURATION_S = intEnv('BENCH_DURATION_S', 6, 1, 120);
const WARMUP_S = intEnv('BENCH_WARMUP_S', 5, 0, 120);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 50, 1, 1000);
const TOOL = process.env.BENCH_TOOL || (wrkAvailable() ? 'wrk' : 'autocannon');
const ONLY = (process.env.BENCH_TARGETS || (PROFILE ? 'c' : 'a,b,c')).split(',');
const profileDir = PROFILE
  ? join(here, 'results', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  : undefined;
const nodeArgs = (key) => [
  ...(profileDir !== undefined && key === 'c' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ...(process.env[`BENCH_NODE_ARGS_${key.toUpperCase()}`] || '').split(' ').filter(Boolean),
];

const mainJs = gatewayMain();
const otherGateway = process.env.BENCH_OTHER_GATEWAY;
if (ONLY.includes('d') && !otherGateway) {
  throw new Error('target d needs BENCH_OTHER_GATEWAY=<a checkout of this repository with a built dist/>');
}
const otherMainJs = ONLY.includes('d') ? gatewayMain(otherGateway) : undefined;

const workDir = mkdtempSync(join(tmpdir(), 'arg-bench-'));
const { body, headers } = benchRequest();
const gatewayEnv = benchGatewayEnv(workDir, {
  logLevel: process.env.BENCH_GATEWAY_LOG_LEVEL || 'info',
  acceptedLogLevel: process.env.BENCH_ACCEPTED_LOG_LEVEL || 'info',
});

const TARGETS = [
  {
    key: 'a',
    name: 'bare node:http 202',
    redis: false,
    args: [...nodeArgs('a'), SERVER_BARE],
    env: {},
  },
  {
    key: 'b',
    name: 'Fastify + hand validation + queue.add',
    redis: true,
    queuePrefix: 'bull',
    args: [...nodeArgs('b'), SERVER_BASELINE],
    env: BASELINE_ENV,
  },
  {
    key: 'c',
    name: 'gateway (dist/main.js, ROLE=api)',
    redis: true,
    queuePrefix: 'arg',
    args: [...nodeArgs('c'), mainJs],
    env: gatewayEnv,
  },
  {
    key: 'd',
    name: `other gateway build (${otherGateway})`,
    redis: true,
    queuePrefix: 'arg',
    args: [...nodeArgs('d'), otherMainJs],
    env: gatewayEnv,
  },
].filter((t) => ONLY.includes(t.key));

function pkgVersion(name) {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

function machine() {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/);
  return {
    nproc: cpus().length,
    cpuModel: cpu ? cpu[1] : 'unknown',
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function versions() {
  return {
    node: process.version,
    '@nestjs/core': pkgVersion('@nestjs/core'),
    fastify: pkgVersion('fastify'),
    bullmq: pkgVersion('bullmq'),
    ioredis: pkgVersion('ioredis'),
    redis:
      execFileSync('redis-server', ['--version'])
        .toString()
        .match(/v=(\S+)/)?.[1] ?? 'unknown',
    loadGenerator: TOOL === 'wrk' ? wrkVersion() : `autocannon ${pkgVersion('autocannon')}`,
  };
}

async function startTarget(t) {
  t.redisServer = t.redis ? await startRedis(t.key, workDir) : undefined;
  t.port = await freePort();
  t.spawnedAt = Date.now();
  t.url = `http://127.0.0.1:${t.port}/v3/access-requests`;
  t.child = spawnLogged(
    process.execPath,
    t.args,
    {
      PATH: process.env.PATH ?? '',
      PORT: String(t.port),
      ...(t.redisServer ? { REDIS_URL: t.redisServer.url } : {}),
      ...t.env,
    },
    join(workDir, `server-${t.key}.log`),
  );
  await waitForPort(t.port, t.child, t.name);
  // One request first: a target that does not answer 202 would make every number meaningless.
  const res = await fetch(t.url, { method: 'POST', headers, body });
  if (res.status !== 202) throw new Error(`${t.name} answered ${res.status}: ${await res.text()}`);
  t.totalRequests = 1;
}

async function measure(t, durationS) {
  const cpu0 = cpuMicros(t.child.pid);
  const rcpu0 = t.redisServer ? cpuMicros(t.redisServer.pid) : 0;
  const r = await runLoad({
    tool: TOOL,
    url: t.url,
    body,
    headers,
    connections: CONNECTIONS,
    durationS,
    workDir,
  });
  t.totalRequests += r.requests;
  const cpu = cpuMicros(t.child.pid) - cpu0;
  const rcpu = t.redisServer ? cpuMicros(t.redisServer.pid) - rcpu0 : 0;
  return {
    ...r,
    cpuUsPerReq: cpu / Math.max(1, r.requests),
    redisCpuUsPerReq: rcpu / Math.max(1, r.requests),
    serverCpuCores: cpu / 1e6 / r.durationS,
  };
}

/**
 * Jobs in the queue's wait list (with no worker running, every 202 must have left one there), and
 * how Redis was used per request over the whole run: commands, and read events (one per client
 * write that reached it, so batching shows as fewer than one per command).
 */
async function redisUsage(t) {
  const redis = new Redis(t.redisServer.url, { maxRetriesPerRequest: 1 });
  try {
    const jobs = await redis.llen(`${t.queuePrefix}:submissions:wait`);
    const stats = await redis.info('stats');
    const commandstats = await redis.info('commandstats');
    const reads = Number(/total_reads_processed:(\d+)/.exec(stats)?.[1] ?? NaN);
    const commands = {};
    for (const m of commandstats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) commands[m[1]] = Number(m[2]);
    const perRequest = (n) => Math.round((n / t.totalRequests) * 100) / 100;
    return {
      queuedJobs: jobs,
      redisReadsPerRequest: perRequest(reads),
      redisCommandsPerRequest: Object.fromEntries(
        Object.entries(commands)
          .filter(([, n]) => n > t.totalRequests / 100)
          .map(([c, n]) => [c, perRequest(n)]),
      ),
    };
  } finally {
    redis.disconnect();
  }
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round1 = (x) => Math.round(x * 10) / 10;
const round2 = (x) => Math.round(x * 100) / 100;

async function main() {
  const info = { startedAt: new Date().toISOString(), machine: machine(), versions: versions() };
  const config = {
    rounds: ROUNDS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    connections: CONNECTIONS,
    tool: TOOL,
    bodyBytes: Buffer.byteLength(body),
    idempotencyKey: 'not sent',
    nodeArgs: Object.fromEntries(TARGETS.map((t) => [t.key, nodeArgs(t.key)])),
  };
  console.error(
    `bench: ${TOOL}, ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION_S}s rounds after ${WARMUP_S}s warm-up, body ${config.bodyBytes} B, work dir ${workDir}`,
  );
  try {
    for (const t of TARGETS) await startTarget(t);
    if (WARMUP_S > 0) {
      for (const t of TARGETS) {
        console.error(`warm-up ${t.key}`);
        await measure(t, WARMUP_S);
      }
    }
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) {
      const round = {};
      for (const t of TARGETS) {
        t.roundsStartedAt ??= Date.now();
        round[t.key] = await measure(t, DURATION_S);
        const r = round[t.key];
        console.error(
          `round ${i + 1}/${ROUNDS} ${t.key}: ${Math.round(r.rps)} req/s, p50 ${round2(r.p50Ms)} ms, p99 ${round2(r.p99Ms)} ms, ${Math.round(r.cpuUsPerReq)} µs CPU/req, non-2xx ${r.non2xx}, errors ${r.errors}`,
        );
        await sleep(200);
      }
      rounds.push(round);
    }
    const summary = {};
    for (const t of TARGETS) {
      const rs = rounds.map((r) => r[t.key]);
      const accepted = rs.reduce((n, r) => n + r.requests - r.non2xx, 0);
      summary[t.key] = {
        name: t.name,
        rps: median(rs.map((r) => r.rps)),
        rpsMin: Math.min(...rs.map((r) => r.rps)),
        rpsMax: Math.max(...rs.map((r) => r.rps)),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)),
        redisCpuUsPerReq: t.redis ? median(rs.map((r) => r.redisCpuUsPerReq)) : null,
        peakRssMiB: peakRssMiB(t.child.pid),
        redisPeakRssMiB: t.redis ? peakRssMiB(t.redisServer.pid) : null,
        non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
        errors: rs.reduce((n, r) => n + r.errors, 0),
        ...(t.redis ? { ...(await redisUsage(t)), acceptedInRounds: accepted } : {}),
      };
    }
    // Ratios per round (the targets of one round ran back to back under the same machine noise),
    // then the median over rounds.
    const ratio = (x, y, f) =>
      summary[x] && summary[y] ? median(rounds.map((r) => f(r[x]) / f(r[y]))) : null;
    const ratios = {
      rpsCOverB: ratio('c', 'b', (r) => r.rps),
      rpsCOverA: ratio('c', 'a', (r) => r.rps),
      rpsBOverA: ratio('b', 'a', (r) => r.rps),
      p99COverB: ratio('c', 'b', (r) => r.p99Ms),
      cpuCOverB: ratio('c', 'b', (r) => r.cpuUsPerReq),
      rpsDOverC: ratio('d', 'c', (r) => r.rps),
      cpuDOverC: ratio('d', 'c', (r) => r.cpuUsPerReq),
    };
    info.machine.loadavgAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
    const result = { ...info, config, summary, ratios, rounds };
    mkdirSync(join(here, 'results'), { recursive: true });
    const file = join(here, 'results', `ingress-${info.startedAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

    const lines = [
      `Ingress benchmark ${info.startedAt}: ${TOOL}, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds x ${DURATION_S} s, body ${config.bodyBytes} B`,
      `machine: ${info.machine.nproc} x ${info.machine.cpuModel}, ${info.machine.ramGiB} GiB; load average ${info.machine.loadavgAtStart.join(' ')} -> ${info.machine.loadavgAtEnd.join(' ')}`,
      '',
      '| target | req/s (median, min-max) | p50 ms | p99 ms | server CPU µs/req | redis CPU µs/req | peak RSS MiB | non-2xx | jobs in Redis / 2xx |',
      '|---|---|---|---|---|---|---|---|---|',
      ...TARGETS.map((t) => {
        const s = summary[t.key];
        return `| (${t.key}) ${s.name} | ${Math.round(s.rps)} (${Math.round(s.rpsMin)}-${Math.round(s.rpsMax)}) | ${round2(s.p50Ms)} | ${round2(s.p99Ms)} | ${Math.round(s.cpuUsPerReq)} | ${s.redisCpuUsPerReq === null ? '-' : Math.round(s.redisCpuUsPerReq)} | ${round1(s.peakRssMiB)} | ${s.non2xx} | ${t.redis ? `${s.queuedJobs} / ${s.acceptedInRounds}+warm-up` : '-'} |`;
      }),
      '',
      `ratios (median of per-round ratios): c/b req/s ${ratios.rpsCOverB === null ? '-' : round2(ratios.rpsCOverB)} (goal >= 1.0), c/a req/s ${ratios.rpsCOverA === null ? '-' : round2(ratios.rpsCOverA)}, b/a req/s ${ratios.rpsBOverA === null ? '-' : round2(ratios.rpsBOverA)}, p99 c/b ${ratios.p99COverB === null ? '-' : round2(ratios.p99COverB)} (goal <= 1.5), CPU/req c/b ${ratios.cpuCOverB === null ? '-' : round2(ratios.cpuCOverB)}`,
      ...(ratios.rpsDOverC === null
        ? []
        : [`other build: d/c req/s ${round2(ratios.rpsDOverC)}, CPU/req d/c ${round2(ratios.cpuDOverC)}`]),
      `Redis per request (whole run): ${TARGETS.filter((t) => t.redis)
        .map(
          (t) =>
            `(${t.key}) ${summary[t.key].redisReadsPerRequest} client writes, commands ${JSON.stringify(summary[t.key].redisCommandsPerRequest)}`,
        )
        .join('; ')}`,
      `raw results: ${file}`,
    ];
    console.log(lines.join('\n'));
  } finally {
    for (const t of TARGETS) {
      if (t.child) await stopChild(t.child);
      if (t.redisServer) await t.redisServer.stop();
    }
    if (process.env.BENCH_KEEP_WORKDIR !== '1') rmSync(workDir, { recursive: true, force: true });
  }
  // The gateway writes its profile when it exits (stopped above).
  const gateway = TARGETS.find((t) => t.key === 'c');
  if (profileDir !== undefined && gateway?.roundsStartedAt !== undefined) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no .cpuprofile in ${profileDir}`);
    const path = join(profileDir, file);
    const sinceMs = gateway.roundsStartedAt - gateway.spawnedAt;
    console.log(`\nCPU profile of (c) during the measured rounds: ${path}`);
    console.log(
      `(again, or other functions inclusive: node bench/profile-summary.mjs ${path} 40 FUNCTION... --since-ms=${sinceMs})`,
    );
    console.log(summariseProfile(path, { top: 40, sinceMs }));
  }
}

await main();
