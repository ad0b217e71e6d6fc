import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import type { RequestRecord } from '../../src/access-request/request-record';
import { grant } from '../support/bodies';
import { AUTH } from '../support/clients';
import type { TestGateway } from '../support/gateway';
import { LogCapture } from '../support/log-capture';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { sleep } from '../support/time';
import { startWorkerGateway } from '../support/worker-stack';

const REQUEST_ID = 'req-observability-1';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** A worker gateway on its own Redis and simulator for the enclosing suite, its log lines captured. */
function observedGateway(env: Record<string, string>): { logs: LogCapture; gateway: () => TestGateway } {
  let redis: PrivateRedis;
  let sim: RunningSimulator;
  let gw: TestGateway;
  const logs = new LogCapture();
  beforeAll(async () => {
    redis = await startRedis();
    sim = await createSimulator({ reportExisting: false });
    gw = await startWorkerGateway(redis, sim, env, sim.credentials, {
      logDestination: logs,
      logger: undefined,
    });
  });
  afterAll(async () => {
    await gw.close();
    await sim.close();
    await redis.stop();
  });
  return { logs, gateway: () => gw };
}

describe('worker observability: logs follow the HTTP request into the IdentityNow call; metrics count outcomes', () => {
  const { logs, gateway } = observedGateway({ LOG_LEVEL: 'info' });

  it('carries the request id and traceparent from the HTTP request to the job outcome and IdentityNow call lines', async () => {
    const accepted = await request(gateway().server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .set('x-request-id', REQUEST_ID)
      .set('traceparent', TRACEPARENT)
      .send(grant());
    expect(accepted.status).toBe(202);
    const trackingId = accepted.body.trackingId as string;
    let record: RequestRecord | undefined;
    for (
      let i = 0;
      i < 100 && (record === undefined || record.state === 'QUEUED' || record.state === 'PROCESSING');
      i++
    ) {
      await sleep(100);
      record = (
        await request(gateway().server).get(`/v3/access-requests/${trackingId}`).set('authorization', AUTH)
      ).body as RequestRecord;
    }
    expect(record?.state).toBe('SUBMITTED');

    const httpLine = logs.records.find(
      (l) => l.msg === 'http request' && l.requestId === REQUEST_ID && l.status === 202,
    );
    expect(httpLine, 'one line per HTTP request').toBeDefined();
    // The record turns SUBMITTED when the call's outcome is written; the request's own job logs
    // its outcome when it next runs (woken by that write), so its line can trail the record a little.
    const outcomeLines = (): Record<string, unknown>[] =>
      logs.records.filter((l) => l.msg === 'job outcome' && l.trackingId === trackingId);
    for (let i = 0; i < 100 && outcomeLines().length === 0; i++) await sleep(100);
    const outcome = outcomeLines();
    expect(outcome).toHaveLength(1);
    expect(outcome[0]).toMatchObject({
      requestId: REQUEST_ID,
      traceparent: TRACEPARENT,
      clientId: 'dev',
      state: 'SUBMITTED',
    });
    const call = logs.records.find((l) => l.msg === 'identitynow call' && l.trackingId === trackingId);
    expect(call).toMatchObject({
      requestId: REQUEST_ID,
      traceparent: TRACEPARENT,
      operation: 'createAccessRequest',
      status: 202,
      outcome: 'ok',
    });
  });

  it('exports pair outcomes, job durations, IdentityNow calls and token refreshes, with no ids in labels', async () => {
    const text = (await request(gateway().server).get('/metrics')).text;
    expect(text).toMatch(/^gateway_pairs_total\{outcome="submitted"\} 1$/m);
    expect(text).toMatch(/^gateway_job_processing_duration_seconds_count\{outcome="submitted"\} 1$/m);
    expect(text).toMatch(/^gateway_identitynow_requests_total\{operation="submit",status_class="2xx"\} 1$/m);
    expect(text).toMatch(/^gateway_identitynow_requests_total\{operation="token",status_class="2xx"\} 1$/m);
    expect(text).toMatch(/^gateway_identitynow_token_refreshes_total\{result="ok"\} 1$/m);
    expect(text).toMatch(/^gateway_identitynow_rate_limit_budget_max \d+$/m);
    expect(text).not.toMatch(/2c918084660f45d6016617daa9210584|2c9180835d2e5168015d32f890ca1581/);
  });
});

describe('ACCESS_LOG_ACCEPTED_LEVEL=debug: a busy intake leaves its 202 lines out, the request stays findable', () => {
  const { logs, gateway } = observedGateway({ LOG_LEVEL: 'info', ACCESS_LOG_ACCEPTED_LEVEL: 'debug' });

  it('logs no line for the 202, still logs the 400, and the job outcome line carries the request id', async () => {
    const accepted = await request(gateway().server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .set('x-request-id', 'req-quiet-accepted')
      .send(grant());
    expect(accepted.status).toBe(202);
    const rejected = await request(gateway().server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .set('x-request-id', 'req-quiet-rejected')
      .send({ requestedFor: [] });
    expect(rejected.status).toBe(400);

    const trackingId = accepted.body.trackingId as string;
    const outcome = (): Record<string, unknown> | undefined =>
      logs.records.find((l) => l.msg === 'job outcome' && l.trackingId === trackingId);
    for (let i = 0; i < 100 && outcome() === undefined; i++) await sleep(100);
    expect(outcome()).toMatchObject({ requestId: 'req-quiet-accepted', state: 'SUBMITTED' });

    const httpLines = logs.records.filter((l) => l.msg === 'http request');
    expect(httpLines.filter((l) => l.requestId === 'req-quiet-accepted')).toEqual([]);
    expect(httpLines.find((l) => l.requestId === 'req-quiet-rejected')).toMatchObject({
      status: 400,
      level: 'info',
    });
  });
});
