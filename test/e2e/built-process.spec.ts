import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from '../support/bodies';
import { AUTH } from '../support/clients';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { countJobs } from '../support/queue';
import { startRedis, type PrivateRedis } from '../support/redis-server';

/**
 * The compiled gateway, as a process. A build without decorator metadata (or with class-validator
 * decorators stripped) would accept invalid bodies silently; this proves it refuses them end to end.
 */
describe('built gateway process (ROLE=api)', () => {
  let redis: PrivateRedis;
  let gw: GatewayProcess;
  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGatewayProcess({
      ROLE: 'api',
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'built',
      LOG_LEVEL: 'info',
    });
  });
  afterAll(async () => {
    await gw.stop('SIGKILL');
    await redis.stop();
  });

  const post = (body: unknown) =>
    fetch(`${gw.url}/v3/access-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify(body),
    });

  it('refuses an invalid body and queues nothing', async () => {
    const res = await post({
      requestedFor: ['a', 'b'],
      requestType: 'REVOKE_ACCESS',
      requestedItems: [{ type: 'ROLE', id: 'r', colour: 'red' }],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { messages: { text: string }[] };
    expect(body.messages.map((m) => m.text)).toContain(
      'requestedItems[0].colour is not a field of an IdentityNow access request; remove it',
    );
    expect(await countJobs(redis.url, 'built')).toBe(0);
  });

  it('accepts a valid body into the queue', async () => {
    const res = await post(grant());
    expect(res.status).toBe(202);
    expect(await countJobs(redis.url, 'built')).toBe(1);
  });

  it('serves the OpenAPI document generated from the DTOs', async () => {
    const res = await fetch(`${gw.url}/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v3/access-requests', '/v3/access-requests/{trackingId}', '/oauth/token']),
    );
    expect(Object.keys(doc.components.schemas.AccessRequestDto!.properties)).toEqual(
      expect.arrayContaining([
        'requestedFor',
        'requestType',
        'requestedItems',
        'clientMetadata',
        'requestedForWithRequestedItems',
      ]),
    );
    const ui = await fetch(`${gw.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await gw.stop('SIGTERM')).toBe(0);
  });

  it('logs JSON lines (only `npm start` makes them human-readable)', () => {
    const lines = gw
      .output()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(JSON.parse(line), line).toHaveProperty('level');
  });
});
