import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/redis-server';
import { http } from '../support/sim-client';

const DIST_SIM = join(__dirname, '../../dist/simulator/simulator.main.js');

/** `npm run simulator` runs the built entry point: the same code as the embedded simulator. */
describe('standalone simulator process', () => {
  it('listens on SIMULATOR_PORT, serves the API and the control API, and exits cleanly on SIGTERM', async () => {
    if (!existsSync(DIST_SIM))
      throw new Error(`${DIST_SIM} is missing: run \`npm run build\` (npm test does)`);
    const port = await freePort();
    let out = '';
    const proc = spawn(process.execPath, [DIST_SIM], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        SIMULATOR_PORT: String(port),
        SIMULATOR_CLIENT_ID: 'standalone-id',
        SIMULATOR_CLIENT_SECRET: 'standalone-secret',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | string>((resolve) =>
      proc.once('exit', (code, signal) => {
        resolve(code ?? signal ?? -1);
      }),
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      let up = false;
      for (let i = 0; i < 150 && !up && proc.exitCode === null; i++) {
        up = await fetch(`${url}/__sim/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      expect(up, out).toBe(true);
      const tok = await http(`${url}/oauth/token`, {
        form: {
          grant_type: 'client_credentials',
          client_id: 'standalone-id',
          client_secret: 'standalone-secret',
        },
      });
      expect(tok.status).toBe(200);
      const res = await http(`${url}/v3/access-requests`, {
        headers: { authorization: `Bearer ${tok.body.access_token}` },
        body: { requestedFor: ['x'], requestedItems: [{ type: 'ROLE', id: 'r' }] },
      });
      expect(res.status).toBe(202);
      const records = await http(`${url}/__sim/records`);
      expect(records.body.pairCounts).toEqual({ 'GRANT_ACCESS|x|ROLE|r': 1 });
      expect(out).toContain('IdentityNow simulator ready');
      expect(out).not.toContain('standalone-secret');
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
