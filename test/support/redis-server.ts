import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sleep } from './time';

/** A free loopback TCP port (the OS picks it; we release it right away). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        reject(new Error('no port'));
        return;
      }
      srv.close(() => {
        resolve(addr.port);
      });
    });
  });
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** SIGKILL the server (data is gone: it keeps nothing on disk unless `appendonly` was asked for). */
  kill(): Promise<void>;
  /** Start it again on the same port (same data dir: with AOF on, data survives a kill). */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  client(): Redis;
  stop(): Promise<void>;
}

/**
 * A private redis-server for one test file, on a free port, so tests never depend on (or disturb)
 * the machine's shared instance, and fault tests can kill or pause it.
 */
export async function startRedis(
  opts: { appendonly?: boolean; extraArgs?: string[] } = {},
): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'arg-redis-'));
  let proc: ChildProcess | undefined;
  const clients: Redis[] = [];

  const launch = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      opts.appendonly === true ? 'yes' : 'no',
      '--maxmemory-policy',
      'noeviction',
      ...(opts.extraArgs ?? []),
    ];
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis({
        port,
        host: '127.0.0.1',
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      // Refused connections while the server starts are expected; the loop retries.
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
        await sleep(50);
      }
    }
  };
  const waitExit = async (): Promise<void> => {
    const p = proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) =>
      p.once('exit', () => {
        r();
      }),
    );
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      proc?.kill('SIGCONT');
      proc?.kill('SIGKILL');
      await waitExit();
    },
    restart: launch,
    pause() {
      proc?.kill('SIGSTOP');
    },
    resume() {
      proc?.kill('SIGCONT');
    },
    client() {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
      clients.push(c);
      return c;
    },
    async stop() {
      clients.forEach((c) => {
        c.disconnect();
      });
      proc?.kill('SIGCONT');
      proc?.kill('SIGKILL');
      await waitExit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
