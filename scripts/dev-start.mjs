#!/usr/bin/env node
// `npm start`: the one-command development start. Builds, makes sure Redis is there (starting a
// private redis-server when nothing answers on 127.0.0.1:6379 and the binary exists), then runs the
// gateway with ROLE=all and NODE_ENV=development, its JSON log lines made human-readable by pino-pretty.
// With no IDN_BASE_URL the gateway starts its embedded IdentityNow simulator.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Where to look for an existing Redis (6379); tests point it at a free port to exercise the
// "start a private redis-server" path without touching the machine's Redis.
const PROBE_PORT = Number(process.env.DEV_START_REDIS_PROBE_PORT ?? 6379);
// Tests that already built skip the build (npm test builds first).
const SKIP_BUILD = process.env.DEV_START_SKIP_BUILD === '1';
const require = createRequire(import.meta.url);
const log = (msg) => console.log(`[dev-start] ${msg}`);

function build() {
  log('building (nest build)…');
  const r = spawnSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function answers(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function hasRedisServer() {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function ensureRedis(env) {
  if (env.REDIS_URL) return undefined;
  if (await answers(PROBE_PORT)) {
    log(`using Redis on 127.0.0.1:${PROBE_PORT}`);
    env.REDIS_URL = `redis://127.0.0.1:${PROBE_PORT}`;
    return undefined;
  }
  if (!hasRedisServer()) {
    console.error(
      `[dev-start] Redis is needed and nothing answers on 127.0.0.1:${PROBE_PORT}.\n` +
        '  Start one with:  docker compose up -d redis\n' +
        '  or install it:   sudo apt-get install -y redis-server   (Debian/Ubuntu)\n' +
        '                   brew install redis && brew services start redis   (macOS)\n' +
        '  or point REDIS_URL at an existing Redis.',
    );
    process.exit(1);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'arg-dev-redis-'));
  // noeviction: BullMQ must never have keys evicted. AOF so a restart of this dev Redis keeps jobs.
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
    ],
    // Its own process group: Ctrl-C reaches only this launcher, which stops Redis after the gateway.
    { stdio: 'ignore', detached: true },
  );
  let up = false;
  for (let i = 0; i < 100 && !(up = await answers(port)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!up) {
    proc.kill('SIGKILL');
    log(
      `the private redis-server on 127.0.0.1:${port} did not answer within 5 s; start Redis yourself and set REDIS_URL`,
    );
    process.exit(1);
  }
  log(
    `started a private development redis-server on 127.0.0.1:${port} (data in ${dir}; stopped with the gateway)`,
  );
  env.REDIS_URL = `redis://127.0.0.1:${port}`;
  return () =>
    new Promise((resolve) => {
      const removeData = () => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (proc.exitCode !== null || proc.signalCode !== null) return removeData();
      proc.once('exit', removeData);
      proc.kill('SIGTERM');
    });
}

// The gateway always writes JSON (what production ships to a log pipeline); only this launcher prettifies.
function prettyPrinter() {
  try {
    const { prettyFactory } = require('pino-pretty');
    return prettyFactory({
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service,role',
      singleLine: true,
    });
  } catch {
    log('pino-pretty is not installed (npm ci without dev dependencies?): logs stay JSON');
    return (line) => `${line}\n`;
  }
}

// The development launcher: the dev client and the embedded simulator exist only with
// NODE_ENV=development, so it is set here whatever the shell says (`npm run start:prod` is the other way).
if (process.env.NODE_ENV !== undefined && process.env.NODE_ENV !== 'development') {
  log(`NODE_ENV=${process.env.NODE_ENV} ignored: npm start runs in development (use npm run start:prod)`);
}
const env = { ...process.env, NODE_ENV: 'development' };
delete env.DEV_START_REDIS_PROBE_PORT;
delete env.DEV_START_SKIP_BUILD;
if (!SKIP_BUILD) build();
const stopRedis = await ensureRedis(env);
const gateway = spawn(process.execPath, [join(root, 'dist/main.js')], {
  cwd: root,
  env,
  stdio: ['inherit', 'pipe', 'inherit'],
  // Its own process group, so Ctrl-C's SIGINT arrives once (forwarded below), not twice.
  detached: true,
});
const pretty = prettyPrinter();
const lines = createInterface({ input: gateway.stdout, crlfDelay: Infinity });
lines.on('line', (line) => {
  const text = pretty(line);
  if (text) process.stdout.write(text);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => gateway.kill(sig));
const outputDone = new Promise((resolve) => lines.once('close', resolve));
gateway.on('exit', async (code, signal) => {
  await outputDone;
  await stopRedis?.();
  process.stdout.write('', () => process.exit(code ?? (signal ? 0 : 1)));
});
