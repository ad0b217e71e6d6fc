import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { type IdnCallEvent, IdentityNowClient } from '../../src/identitynow/identitynow.client';
import {
  IdnAuthConfigError,
  IdnError,
  IdnPermanentError,
  IdnRateLimitedError,
  IdnRetryableError,
} from '../../src/identitynow/identitynow.errors';
import { createIdnDispatcher } from '../../src/identitynow/identitynow.http';
import { IdentityNowModule } from '../../src/identitynow/identitynow.module';
import type { IdnConnection } from '../../src/identitynow/identitynow.tokens';
import type { IdnAccessRequest } from '../../src/identitynow/identitynow.types';
import { RateLimiterService } from '../../src/identitynow/rate-limiter.service';
import { TokenProvider } from '../../src/identitynow/token.provider';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { type PrivateRedis, startRedis } from '../support/redis-server';

const PREFIX = '{idnc}';

function grant(identity: string, itemId: string, submissionId: string): IdnAccessRequest {
  return {
    requestedFor: [identity],
    requestType: 'GRANT_ACCESS',
    requestedItems: [
      { type: 'ROLE', id: itemId, comment: 'needed', clientMetadata: { gatewaySubmissionId: submissionId } },
    ],
  };
}

async function caught(p: Promise<unknown>): Promise<IdnError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(IdnError);
  if (!(e instanceof IdnError)) throw new Error(`expected an IdnError, got ${String(e)}`);
  return e;
}

function retryable(e: unknown): IdnRetryableError {
  if (!(e instanceof IdnRetryableError)) throw new Error(`expected IdnRetryableError, got ${String(e)}`);
  return e;
}

function limited(e: unknown): IdnRateLimitedError {
  if (!(e instanceof IdnRateLimitedError)) throw new Error(`expected IdnRateLimitedError, got ${String(e)}`);
  return e;
}

interface Stack {
  client: IdentityNowClient;
  tokens: TokenProvider;
  limiter: RateLimiterService;
  dispatcher: Agent;
}

describe('IdentityNowClient against the IdentityNow simulator (real HTTP, real Redis)', () => {
  let redis: PrivateRedis;
  let sim: RunningSimulator;
  let moduleRef: TestingModule;
  let config: AppConfig;
  let conn: IdnConnection;
  let client: IdentityNowClient;
  let tokens: TokenProvider;
  let limiter: RateLimiterService;
  let events: IdnCallEvent[];
  const extra: Stack[] = [];

  /** A second, directly constructed stack (other credentials or timeout), like another process. */
  function stack(overrides: Partial<IdnConnection> = {}, env: Record<string, string> = {}): Stack {
    const cfg = loadConfig({ NODE_ENV: 'development', QUEUE_PREFIX: PREFIX, ...env });
    const c = { ...conn, ...overrides };
    const dispatcher = createIdnDispatcher(cfg.idn.timeoutMs);
    const t = new TokenProvider(c, cfg, dispatcher);
    const l = new RateLimiterService(cfg, redis.client());
    const s = { client: new IdentityNowClient(cfg, c, dispatcher, t, l), tokens: t, limiter: l, dispatcher };
    extra.push(s);
    return s;
  }

  const submitCalls = (): number => sim.control.records({ operation: 'submit' }).calls.length;
  const tokenCalls = (): number => sim.control.records({ operation: 'token' }).calls.length;

  beforeAll(async () => {
    redis = await startRedis();
    sim = await createSimulator({ progression: { completeAfterMs: null } });
    config = loadConfig({ NODE_ENV: 'development', QUEUE_PREFIX: PREFIX, IDN_TIMEOUT_MS: '2000' });
    conn = { baseUrl: sim.url, tokenUrl: `${sim.url}/oauth/token`, ...sim.credentials };
    const connection: Redis = redis.client();
    // Built the way the app builds it: through the Nest module.
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(config),
        IdentityNowModule.forRoot({ redis: { useValue: connection }, connection: { useValue: conn } }),
      ],
    }).compile();
    await moduleRef.init();
    client = moduleRef.get(IdentityNowClient);
    tokens = moduleRef.get(TokenProvider);
    limiter = moduleRef.get(RateLimiterService);
    client.onCall((e) => events.push(e));
  });
  beforeEach(() => {
    sim.control.reset();
    events = [];
  });
  afterEach(async () => {
    await redis.client().del(limiter.pauseKey);
  });
  afterAll(async () => {
    await moduleRef.close();
    for (const s of extra) await s.dispatcher.close();
    await sim.close();
    await redis.stop();
  });

  it('202: parses newRequests, and the status endpoint echoes the item-level clientMetadata', async () => {
    const out = await client.createAccessRequest(grant('id-alice', 'role-1', 'sub-1'));
    expect(out.existingRequests).toEqual([]);
    expect(out.newRequests).toHaveLength(1);
    const ids = out.newRequests[0]!.accessRequestIds ?? [];
    expect(ids.length).toBeGreaterThan(0);
    expect(sim.control.pairCount('GRANT_ACCESS|id-alice|ROLE|role-1')).toBe(1);

    const status = await client.listAccessRequestStatus({ 'requested-for': 'id-alice', limit: 250 });
    const mine = status.filter((s) => s.clientMetadata?.gatewaySubmissionId === 'sub-1');
    expect(mine).toHaveLength(1);
    expect(ids).toContain(mine[0]!.accessRequestId);
    expect(events.map((e) => [e.operation, e.outcome, e.statusClass])).toEqual([
      ['createAccessRequest', 'ok', '2xx'],
      ['listAccessRequestStatus', 'ok', '2xx'],
    ]);
  });

  it('400 → permanent, with IdentityNow’s message text, after exactly one call', async () => {
    const e = await caught(
      client.createAccessRequest({ requestedFor: ['id-x'], requestType: 'GRANT_ACCESS', requestedItems: [] }),
    );
    expect(e).toBeInstanceOf(IdnPermanentError);
    expect(e.status).toBe(400);
    expect(e.reason).toMatch(/^IdentityNow 400/);
    expect(e.reason).toContain('requestedItems must have at least 1 item(s)');
    expect(submitCalls()).toBe(1);
  });

  it('API-authority token → 403 permanent whose reason names the PAT / user-context requirement', async () => {
    const api = stack({ clientId: 'sim-api-client', clientSecret: 'sim-api-secret' });
    const e = await caught(api.client.createAccessRequest(grant('id-bob', 'role-1', 'sub-2')));
    expect(e).toBeInstanceOf(IdnPermanentError);
    expect(e.status).toBe(403);
    expect(e.reason).toContain('Personal Access Token (PAT)');
    expect(e.reason).toContain('user context');
    expect(e.reason).toContain('user-context token');
    expect(e.reason).not.toContain('sim-api-secret');
    expect(submitCalls()).toBe(1);
  });

  it('5xx → retryable and ambiguous (IdentityNow may have created it)', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'error', status: 503 } });
    const e = await caught(client.createAccessRequest(grant('id-carol', 'role-1', 'sub-3')));
    expect(e).toBeInstanceOf(IdnRetryableError);
    expect(retryable(e).ambiguous).toBe(true);
    expect(e.status).toBe(503);

    // "Did it but said it failed": the ambiguity is real.
    sim.control.script({ operation: 'submit', action: { kind: 'error', status: 500, commit: true } });
    const c = await caught(client.createAccessRequest(grant('id-carol', 'role-2', 'sub-4')));
    expect(retryable(c).ambiguous).toBe(true);
    expect(sim.control.pairCount('GRANT_ACCESS|id-carol|ROLE|role-2')).toBe(1);
    // A failed read has no side effect, so it is never ambiguous.
    sim.control.script({ operation: 'status', action: { kind: 'error', status: 502 } });
    const r = await caught(client.listAccessRequestStatus({ 'requested-for': 'id-carol' }));
    expect(r).toBeInstanceOf(IdnRetryableError);
    expect(retryable(r).ambiguous).toBe(false);
  });

  it('lost response → ambiguous, and the simulator did create it exactly once', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'lost-response' } });
    const e = await caught(client.createAccessRequest(grant('id-dave', 'role-1', 'sub-5')));
    expect(e).toBeInstanceOf(IdnRetryableError);
    expect(retryable(e).ambiguous).toBe(true);
    expect(sim.control.pairCount('GRANT_ACCESS|id-dave|ROLE|role-1')).toBe(1);
    expect(events.at(-1)?.statusClass).toBe('network');
  });

  it('hang with a small timeout → ambiguous timeout; refused connection → not ambiguous', async () => {
    const fast = stack({}, { IDN_TIMEOUT_MS: '300' });
    await fast.tokens.getToken();
    sim.control.script({ operation: 'submit', action: { kind: 'hang' } });
    const e = await caught(fast.client.createAccessRequest(grant('id-erin', 'role-1', 'sub-6')));
    expect(e).toBeInstanceOf(IdnRetryableError);
    expect(retryable(e).ambiguous).toBe(true);
    expect(e.reason).toContain('300 ms');

    const dead = stack({ baseUrl: 'http://127.0.0.1:1' });
    const r = await caught(dead.client.createAccessRequest(grant('id-erin', 'role-2', 'sub-7')));
    expect(r).toBeInstanceOf(IdnRetryableError);
    expect(retryable(r).ambiguous).toBe(false);
    expect(sim.control.pairCount('GRANT_ACCESS|id-erin|ROLE|role-2')).toBe(0);
  });

  it('429 → rate-limited with Retry-After, and the pause is visible to another process’s limiter', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'error', status: 429, retryAfterSeconds: 3 } });
    const e = await caught(client.createAccessRequest(grant('id-frank', 'role-1', 'sub-8')));
    expect(e).toBeInstanceOf(IdnRateLimitedError);
    expect(limited(e).retryAfterMs).toBe(3000);
    const other = new RateLimiterService(config, redis.client());
    const left = await other.pauseRemainingMs();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(3000);
    // While paused, another process does not get budget (it gives up early instead of waiting 3 s).
    const impatient = new RateLimiterService(config, redis.client(), { maxWaitMs: 50 });
    expect(await caught(impatient.acquire())).toBeInstanceOf(IdnRateLimitedError);
    expect(sim.control.pairCount('GRANT_ACCESS|id-frank|ROLE|role-1')).toBe(0);
  });

  it('401 mid-run → one refresh shared by concurrent calls, each retried once, all succeed', async () => {
    await client.listAccessRequestStatus({ 'requested-for': 'id-gina' });
    const before = { refreshes: tokens.refreshCount, tokenCalls: tokenCalls() };
    expect(sim.control.expireAllTokens()).toBeGreaterThan(0);
    events = [];
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.createAccessRequest(grant('id-gina', `role-${i}`, `sub-g${i}`)),
      ),
    );
    expect(results.every((r) => r.newRequests.length === 1)).toBe(true);
    expect(tokens.refreshCount - before.refreshes).toBe(1);
    expect(tokenCalls() - before.tokenCalls).toBe(1);
    for (let i = 0; i < 8; i += 1)
      expect(sim.control.pairCount(`GRANT_ACCESS|id-gina|ROLE|role-${i}`)).toBe(1);
    expect(events.filter((e) => e.outcome === 'unauthorized')).toHaveLength(8);
    expect(events.filter((e) => e.outcome === 'ok' && e.attempt === 1)).toHaveLength(8);
  });

  it('401 again after the refresh → IdnAuthConfigError (permanent config error), no third call', async () => {
    sim.control.script({ operation: 'submit', count: 2, action: { kind: 'error', status: 401 } });
    const before = tokenCalls();
    const e = await caught(client.createAccessRequest(grant('id-hank', 'role-1', 'sub-9')));
    expect(e).toBeInstanceOf(IdnAuthConfigError);
    expect(e.reason).toContain('after a token refresh');
    expect(submitCalls()).toBe(2);
    expect(tokenCalls() - before).toBe(1);
  });

  it('wrong credentials → IdnAuthConfigError without the secret', async () => {
    const bad = stack({ clientSecret: 'definitely-wrong-secret' });
    const e = await caught(bad.client.listAccessRequestStatus({}));
    expect(e).toBeInstanceOf(IdnAuthConfigError);
    expect(e.reason).not.toContain('definitely-wrong-secret');
    expect(JSON.stringify(e)).not.toContain('definitely-wrong-secret');
  });

  it('two processes sharing a budget equal to IdentityNow’s limit never see a 429, whatever the backlog', async () => {
    // The simulator enforces its own sliding window per client_id on arrival times. Our window counts
    // each call from grant until it finished (≥ its arrival), so even an equal budget holds although
    // calls arrive with different delays (here: a cold start makes the first ones slow).
    sim.control.setRateLimit({ max: 20, windowMs: 1000 });
    const env = { IDN_RATE_LIMIT_MAX: '20', IDN_RATE_LIMIT_WINDOW_MS: '1000', QUEUE_PREFIX: '{budget}' };
    const stacks = [stack({}, env), stack({}, env)];
    let remaining = 70;
    await Promise.all(
      stacks.flatMap((s) =>
        Array.from({ length: 6 }, async () => {
          while (remaining > 0) {
            remaining -= 1;
            await s.client.listAccessRequestStatus({ 'requested-for': 'id-budget' });
          }
        }),
      ),
    );
    const calls = sim.control.records({ operation: 'status' }).calls;
    expect(calls).toHaveLength(70);
    expect(calls.filter((c) => c.status === 429)).toEqual([]);
    expect(stacks[0]!.limiter.stats().granted + stacks[1]!.limiter.stats().granted).toBe(70);
  });

  it('every API call takes budget from the global limiter; token calls do not', async () => {
    const granted = limiter.stats().granted;
    sim.control.clearRecords();
    await client.listAccessRequestStatus({});
    await client.createAccessRequest(grant('id-ivy', 'role-1', 'sub-10'));
    sim.control.expireAllTokens();
    await client.listAccessRequestStatus({});
    const apiCalls = sim.control
      .records()
      .calls.filter((c) => c.operation !== 'token' && c.operation !== 'control');
    expect(apiCalls).toHaveLength(4); // the last read was refused once (401) and retried
    expect(limiter.stats().granted - granted).toBe(4);
  });
});

describe('IdentityNowClient answer shapes (tiny loopback tenant)', () => {
  let server: Server;
  let url: string;
  let redis: PrivateRedis;
  let answer: { status: number; body: string };
  let s: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/oauth/token') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: 'tkn', token_type: 'bearer', expires_in: 749 }));
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cfg = loadConfig({ NODE_ENV: 'development', QUEUE_PREFIX: '{shape}' });
    const c = { baseUrl: url, tokenUrl: `${url}/oauth/token`, clientId: 'x', clientSecret: 'y' };
    const dispatcher = createIdnDispatcher(cfg.idn.timeoutMs);
    const t = new TokenProvider(c, cfg, dispatcher);
    const l = new RateLimiterService(cfg, redis.client());
    s = { client: new IdentityNowClient(cfg, c, dispatcher, t, l), tokens: t, limiter: l, dispatcher };
  });
  afterAll(async () => {
    await s.dispatcher.close();
    server.closeAllConnections();
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
    await redis.stop();
  });

  it('tolerates {} and an empty 202 (older tenants)', async () => {
    answer = { status: 202, body: '{}' };
    expect(await s.client.createAccessRequest(grant('a', 'b', 'c'))).toEqual({
      newRequests: [],
      existingRequests: [],
    });
    answer = { status: 202, body: '' };
    expect(await s.client.createAccessRequest(grant('a', 'b', 'c'))).toEqual({
      newRequests: [],
      existingRequests: [],
    });
  });

  it('a 202 that is not JSON is ambiguous: it may have been created', async () => {
    answer = { status: 202, body: '<html>proxy</html>' };
    const e = await caught(s.client.createAccessRequest(grant('a', 'b', 'c')));
    expect(e).toBeInstanceOf(IdnRetryableError);
    expect(retryable(e).ambiguous).toBe(true);
  });

  it('keeps existingRequests as IdentityNow reported them', async () => {
    const tracking = {
      requestedFor: 'a',
      requestedItemsDetails: [{ type: 'ROLE', id: 'b' }],
      accessRequestIds: ['r1'],
    };
    answer = { status: 202, body: JSON.stringify({ existingRequests: [tracking] }) };
    expect(await s.client.createAccessRequest(grant('a', 'b', 'c'))).toEqual({
      newRequests: [],
      existingRequests: [tracking],
    });
  });
});
