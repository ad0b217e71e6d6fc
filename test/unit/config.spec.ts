import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig } from '../../src/config/app-config';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      env: 'development',
      role: 'all',
      http: { port: 3000, bodyLimitBytes: 1_048_576 },
      redis: { url: 'redis://127.0.0.1:6379', prefix: 'arg' },
      idn: { baseUrl: undefined, rateLimitMax: 95, rateLimitWindowMs: 10_000, timeoutMs: 10_000 },
      submission: {
        attempts: 8,
        backoffBaseMs: 1000,
        backoffMaxMs: 300_000,
        dedupeWindowSeconds: 86_400,
        concurrency: 16,
        shutdownGraceMs: 20_000,
      },
      auth: { clientsFile: undefined, devClientSecret: 'dev-secret' },
      simulator: { port: 4010, clientId: 'sim-client', clientSecret: 'sim-secret' },
      admin: { user: undefined },
      logLevel: 'info',
    });
  });

  it('derives the token URL from the tenant root', () => {
    const c = loadConfig({
      IDN_BASE_URL: 'https://acme.api.identitynow.com/',
      IDN_CLIENT_ID: 'id',
      IDN_CLIENT_SECRET: 's',
    });
    expect(c.idn.baseUrl).toBe('https://acme.api.identitynow.com');
    expect(c.idn.tokenUrl).toBe('https://acme.api.identitynow.com/oauth/token');
  });

  it('lists every bad variable and why, in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        ROLE: 'both',
        QUEUE_PREFIX: 'a:b',
        IDN_BASE_URL: 'https://acme.api.identitynow.com',
        IDN_RATE_LIMIT_MAX: '0',
        ADMIN_USER: 'ops',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const problems = (error as ConfigValidationError).problems.join('\n');
    for (const name of [
      'PORT',
      'ROLE',
      'QUEUE_PREFIX',
      'IDN_CLIENT_ID',
      'IDN_CLIENT_SECRET',
      'IDN_RATE_LIMIT_MAX',
      'ADMIN_PASSWORD',
    ]) {
      expect(problems).toContain(name);
    }
  });

  it('refuses the dev client in production and requires a signing secret with a clients file', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CLIENTS_FILE is required in production/);
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        CLIENTS_FILE: '/x.json',
        TOKEN_SIGNING_SECRET: 'x'.repeat(32),
        DEV_CLIENT_SECRET: 'abcdefgh',
      }),
    ).toThrow(/DEV_CLIENT_SECRET is refused in production/);
    expect(() => loadConfig({ CLIENTS_FILE: '/x.json' })).toThrow(
      /TOKEN_SIGNING_SECRET is required when CLIENTS_FILE is set/,
    );
  });

  it('derives a stable dev signing key, so dev tokens survive restarts and work on every process', () => {
    expect(loadConfig({}).auth.tokenSigningSecret).toBe(loadConfig({}).auth.tokenSigningSecret);
    expect(loadConfig({ DEV_CLIENT_SECRET: 'another-secret' }).auth.tokenSigningSecret).not.toBe(
      loadConfig({}).auth.tokenSigningSecret,
    );
  });
});
