import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { grant } from '../support/bodies';
import { AUTH, SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { runGatewayToExit, startGatewayProcess } from '../support/gateway-process';
import { freePort, startRedis, type PrivateRedis } from '../support/redis-server';
import { sleep } from '../support/time';

const DIST_SIM = join(__dirname, '../../dist/simulator/simulator.main.js');

/** The built process with NODE_ENV unset: what a plain `node dist/main.js` or a unit file runs. */
describe('safe defaults of the built process', () => {
  let redis: PrivateRedis;
  let sim: RunningSimulator;
  const clientsFile = writeClientsFile([{ id: 'app', secret: 'app-secret-123456' }]);
  beforeAll(async () => {
    redis = await startRedis();
    sim = await createSimulator();
  });
  afterAll(async () => {
    await sim.close();
    await redis.stop();
  });

  it('without NODE_ENV and without a clients file it does not start, so dev-secret is accepted nowhere', async () => {
    const port = await freePort();
    const { code, output } = await runGatewayToExit({ PORT: String(port), REDIS_URL: redis.url });
    expect(code).not.toBe(0);
    expect(output).toMatch(/CLIENTS_FILE is required in production \(NODE_ENV is unset/);
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  });

  it('without NODE_ENV, with a clients file: runs, and refuses Bearer dev-secret', async () => {
    const gw = await startGatewayProcess({
      NODE_ENV: undefined,
      ROLE: 'api',
      REDIS_URL: redis.url,
      CLIENTS_FILE: clientsFile,
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
    });
    try {
      const post = (auth: string) =>
        fetch(`${gw.url}/v3/access-requests`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify(grant()),
        });
      expect((await post(AUTH)).status).toBe(401);
      expect((await post('Bearer app-secret-123456')).status).toBe(202);
    } finally {
      await gw.stop('SIGKILL');
    }
  });

  it.each(['worker', 'all'])(
    'ROLE=%s in production without IDN_BASE_URL exits non-zero, naming IDN_BASE_URL',
    async (role) => {
      const { code, output } = await runGatewayToExit({
        NODE_ENV: 'production',
        ROLE: role,
        PORT: String(await freePort()),
        REDIS_URL: redis.url,
        CLIENTS_FILE: clientsFile,
        TOKEN_SIGNING_SECRET: SIGNING_SECRET,
      });
      expect(code).not.toBe(0);
      expect(output).toContain(`IDN_BASE_URL is required for ROLE=${role} in production`);
    },
  );

  it('a production worker says which IdentityNow it talks to, in a log line and in readiness, without credentials', async () => {
    const gw = await startGatewayProcess({
      NODE_ENV: 'production',
      ROLE: 'worker',
      LOG_LEVEL: 'info',
      REDIS_URL: redis.url,
      CLIENTS_FILE: clientsFile,
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
      IDN_BASE_URL: `${sim.url}/`,
      IDN_CLIENT_ID: sim.credentials.clientId,
      IDN_CLIENT_SECRET: sim.credentials.clientSecret,
    });
    try {
      let ready: { status: string; checks: Record<string, string> } | undefined;
      for (let i = 0; i < 100 && ready?.status !== 'ready'; i++) {
        ready = (await (await fetch(`${gw.url}/health/ready`)).json()) as typeof ready;
        if (ready?.status !== 'ready') await sleep(100);
      }
      expect(ready?.checks.identitynow).toBe(`ok (tenant ${sim.url})`);
      expect(JSON.stringify(ready)).not.toContain(sim.credentials.clientSecret);
    } finally {
      // SIGTERM: the log is buffered and flushed on the way out.
      await gw.stop('SIGTERM');
    }
    expect(gw.output()).toContain(`IdentityNow: tenant ${sim.url}`);
    expect(gw.output()).not.toContain(sim.credentials.clientSecret);
  });

  it('the standalone simulator runs with NODE_ENV=production and gateway settings that the gateway would refuse', async () => {
    if (!existsSync(DIST_SIM)) throw new Error(`${DIST_SIM} is missing: run \`npm run build\``);
    const port = await freePort();
    let out = '';
    const proc = spawn(process.execPath, [DIST_SIM], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        ROLE: 'worker',
        PORT: 'eighty',
        TOKEN_SIGNING_SECRET: 'short',
        SIMULATOR_PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      let status = 0;
      for (let i = 0; i < 150 && status !== 200 && proc.exitCode === null; i++) {
        status = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret',
        }).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await sleep(100);
      }
      expect(status, out).toBe(200);
      expect(out).toContain('IdentityNow simulator ready');
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
