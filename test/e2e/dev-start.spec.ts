import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grant } from '../support/bodies';
import { AUTH } from '../support/clients';
import { freePort } from '../support/redis-server';
import { sleep } from '../support/time';

/**
 * `npm start` on a machine where nothing answers on the Redis port: the dev launcher starts a private
 * redis-server, the gateway with its embedded simulator, and a request goes all the way to
 * SUBMITTED, with human-readable logs. (The probe port is a free one here, so the machine's own
 * Redis is never involved.)
 */
describe('npm start (scripts/dev-start.mjs)', () => {
  it('starts a private Redis when none answers, serves /docs, and submits a request to the embedded simulator', async () => {
    const port = await freePort();
    const probe = await freePort();
    let out = '';
    const proc = spawn(process.execPath, [join(__dirname, '../../scripts/dev-start.mjs')], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        LOG_LEVEL: 'info',
        DEV_START_REDIS_PROBE_PORT: String(probe),
        DEV_START_SKIP_BUILD: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) =>
      proc.once('exit', (code) => {
        r(code);
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; i < 300; i++) {
        try {
          if ((await fetch(`${base}/health/ready`)).ok) break;
        } catch {
          // not up yet
        }
        await sleep(100);
      }
      expect(out).toContain('started a private development redis-server');
      // npm start runs in development, so the embedded simulator is allowed, and readiness names it.
      const ready = (await (await fetch(`${base}/health/ready`)).json()) as {
        checks: Record<string, string>;
      };
      expect(ready.checks.identitynow).toMatch(/^ok \(embedded simulator at http:\/\/127\.0\.0\.1:\d+\)$/);
      expect((await fetch(`${base}/docs`)).status).toBe(200);
      const accepted = await fetch(`${base}/v3/access-requests`, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(grant()),
      });
      expect(accepted.status).toBe(202);
      const { statusUrl } = (await accepted.json()) as { statusUrl: string };
      let state = 'QUEUED';
      let body: { state: string; pairs: { outcome: string; accessRequestIds?: string[] }[] } | undefined;
      for (let i = 0; i < 100 && (state === 'QUEUED' || state === 'PROCESSING'); i++) {
        await sleep(100);
        body = (await (
          await fetch(`${base}${statusUrl}`, { headers: { authorization: AUTH } })
        ).json()) as typeof body;
        state = body?.state ?? state;
      }
      expect(state).toBe('SUBMITTED');
      expect(body?.pairs[0]?.accessRequestIds?.length).toBeGreaterThan(0);
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(out).toContain('IDN_BASE_URL is unset: started the embedded IdentityNow simulator');
    expect(out).toMatch(/IdentityNow: embedded simulator at http:\/\/127\.0\.0\.1:\d+/);
    // pino-pretty lines (`[HH:MM:ss.mmm] LEVEL: message`), not the JSON dist/main.js writes.
    expect(out).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: IDN_BASE_URL is unset: started the embedded/m);
    expect(out).not.toMatch(/^\{/m);
  });
});
