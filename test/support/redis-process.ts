import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './redis-server';
import { sleep } from './time';

/** `n` distinct free loopback ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/** Polls `check` (an exception counts as "not yet") every `intervalMs`; throws after `timeoutMs`. */
export async function pollUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * One command on a fresh connection, without retries or offline queue, so a dead or paused server
 * fails within `timeoutMs` instead of hanging the harness.
 */
export async function rawCommand(
  port: number,
  command: string,
  args: readonly (string | number)[] = [],
  opts: { password?: string | undefined; timeoutMs?: number } = {},
): Promise<unknown> {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const c = new Redis({
    port,
    host: '127.0.0.1',
    ...(opts.password === undefined ? {} : { password: opts.password }),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableReadyCheck: false,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.call(command, ...args.map(String));
  } finally {
    c.disconnect();
  }
}

/** `INFO <section>` as a flat record. */
export async function info(
  port: number,
  section: string,
  password?: string,
): Promise<Record<string, string>> {
  const text = String(await rawCommand(port, 'INFO', [section], { password }));
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

// Every server a test spawned is SIGKILLed when the test process exits, however it exits: a failing
// beforeAll must not leave clusters running.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
  });
}

/** A redis-server (data node, cluster node or sentinel) as a child process. */
export class RedisProcess {
  private proc: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private args: readonly string[],
    readonly label: string,
    private readonly password?: string,
  ) {}

  /** Other arguments for the next start (an old primary restarted as a replica). */
  setArgs(args: readonly string[]): void {
    this.args = args;
  }

  /** Spawns the process and waits until it answers PING. */
  async start(timeoutMs = 10_000): Promise<void> {
    installExitHook();
    const p = spawn('redis-server', [...this.args], { stdio: 'ignore' });
    this.proc = p;
    live.add(p);
    let exited = false;
    p.once('exit', () => {
      exited = true;
      live.delete(p);
    });
    await pollUntil(
      `${this.label} on ${this.port} to answer PING`,
      async () => {
        if (exited) throw new Error(`${this.label} exited during start`);
        return (
          (await rawCommand(this.port, 'PING', [], { password: this.password, timeoutMs: 500 })) === 'PONG'
        );
      },
      timeoutMs,
    );
  }

  get running(): boolean {
    const p = this.proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => {
      p.once('exit', () => {
        resolve();
      });
    });
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await exited;
  }

  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }
}
