import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/app-config';
import { IdnAuthConfigError, IdnRetryableError } from '../../src/identitynow/identitynow.errors';
import { createIdnDispatcher } from '../../src/identitynow/identitynow.http';
import type { IdnConnection } from '../../src/identitynow/identitynow.tokens';
import { type TokenRefreshEvent, TokenProvider } from '../../src/identitynow/token.provider';

/**
 * A tiny OAuth token endpoint over loopback: this file tests the provider's caching and single-flight
 * rules in isolation; the client tests run the provider against the IdentityNow simulator.
 */
interface TokenServer {
  url: string;
  calls: { at: number; body: URLSearchParams; contentType: string | undefined }[];
  issued: { token: string; at: number; expiresIn: number | undefined }[];
  /** What the next answers look like. */
  mode: { status: number; expiresIn: number | undefined; delayMs: number };
  close(): Promise<void>;
}

async function startTokenServer(): Promise<TokenServer> {
  const srv: TokenServer = {
    url: '',
    calls: [],
    issued: [],
    mode: { status: 200, expiresIn: 749, delayMs: 30 },
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      srv.calls.push({ at: Date.now(), body, contentType: req.headers['content-type'] });
      const { status, expiresIn, delayMs } = srv.mode;
      setTimeout(() => {
        if (status !== 200) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'invalid_client', error_description: 'Bad credentials' }));
          return;
        }
        const token = `token-${srv.issued.length + 1}`;
        srv.issued.push({ token, at: Date.now(), expiresIn });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            access_token: token,
            token_type: 'bearer',
            ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
          }),
        );
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  srv.url = `http://127.0.0.1:${port}`;
  srv.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => {
        r();
      });
    });
  return srv;
}

describe('TokenProvider', () => {
  let srv: TokenServer;
  let dispatcher: Agent;
  const config = loadConfig({ NODE_ENV: 'development', IDN_TIMEOUT_MS: '2000' });
  const secret = 'pat-secret-value-42';
  let conn: IdnConnection;
  const make = (): TokenProvider => new TokenProvider(conn, config, dispatcher);

  beforeAll(async () => {
    srv = await startTokenServer();
    dispatcher = createIdnDispatcher(2000);
    conn = {
      baseUrl: srv.url,
      tokenUrl: `${srv.url}/oauth/token`,
      clientId: 'pat-client',
      clientSecret: secret,
    };
  });
  afterEach(() => {
    srv.calls.length = 0;
    srv.issued.length = 0;
    srv.mode = { status: 200, expiresIn: 749, delayMs: 30 };
  });
  afterAll(async () => {
    await dispatcher.close();
    await srv.close();
  });

  it('concurrent callers share exactly one client-credentials call (form-encoded)', async () => {
    const p = make();
    const events: TokenRefreshEvent[] = [];
    p.onRefresh((e) => events.push(e));
    const tokens = await Promise.all(Array.from({ length: 25 }, () => p.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    expect(srv.calls).toHaveLength(1);
    expect(srv.calls[0]!.contentType).toBe('application/x-www-form-urlencoded');
    expect(srv.calls[0]!.body.get('grant_type')).toBe('client_credentials');
    expect(srv.calls[0]!.body.get('client_id')).toBe('pat-client');
    expect(srv.calls[0]!.body.get('client_secret')).toBe(secret);
    // Cached afterwards.
    expect(await p.getToken()).toBe('token-1');
    expect(srv.calls).toHaveLength(1);
    expect(p.refreshCount).toBe(1);
    expect(events).toEqual([expect.objectContaining({ cause: 'initial', ok: true, expiresInSeconds: 749 })]);
  });

  it('refreshes shortly before expires_in, while the old token is still valid', async () => {
    srv.mode = { status: 200, expiresIn: 1, delayMs: 0 };
    const p = make();
    expect(await p.getToken()).toBe('token-1');
    let latest = 'token-1';
    for (let i = 0; i < 100 && latest === 'token-1'; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      latest = await p.getToken();
    }
    expect(latest).toBe('token-2');
    expect(srv.calls).toHaveLength(2);
    // The second token call arrived before the first token's expires_in ran out.
    expect(srv.calls[1]!.at).toBeLessThan(srv.issued[0]!.at + 1000);
  });

  it('after a 401: concurrent invalidations of the refused token cause one refresh, shared', async () => {
    const p = make();
    const old = await p.getToken();
    const events: TokenRefreshEvent[] = [];
    p.onRefresh((e) => events.push(e));
    const fresh = await Promise.all(
      Array.from({ length: 10 }, async () => {
        p.invalidate(old);
        return p.getToken();
      }),
    );
    expect(new Set(fresh)).toEqual(new Set(['token-2']));
    expect(srv.calls).toHaveLength(2);
    // A late 401 for the old token does not throw away the new one.
    p.invalidate(old);
    expect(await p.getToken()).toBe('token-2');
    expect(srv.calls).toHaveLength(2);
    expect(events.map((e) => e.cause)).toEqual(['invalidated']);
  });

  it('without expires_in keeps the token until a 401 invalidates it', async () => {
    srv.mode = { status: 200, expiresIn: undefined, delayMs: 0 };
    const p = make();
    expect(await p.getToken()).toBe('token-1');
    expect(await p.getToken()).toBe('token-1');
    p.invalidate('token-1');
    expect(await p.getToken()).toBe('token-2');
    expect(srv.calls).toHaveLength(2);
  });

  it('refused credentials → IdnAuthConfigError without the secret; a failed refresh is shared, then retried', async () => {
    srv.mode = { status: 401, expiresIn: 749, delayMs: 30 };
    const p = make();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => p.getToken()));
    expect(srv.calls).toHaveLength(1);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as Error;
      expect(err).toBeInstanceOf(IdnAuthConfigError);
      expect(err.message).toContain('Bad credentials');
      expect(err.message).not.toContain(secret);
    }
    srv.mode = { status: 503, expiresIn: 749, delayMs: 0 };
    const e = await p.getToken().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IdnRetryableError);
    // No access request was sent while getting a token, so nothing can have been created.
    expect((e as IdnRetryableError).ambiguous).toBe(false);
    srv.mode = { status: 200, expiresIn: 749, delayMs: 0 };
    expect(await p.getToken()).toBe('token-1');
    expect(p.refreshCount).toBe(3);
  });

  it('an unreachable token endpoint is retryable and not ambiguous', async () => {
    const dead = new TokenProvider(
      { ...conn, tokenUrl: 'http://127.0.0.1:1/oauth/token' },
      config,
      dispatcher,
    );
    const e = await dead.getToken().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IdnRetryableError);
    expect((e as IdnRetryableError).ambiguous).toBe(false);
    expect((e as Error).message).toContain('ECONNREFUSED');
  });
});
