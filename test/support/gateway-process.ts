import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './redis-server';
import { sleep } from './time';

export const DIST_MAIN = join(__dirname, '../../dist/main.js');

export interface GatewayProcess {
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** Everything the process wrote (stdout + stderr), for assertions on logs. */
  output(): string;
  /** Sends the signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs the built gateway with exactly `env` (plus PATH) until it exits; for refusals at boot. */
export function runGatewayToExit(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | string; output: string }> {
  if (!existsSync(DIST_MAIN))
    throw new Error(`${DIST_MAIN} is missing: run \`npm run build\` (npm test does)`);
  const proc = spawn(process.execPath, [DIST_MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, output });
    }),
  );
}

/**
 * Runs the BUILT gateway (`npm test` builds first) as its own process, so tests see exactly what
 * production runs: the compiled decorators, signals, real process boundaries. `entry` may be a
 * script that assembles the built modules differently (it must serve /health/live on PORT).
 */
/**
 * NODE_ENV defaults to development (the dev client, the embedded simulator); a variable given as
 * undefined is left out of the environment (e.g. `NODE_ENV: undefined` for "unset").
 */
export async function startGatewayProcess(
  env: Record<string, string | undefined>,
  entry: string = DIST_MAIN,
): Promise<GatewayProcess> {
  if (!existsSync(DIST_MAIN))
    throw new Error(`${DIST_MAIN} is missing: run \`npm run build\` (npm test does)`);
  const port = await freePort();
  let out = '';
  const merged: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    ...env,
  };
  const proc = spawn(process.execPath, [entry], {
    env: Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gateway exited early (${proc.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${url}/health/live`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`gateway did not start within 30 s:\n${out}`);
    }
    await sleep(100);
  }
  return {
    url,
    port,
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
