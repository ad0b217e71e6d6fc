import request from 'supertest';
import { createSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator';
import { LifecycleModule } from '../../src/lifecycle/lifecycle.module';
import type { LifecycleSettings } from '../../src/lifecycle/lifecycle.settings';
import { SubmissionModule } from '../../src/submission/submission.module';
import { WorkerCoreModule } from '../../src/submission/worker-core.module';
import type { RequestRecord } from '../../src/access-request/request-record';
import type { GatewayOptions } from '../../src/app.factory';
import { AUTH } from './clients';
import { startGateway, type TestGateway } from './gateway';
import { startRedis, type PrivateRedis } from './redis-server';
import { sleep } from './time';

export interface WorkerStack {
  readonly redis: PrivateRedis;
  readonly sim: RunningSimulator;
  readonly gw: TestGateway;
  /** POSTs an access request; returns the tracking id (asserts 202). */
  post(body: unknown): Promise<string>;
  status(trackingId: string): Promise<RequestRecord>;
  /** Polls the status until it is no longer QUEUED/PROCESSING (bounded). */
  settled(trackingId: string, timeoutMs?: number): Promise<RequestRecord>;
  close(): Promise<void>;
}

/** Test defaults: fast backoff, a budget below the simulator's limit. */
export const FAST_ENV: Record<string, string> = {
  BACKOFF_BASE_MS: '50',
  BACKOFF_MAX_MS: '400',
  SUBMIT_ATTEMPTS: '5',
  IDN_RATE_LIMIT_MAX: '90',
  IDN_RATE_LIMIT_WINDOW_MS: '10000',
  IDN_TIMEOUT_MS: '2000',
  SHUTDOWN_GRACE_MS: '3000',
  RECONCILE_SETTLE_MS: '300',
  // Lifecycle polling stays out of tests about submission (its status reads would meet their faults);
  // the lifecycle tests set their own interval.
  IDN_STATUS_POLL_MS: '3600000',
};

/** A private Redis, a simulator over loopback HTTP, and one gateway with API and worker (ROLE=all). */
export async function startWorkerStack(
  opts: {
    env?: Record<string, string>;
    sim?: SimulatorOptions;
    redis?: PrivateRedis;
    lifecycle?: Partial<LifecycleSettings>;
  } = {},
): Promise<WorkerStack> {
  const redis = opts.redis ?? (await startRedis());
  // reportExisting off: every creation is counted, so a pair sent twice shows up as 2.
  const sim = await createSimulator({ reportExisting: false, ...opts.sim });
  const gw = await startWorkerGateway(
    redis,
    sim,
    opts.env,
    sim.credentials,
    opts.lifecycle === undefined ? {} : { lifecycle: opts.lifecycle },
  );
  const stack: WorkerStack = {
    redis,
    sim,
    gw,
    async post(body) {
      const res = await request(gw.server)
        .post('/v3/access-requests')
        .set('authorization', AUTH)
        .send(body as object);
      if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${JSON.stringify(res.body)}`);
      return (res.body as { trackingId: string }).trackingId;
    },
    async status(trackingId) {
      const res = await request(gw.server)
        .get(`/v3/access-requests/${trackingId}`)
        .set('authorization', AUTH);
      if (res.status !== 200)
        throw new Error(`GET status answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body as RequestRecord;
    },
    async settled(trackingId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await stack.status(trackingId);
        if (s.state !== 'QUEUED' && s.state !== 'PROCESSING') return s;
        if (Date.now() > deadline) throw new Error(`${trackingId} still ${s.state}: ${JSON.stringify(s)}`);
        await sleep(50);
      }
    },
    async close() {
      await gw.close();
      await sim.close();
      if (opts.redis === undefined) await redis.stop();
    },
  };
  return stack;
}

export async function startWorkerGateway(
  redis: PrivateRedis,
  sim: RunningSimulator,
  env: Record<string, string> = {},
  credentials: { clientId: string; clientSecret: string } = sim.credentials,
  options: GatewayOptions & { lifecycle?: Partial<LifecycleSettings> } = {},
): Promise<TestGateway> {
  const connection = {
    useValue: {
      baseUrl: sim.url,
      tokenUrl: `${sim.url}/oauth/token`,
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
    },
  };
  const { lifecycle, ...gatewayOptions } = options;
  return startGateway(
    {
      REDIS_URL: redis.url,
      ROLE: 'all',
      IDN_BASE_URL: sim.url,
      IDN_CLIENT_ID: credentials.clientId,
      IDN_CLIENT_SECRET: credentials.clientSecret,
      ...FAST_ENV,
      ...env,
    },
    {
      ...gatewayOptions,
      workerModules: [
        WorkerCoreModule.forRoot({ connection }),
        SubmissionModule,
        LifecycleModule.forRoot(lifecycle === undefined ? {} : { settings: lifecycle }),
      ],
    },
  );
}

/** The simulator's key of one identity-item pair, as its records count them. */
export { pairKey } from '../../src/simulator';
