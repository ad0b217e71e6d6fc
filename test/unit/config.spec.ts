import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig } from '../../src/config/app-config';
import { loadSimulatorConfig, SimulatorConfigError } from '../../src/config/simulator-config';

const PROD_API = {
  ROLE: 'api',
  CLIENTS_FILE: '/x.json',
  TOKEN_SIGNING_SECRET: 'x'.repeat(32),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigValidationError) return [...e.problems];
    throw e;
  }
  return [];
}

describe('configuration', () => {
  it('has the documented defaults (development)', () => {
    const c = loadConfig({ NODE_ENV: 'development' });
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
      acceptedLogLevel: 'info',
    });
  });

  it('derives the token URL from the tenant root', () => {
    const c = loadConfig({
      NODE_ENV: 'development',
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
    const dev = { NODE_ENV: 'development' };
    expect(loadConfig(dev).auth.tokenSigningSecret).toBe(loadConfig(dev).auth.tokenSigningSecret);
    expect(loadConfig({ ...dev, DEV_CLIENT_SECRET: 'another-secret' }).auth.tokenSigningSecret).not.toBe(
      loadConfig(dev).auth.tokenSigningSecret,
    );
  });

  it.each([undefined, 'test', 'production'])(
    'NODE_ENV %s is production: no dev client, and no embedded simulator for a worker',
    (nodeEnv) => {
      const env: Record<string, string> = nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv };
      const problems = problemsOf(env).join('\n');
      expect(problems).toMatch(/^CLIENTS_FILE is required in production .*the dev client is refused/m);
      expect(problems).toMatch(/^IDN_BASE_URL is required for ROLE=all in production/m);
      expect(problemsOf({ ...env, ...PROD_API, ROLE: 'worker' }).join('\n')).toMatch(
        /^IDN_BASE_URL is required for ROLE=worker in production/m,
      );
      const api = loadConfig({ ...env, ...PROD_API });
      expect(api.env).toBe('production');
      expect(api.auth.devClientSecret).toBeUndefined();
      expect(
        loadConfig({
          ...env,
          ...PROD_API,
          ROLE: 'worker',
          IDN_BASE_URL: 'https://acme.api.identitynow.com',
          IDN_CLIENT_ID: 'id',
          IDN_CLIENT_SECRET: 's',
        }).idn.baseUrl,
      ).toBe('https://acme.api.identitynow.com');
    },
  );

  it('development keeps the dev client and the embedded simulator', () => {
    const c = loadConfig({ NODE_ENV: 'development', ROLE: 'worker' });
    expect(c.env).toBe('development');
    expect(c.auth.devClientSecret).toBe('dev-secret');
    expect(c.idn.baseUrl).toBeUndefined();
  });

  it('failed-authentication throttling and the proxy trust have safe defaults', () => {
    const c = loadConfig({ NODE_ENV: 'development' });
    expect(c.auth).toMatchObject({ failuresPerWindow: 20, failureWindowMs: 60_000, trustProxy: false });
    const dev = { NODE_ENV: 'development' };
    expect(loadConfig({ ...dev, AUTH_FAILURES_PER_MINUTE: '5' }).auth.failuresPerWindow).toBe(5);
    expect(problemsOf({ ...dev, TRUST_PROXY: '1' }).join()).toContain('TRUST_PROXY');
    expect(loadConfig({ ...dev, TRUST_PROXY: '10.0.0.0/8, 192.168.1.7' }).auth.trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
    ]);
    expect(problemsOf({ ...dev, TRUST_PROXY: 'true' }).join()).toMatch(/TRUST_PROXY .*"true" .*refused/);
    expect(problemsOf({ ...dev, AUTH_FAILURES_PER_MINUTE: '0' }).join()).toContain(
      'AUTH_FAILURES_PER_MINUTE',
    );
    expect(problemsOf({ ...dev, ACCESS_LOG_ACCEPTED_LEVEL: 'warn' }).join()).toContain(
      'ACCESS_LOG_ACCEPTED_LEVEL must be one of info, debug',
    );
  });
});

describe('standalone simulator configuration', () => {
  it('reads only SIMULATOR_* settings: broken or missing gateway settings do not matter, in any NODE_ENV', () => {
    for (const NODE_ENV of [undefined, 'production', 'development', 'test']) {
      const c = loadSimulatorConfig({
        ...(NODE_ENV === undefined ? {} : { NODE_ENV }),
        PORT: 'eighty',
        ROLE: 'both',
        TOKEN_SIGNING_SECRET: 'short',
        LOG_LEVEL: 'loud',
        SIMULATOR_PORT: '4011',
        SIMULATOR_CLIENT_ID: 'standalone',
      });
      expect(c).toMatchObject({
        port: 4011,
        clientId: 'standalone',
        clientSecret: 'sim-secret',
        logLevel: 'info',
      });
    }
  });

  it('still validates its own settings, naming each', () => {
    let error: unknown;
    try {
      loadSimulatorConfig({ SIMULATOR_TOKEN_FORMAT: 'paseto', SIMULATOR_LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SimulatorConfigError);
    const problems = (error as SimulatorConfigError).problems.join('\n');
    expect(problems).toContain('SIMULATOR_TOKEN_FORMAT');
    expect(problems).toContain('SIMULATOR_LOG_LEVEL');
  });
});
