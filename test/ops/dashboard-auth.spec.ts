import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, basic } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';

const ADMIN = { ADMIN_USER: 'ops-admin', ADMIN_PASSWORD: 'correct-horse-battery' };
const GOOD = basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD);

async function enqueue(gw: TestGateway, identity: string): Promise<string> {
  const res = await request(gw.server)
    .post('/v3/access-requests')
    .set('authorization', AUTH)
    .send({ requestedFor: [identity], requestedItems: [{ type: 'ROLE', id: 'role-1' }] });
  expect(res.status).toBe(202);
  return res.body.trackingId as string;
}

function expectErrorDto(body: unknown, status: number): void {
  expect(body).toMatchObject({
    detailCode: expect.stringContaining(String(status)),
    trackingId: expect.any(String),
    messages: [expect.objectContaining({ locale: 'en-US', text: expect.any(String) })],
    causes: [],
  });
}

describe('queue dashboard: /admin/queues', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  describe('ADMIN_USER unset', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ REDIS_URL: redis.url });
    });
    afterAll(async () => {
      await gw.close();
    });

    it.each(['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/anything'])(
      '%s answers 404 ErrorResponseDto, with or without credentials',
      async (path) => {
        for (const auth of [undefined, GOOD]) {
          const req = request(gw.server).get(path);
          const res = await (auth === undefined ? req : req.set('authorization', auth));
          expect(res.status).toBe(404);
          expectErrorDto(res.body, 404);
          expect(res.text).not.toMatch(/<html/i);
        }
      },
    );
  });

  describe('ADMIN_USER set (api role)', () => {
    let gw: TestGateway;
    let trackingId: string;
    beforeAll(async () => {
      gw = await startGateway({ REDIS_URL: redis.url, ...ADMIN });
      trackingId = await enqueue(gw, 'identity-dash-1');
    });
    afterAll(async () => {
      await gw.close();
    });

    it.each([
      '/admin/queues',
      '/admin/queues/',
      '/admin/queues/queue/submissions',
      '/admin/queues/api/queues',
      '/admin/queues/static/index.html',
      '/admin/queues/api/queues/submissions/x',
      '/%61dmin/queues',
      '//admin/queues',
      '/ADMIN/queues',
    ])(
      'GET %s without credentials: 401 ErrorResponseDto with a Basic challenge, no dashboard',
      async (path) => {
        const res = await request(gw.server).get(path);
        expect(res.status).toBe(401);
        expectErrorDto(res.body, 401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.text).not.toMatch(/<html|bull-board|<script/i);
      },
    );

    it.each([
      ['wrong password', basic(ADMIN.ADMIN_USER, 'not-the-password')],
      ['wrong user', basic('someone', ADMIN.ADMIN_PASSWORD)],
      ['bearer instead of basic', 'Bearer dev-secret'],
      ['garbage', 'Basic !!!'],
      ['no colon', `Basic ${Buffer.from('ops-admin').toString('base64')}`],
    ])('%s: 401', async (_name, auth) => {
      const res = await request(gw.server).get('/admin/queues').set('authorization', auth);
      expect(res.status).toBe(401);
      expectErrorDto(res.body, 401);
      expect(res.text).not.toMatch(/<html/i);
    });

    it('with credentials serves the dashboard HTML', async () => {
      const res = await request(gw.server).get('/admin/queues').set('authorization', GOOD);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toMatch(/<html/i);
    });

    it('with credentials lists the submissions queue and its waiting job', async () => {
      const res = await request(gw.server)
        .get('/admin/queues/api/queues')
        .query({ activeQueue: 'submissions', status: 'waiting', page: '1' })
        .set('authorization', GOOD);
      expect(res.status).toBe(200);
      const queues = res.body.queues as { name: string; readOnlyMode: boolean; jobs: { id: string }[] }[];
      const q = queues.find((x) => x.name === 'submissions');
      expect(q).toBeDefined();
      expect(q!.readOnlyMode).toBe(false);
      expect(q!.jobs.map((j) => j.id)).toContain(trackingId);
    });

    it('is not read-only by default: pause and resume work', async () => {
      const pause = await request(gw.server)
        .put('/admin/queues/api/queues/submissions/pause')
        .set('authorization', GOOD);
      expect(pause.status).toBeLessThan(300);
      const resume = await request(gw.server)
        .put('/admin/queues/api/queues/submissions/resume')
        .set('authorization', GOOD);
      expect(resume.status).toBeLessThan(300);
    });

    it('re-drive is allowed when not read-only (the job is not failed: 409, not 403)', async () => {
      const res = await request(gw.server)
        .post(`/admin/requests/${trackingId}/retry`)
        .set('authorization', GOOD);
      expect(res.status).toBe(409);
    });

    it('does not count the dashboard toward routes of the API: other routes stay public', async () => {
      const res = await request(gw.server).get('/health/live');
      expect(res.status).toBe(200);
    });
  });

  describe('ADMIN_READ_ONLY=true', () => {
    let gw: TestGateway;
    let trackingId: string;
    beforeAll(async () => {
      gw = await startGateway({ REDIS_URL: redis.url, ...ADMIN, ADMIN_READ_ONLY: 'true' });
      trackingId = await enqueue(gw, 'identity-dash-ro');
    });
    afterAll(async () => {
      await gw.close();
    });

    it('shows queues flagged read-only', async () => {
      const res = await request(gw.server).get('/admin/queues/api/queues').set('authorization', GOOD);
      expect(res.status).toBe(200);
      const q = (res.body.queues as { name: string; readOnlyMode: boolean }[]).find(
        (x) => x.name === 'submissions',
      );
      expect(q?.readOnlyMode).toBe(true);
    });

    it.each([
      ['PUT', '/admin/queues/api/queues/submissions/pause'],
      ['PUT', '/admin/queues/api/queues/submissions/JOB/promote'],
      ['DELETE', '/admin/queues/api/queues/submissions/JOB'],
      ['PUT', '/admin/queues/api/queues/submissions/empty'],
      ['PUT', '/admin/queues/api/queues/submissions/JOB/retry'],
      ['PUT', '/admin/queues/api/queues/submissions/retry/failed'],
      ['POST', '/admin/queues/api/queues/submissions/add'],
      ['PATCH', '/admin/queues/api/queues/submissions/JOB/update-data'],
      ['POST', '/admin/requests/JOB/retry'],
    ])('%s %s is refused with 403 and changes nothing', async (method, template) => {
      const path = template.replace('JOB', trackingId);
      const agent = request(gw.server);
      const req =
        method === 'PUT'
          ? agent.put(path)
          : method === 'POST'
            ? agent.post(path).send({ name: 'x', data: {} })
            : method === 'PATCH'
              ? agent.patch(path).send({ data: {} })
              : agent.delete(path);
      const res = await req.set('authorization', GOOD);
      expect(res.status).toBe(403);
      expectErrorDto(res.body, 403);
      const client = redis.client();
      expect(await client.exists(`${gw.config.redis.prefix}:submissions:${trackingId}`)).toBe(1);
      expect(await client.exists(`${gw.config.redis.prefix}:submissions:paused`)).toBe(0);
    });
  });

  describe('worker role', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ REDIS_URL: redis.url, ...ADMIN, ROLE: 'worker' });
    });
    afterAll(async () => {
      await gw.close();
    });

    it('does not serve the dashboard (the api role does), and still asks for credentials first', async () => {
      expect((await request(gw.server).get('/admin/queues')).status).toBe(401);
      const res = await request(gw.server).get('/admin/queues').set('authorization', GOOD);
      expect(res.status).toBe(404);
      expectErrorDto(res.body, 404);
    });
  });
});
