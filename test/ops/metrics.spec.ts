import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsService } from '../../src/ops/metrics.service';
import { AUTH } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { metricFamilies, parseMetrics, sampleValue } from '../support/prometheus';
import { startRedis, type PrivateRedis } from '../support/redis-server';

const IDENTITY_IDS = ['2c9180835d2e5168015d32f890ca1581', '2c9180835d2e5168015d32f890ca1582'];
const ITEM_ID = '2c9180835d2e5168015d32f890ca9999';

/** Every metric family the gateway itself defines (process metrics come on top). */
const GATEWAY_FAMILIES: Record<string, { type: string; labels: string[] }> = {
  gateway_info: { type: 'gauge', labels: ['role'] },
  gateway_http_requests_total: { type: 'counter', labels: ['method', 'route', 'status', 'client'] },
  gateway_http_request_duration_seconds: { type: 'histogram', labels: ['method', 'route', 'status_class'] },
  gateway_access_requests_accepted_total: { type: 'counter', labels: ['client', 'replayed'] },
  gateway_access_requests_rejected_total: { type: 'counter', labels: ['client', 'reason'] },
  gateway_queue_jobs: { type: 'gauge', labels: ['queue', 'state'] },
  gateway_queue_scrape_errors_total: { type: 'counter', labels: ['queue'] },
  gateway_job_processing_duration_seconds: { type: 'histogram', labels: ['outcome'] },
  gateway_pairs_total: { type: 'counter', labels: ['outcome'] },
  gateway_identitynow_requests_total: { type: 'counter', labels: ['operation', 'status_class'] },
  gateway_identitynow_request_duration_seconds: {
    type: 'histogram',
    labels: ['operation', 'status_class'],
  },
  gateway_identitynow_rate_limited_total: { type: 'counter', labels: [] },
  gateway_identitynow_retry_after_seconds: { type: 'histogram', labels: [] },
  gateway_identitynow_paused_seconds_total: { type: 'counter', labels: [] },
  gateway_identitynow_budget_wait_seconds_total: { type: 'counter', labels: [] },
  gateway_identitynow_rate_limit_budget_used: { type: 'gauge', labels: [] },
  gateway_identitynow_rate_limit_budget_max: { type: 'gauge', labels: [] },
  gateway_identitynow_token_refreshes_total: { type: 'counter', labels: ['result'] },
  gateway_reconciliations_total: { type: 'counter', labels: ['result'] },
  gateway_webhook_deliveries_total: { type: 'counter', labels: ['client', 'outcome'] },
};

/** prom-client 15 declares counters under their full `_total` name in # TYPE lines. */
const familyName = (name: string, _type: string): string => name;

describe('/metrics', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  const trackingIds: string[] = [];

  const scrape = async (): Promise<string> => {
    const res = await request(gw.server).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text;
  };

  beforeAll(async () => {
    redis = await startRedis();
    // ROLE=api: no worker runs, so accepted jobs stay waiting and the queue gauge is exact.
    gw = await startGateway({ REDIS_URL: redis.url, IDN_RATE_LIMIT_MAX: '40' });
    for (const id of IDENTITY_IDS) {
      const res = await request(gw.server)
        .post('/v3/access-requests')
        .set('authorization', AUTH)
        .send({ requestedFor: [id], requestedItems: [{ type: 'ROLE', id: ITEM_ID }] });
      expect(res.status).toBe(202);
      trackingIds.push(res.body.trackingId as string);
    }
    const replay = { requestedFor: [IDENTITY_IDS[0]], requestedItems: [{ type: 'ROLE', id: 'r2' }] };
    for (let i = 0; i < 2; i++) {
      const res = await request(gw.server)
        .post('/v3/access-requests')
        .set('authorization', AUTH)
        .set('idempotency-key', 'metrics-replay-1')
        .send(replay);
      expect(res.status).toBe(202);
      if (i === 0) trackingIds.push(res.body.trackingId as string);
    }
    // Rejections: invalid body (400), no credentials (401), wrong media type (415).
    expect(
      (
        await request(gw.server)
          .post('/v3/access-requests')
          .set('authorization', AUTH)
          .send({ requestedFor: [], requestedItems: [] })
      ).status,
    ).toBe(400);
    expect((await request(gw.server).post('/v3/access-requests').send({})).status).toBe(401);
    expect(
      (
        await request(gw.server)
          .post('/v3/access-requests')
          .set('authorization', AUTH)
          .set('content-type', 'text/plain')
          .send('hello')
      ).status,
    ).toBe(415);
    for (const id of trackingIds) {
      expect(
        (await request(gw.server).get(`/v3/access-requests/${id}`).set('authorization', AUTH)).status,
      ).toBe(200);
    }
    expect((await request(gw.server).get('/no/such/route/abc123')).status).toBe(404);
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  it('names every metric with the gateway_ prefix and Prometheus units', async () => {
    const families = metricFamilies(await scrape());
    expect(families.size).toBeGreaterThan(Object.keys(GATEWAY_FAMILIES).length);
    for (const [name, type] of families) {
      expect(name, name).toMatch(/^gateway_[a-z0-9_]+$/);
      // No milliseconds or other non-base units.
      expect(name, name).not.toMatch(/_(ms|milliseconds|minutes|kb|mb)(_|$)/);
      // Histograms carry their unit; the one count histogram names what it counts per call.
      if (type === 'histogram') expect(name, name).toMatch(/_(seconds|bytes|per_call)$/);
    }
  });

  it('exports every gateway metric with its type and only its declared labels', async () => {
    const text = await scrape();
    const families = metricFamilies(text);
    const samples = parseMetrics(text);
    for (const [name, spec] of Object.entries(GATEWAY_FAMILIES)) {
      expect(families.get(familyName(name, spec.type)), name).toBe(spec.type);
      const allowed = new Set([...spec.labels, 'le']);
      const series = samples.filter(
        (x) =>
          x.name === name ||
          (spec.type === 'histogram' &&
            /^_(bucket|sum|count)$/.test(x.name.slice(name.length)) &&
            x.name.startsWith(name)),
      );
      for (const s of series) {
        for (const label of Object.keys(s.labels))
          expect(allowed, `${s.name} label ${label}`).toContain(label);
      }
    }
  });

  it('includes Node process metrics under the prefix', async () => {
    const families = metricFamilies(await scrape());
    for (const name of [
      'gateway_process_cpu_user_seconds_total',
      'gateway_process_resident_memory_bytes',
      'gateway_nodejs_eventloop_lag_seconds',
      'gateway_nodejs_heap_size_used_bytes',
    ]) {
      expect([...families.keys()], name).toContain(name);
    }
  });

  it('counts HTTP requests by route template, method, status and client', async () => {
    const samples = parseMetrics(await scrape());
    const count = (labels: Record<string, string>): number | undefined =>
      sampleValue(samples, 'gateway_http_requests_total', labels);
    expect(count({ method: 'POST', route: '/v3/access-requests', status: '202', client: 'dev' })).toBe(4);
    expect(count({ method: 'POST', route: '/v3/access-requests', status: '400', client: 'dev' })).toBe(1);
    expect(count({ method: 'POST', route: '/v3/access-requests', status: '401', client: '-' })).toBe(1);
    expect(
      count({ method: 'GET', route: '/v3/access-requests/:trackingId', status: '200', client: 'dev' }),
    ).toBe(3);
    expect(count({ method: 'GET', route: 'unmatched', status: '404', client: '-' })).toBe(1);
    expect(
      sampleValue(samples, 'gateway_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v3/access-requests',
        status_class: '2xx',
      }),
    ).toBe(4);
  });

  it('counts accepted requests (replays apart) and rejections by reason', async () => {
    const samples = parseMetrics(await scrape());
    const accepted = 'gateway_access_requests_accepted_total';
    expect(sampleValue(samples, accepted, { client: 'dev', replayed: 'false' })).toBe(3);
    expect(sampleValue(samples, accepted, { client: 'dev', replayed: 'true' })).toBe(1);
    const rejected = 'gateway_access_requests_rejected_total';
    expect(sampleValue(samples, rejected, { client: 'dev', reason: 'invalid_request' })).toBe(1);
    expect(sampleValue(samples, rejected, { client: '-', reason: 'unauthenticated' })).toBe(1);
    expect(sampleValue(samples, rejected, { client: 'dev', reason: 'unsupported_media_type' })).toBe(1);
  });

  it('counts queued jobs by state at scrape time', async () => {
    const samples = parseMetrics(await scrape());
    const jobs = (state: string): number | undefined =>
      sampleValue(samples, 'gateway_queue_jobs', { queue: 'submissions', state });
    expect(jobs('waiting')).toBe(3);
    for (const state of ['active', 'delayed', 'failed', 'completed']) expect(jobs(state), state).toBe(0);
  });

  it('records what the worker and the IdentityNow client report through MetricsService', async () => {
    const metrics = gw.app.get(MetricsService);
    metrics.pairOutcome('submitted', 3);
    metrics.pairOutcome('duplicate');
    metrics.pairOutcome('failed', 0);
    metrics.jobProcessed('submitted', 0.2);
    metrics.jobProcessed('retry', 1.5);
    metrics.idnCall('submit', 202, 0.12);
    metrics.idnCall('submit', 429, 0.05);
    metrics.idnCall('status', 503, 0.3);
    metrics.idnCall('token', 'timeout', 10);
    metrics.rateLimited(7_000);
    metrics.pausedFor(6_500);
    metrics.budgetWaitedFor(250);
    metrics.tokenRefresh();
    metrics.tokenRefresh('error');
    metrics.reconciliation('found');
    metrics.setRateLimitBudgetProbe(() => Promise.resolve({ used: 12, max: 40 }));

    const samples = parseMetrics(await scrape());
    const v = (name: string, labels: Record<string, string> = {}): number | undefined =>
      sampleValue(samples, name, labels);
    expect(v('gateway_pairs_total', { outcome: 'submitted' })).toBe(3);
    expect(v('gateway_pairs_total', { outcome: 'duplicate' })).toBe(1);
    expect(v('gateway_pairs_total', { outcome: 'failed' })).toBeUndefined();
    expect(v('gateway_job_processing_duration_seconds_count', { outcome: 'retry' })).toBe(1);
    expect(v('gateway_job_processing_duration_seconds_sum', { outcome: 'submitted' })).toBeCloseTo(0.2);
    expect(v('gateway_identitynow_requests_total', { operation: 'submit', status_class: '2xx' })).toBe(1);
    expect(v('gateway_identitynow_requests_total', { operation: 'submit', status_class: '4xx' })).toBe(1);
    expect(v('gateway_identitynow_requests_total', { operation: 'status', status_class: '5xx' })).toBe(1);
    expect(v('gateway_identitynow_requests_total', { operation: 'token', status_class: 'timeout' })).toBe(1);
    expect(
      v('gateway_identitynow_request_duration_seconds_bucket', {
        operation: 'submit',
        status_class: '2xx',
        le: '0.25',
      }),
    ).toBe(1);
    expect(v('gateway_identitynow_rate_limited_total')).toBe(1);
    expect(v('gateway_identitynow_retry_after_seconds_sum')).toBe(7);
    expect(v('gateway_identitynow_paused_seconds_total')).toBe(6.5);
    expect(v('gateway_identitynow_budget_wait_seconds_total')).toBe(0.25);
    expect(v('gateway_identitynow_rate_limit_budget_used')).toBe(12);
    expect(v('gateway_identitynow_rate_limit_budget_max')).toBe(40);
    expect(v('gateway_identitynow_token_refreshes_total', { result: 'ok' })).toBe(1);
    expect(v('gateway_identitynow_token_refreshes_total', { result: 'error' })).toBe(1);
    expect(v('gateway_reconciliations_total', { result: 'found' })).toBe(1);
    expect(v('gateway_info', { role: 'api' })).toBe(1);
  });

  it('carries no identity, item or tracking ids in any label', async () => {
    const samples = parseMetrics(await scrape());
    const labelValues = samples.flatMap((s) => Object.values(s.labels));
    const text = await scrape();
    for (const id of [...IDENTITY_IDS, ITEM_ID, ...trackingIds, 'abc123']) {
      expect(labelValues, id).not.toContain(id);
      expect(text.includes(id), id).toBe(false);
    }
  });

  it('still answers when Redis is gone, counting the failed queue scrape instead of stale numbers', async () => {
    await redis.kill();
    const samples = parseMetrics(await scrape());
    expect(sampleValue(samples, 'gateway_queue_jobs', { queue: 'submissions', state: 'waiting' })).toBe(
      undefined,
    );
    expect(sampleValue(samples, 'gateway_queue_scrape_errors_total', { queue: 'submissions' })).toBe(1);
  });
});
