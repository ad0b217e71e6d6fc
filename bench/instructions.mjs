// Instructions per accepted request, counted by valgrind's callgrind, for the hand-written baseline (b)
// and the gateway (c) under the same closed-loop load (bench/targets.mjs).
//
// Why a second measure next to `npm run bench`: CPU time on a shared 2-vCPU VM drifts ±10 % between
// runs, and what a socket write costs (waking Redis or the load generator on the other vCPU) differs
// threefold between hosts. User-space instructions do neither: the same build and load give the same
// count within about 1 %, whatever else the host does. Kernel work is not counted, so this is the
// JavaScript and V8 work per request (what features cost), not the syscalls both targets pay alike.
//
// Usage: npm run bench:instructions [-- TARGET...]   (default: b c)
//   TARGET is b, c, or c with settings: 'c accepted=debug' (202 access lines at debug),
//   'c quota=off' (a client without a limit), 'c log=warn' (LOG_LEVEL), 'c main=/other/checkout'.
// Knobs: BENCH_IR_WARMUP (requests before counting, 6000: the JIT must have settled),
// BENCH_IR_REQUESTS (counted, 5000), BENCH_IR_CONNECTIONS (50). Needs valgrind (apt-get install -y valgrind).
// A target takes 2-4 minutes (valgrind runs node about 50x slower).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, intEnv, spawnLogged, startRedis, stopChild, waitForPort } from './proc.mjs';
import { BASELINE_ENV, benchRequest, gatewayEnv, gatewayMain, SERVER_BASELINE } from './targets.mjs';

const WARMUP = intEnv('BENCH_IR_WARMUP', 6000, 0, 1_000_000);
const REQUESTS = intEnv('BENCH_IR_REQUESTS', 5000, 100, 1_000_000);
// As many as `npm run bench`: how many requests one event-loop turn serves changes the work per request.
const CONNECTIONS = intEnv('BENCH_IR_CONNECTIONS', 50, 1, 1000);
const START_TIMEOUT_MS = 300_000;

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('valgrind is not installed: apt-get install -y valgrind');
}

const workDir = mkdtempSync(join(tmpdir(), 'arg-bench-ir-'));
const { body, headers } = benchRequest();

/** 'c accepted=debug quota=off' -> the script and environment of that target. */
function parseTarget(spec) {
  const [key, ...settings] = spec.trim().split(/\s+/);
  if (key === 'b') {
    if (settings.length > 0) throw new Error(`target b takes no settings: ${spec}`);
    return { spec, script: SERVER_BASELINE, env: BASELINE_ENV };
  }
  if (key !== 'c') throw new Error(`unknown target ${spec}: b, or c with settings`);
  const opts = {};
  let main = gatewayMain();
  for (const s of settings) {
    const [name, value] = s.split('=');
    if (name === 'accepted') opts.acceptedLogLevel = value;
    else if (name === 'log') opts.logLevel = value;
    else if (name === 'quota' && (value === 'on' || value === 'off')) opts.quota = value === 'on';
    else if (name === 'main') main = gatewayMain(value);
    else throw new Error(`unknown setting ${s} in ${spec}: accepted=, log=, quota=on|off, main=`);
  }
  return { spec, script: main, env: gatewayEnv(workDir, opts) };
}

/** Closed loop over CONNECTIONS keep-alive connections; resolves with the count of answers per status. */
async function load(url, dispatcher, total) {
  let sent = 0;
  const statuses = new Map();
  const connection = async () => {
    while (sent < total) {
      sent++;
      const res = await request(url, { method: 'POST', headers, body, dispatcher });
      await res.body.text();
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  return Object.fromEntries(statuses);
}

const only202 = (statuses) => Object.keys(statuses).every((s) => s === '202');

/** The instructions of the dump that `callgrind_control -d measured` wrote after the counters were zeroed. */
function measuredInstructions(dir) {
  for (const f of readdirSync(dir).filter((n) => n.startsWith('callgrind.out'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    if (!/^desc: Trigger: .*measured/m.test(text.slice(0, 4096))) continue;
    const m = /^summary: (\d+)/m.exec(text);
    if (m !== null) return Number(m[1]);
  }
  throw new Error(`no measured callgrind dump in ${dir}`);
}

async function measure(target, index) {
  const dir = join(workDir, `t${index}`);
  mkdirSync(dir);
  const redis = await startRedis(`t${index}`, dir);
  const port = await freePort();
  const child = spawnLogged(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      process.execPath,
      target.script,
    ],
    { PATH: process.env.PATH ?? '', PORT: String(port), REDIS_URL: redis.url, ...target.env },
    join(dir, 'server.log'),
  );
  const dispatcher = new Agent({ connections: CONNECTIONS });
  try {
    await waitForPort(port, child, target.spec, START_TIMEOUT_MS);
    const url = `http://127.0.0.1:${port}/v3/access-requests`;
    // Under valgrind (about 50x slower) a few enqueues can miss the gateway's 800 ms deadline and answer
    // 503 although the job lands: the warm-up only has to leave the JIT settled, and the counted
    // requests may hold up to 1 % of them (the same work up to the answer); more would skew the count.
    const warm = await load(url, dispatcher, WARMUP);
    if (!only202(warm)) console.error(`${target.spec}: warm-up answers ${JSON.stringify(warm)}`);
    execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' });
    const counted = await load(url, dispatcher, REQUESTS);
    const other = REQUESTS - (counted['202'] ?? 0);
    if (other > REQUESTS / 100) {
      throw new Error(
        `${target.spec}: ${other} of the counted answers were not 202 (${JSON.stringify(counted)}); ` +
          'run on a quieter machine or with fewer BENCH_IR_CONNECTIONS',
      );
    }
    execFileSync('callgrind_control', ['--dump=measured', String(child.pid)], { stdio: 'ignore' });
    return { perRequest: measuredInstructions(dir) / REQUESTS, other };
  } finally {
    await dispatcher.close();
    await stopChild(child, 30_000);
    await redis.stop();
  }
}

const specs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['b', 'c'];
const targets = specs.map(parseTarget);
console.error(
  `instructions per request: ${WARMUP} warm-up + ${REQUESTS} counted requests, ${CONNECTIONS} connections, ` +
    `targets ${specs.join(' | ')}`,
);
const rows = [];
const table = () => {
  const base = rows.find((r) => r.target === 'b');
  console.log('| target | instructions per request | vs (b) | counted answers not 202 |');
  console.log('|---|---|---|---|');
  for (const r of rows) {
    const ratio = base === undefined ? '-' : (r.perRequest / base.perRequest).toFixed(2);
    console.log(
      `| ${r.target} | ${Math.round(r.perRequest).toLocaleString('en-US')} | ${ratio} | ${r.other} |`,
    );
  }
};
try {
  for (const [i, t] of targets.entries()) {
    const { perRequest, other } = await measure(t, i);
    rows.push({ target: t.spec, perRequest, other });
    console.error(`${t.spec}: ${Math.round(perRequest).toLocaleString('en-US')} instructions per request`);
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
  // Whatever was measured before a failure is still worth printing.
  if (rows.length > 0) table();
}
