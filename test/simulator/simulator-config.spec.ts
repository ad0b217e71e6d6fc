import { describe, expect, it } from 'vitest';
import { loadConfig, ConfigValidationError } from '../../src/config/app-config';
import { createSimulator, simulatorOptionsFromConfig } from '../../src/simulator';
import { http, status, token } from '../support/sim-client';

describe('simulator configuration', () => {
  it('defaults: sim-client/sim-secret PAT plus the API-authority client, 100 per 10 s, control API on outside production', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config.simulator).toMatchObject({
      port: 4010,
      clientId: 'sim-client',
      clientSecret: 'sim-secret',
      host: '127.0.0.1',
      rateLimitMax: 100,
      rateLimitWindowMs: 10_000,
      tokenTtlSeconds: 749,
      tokenFormat: 'opaque',
      controlApi: true,
      completeAfterMs: 5_000,
      rejectRate: 0.1,
      latency: null,
      errorRates: {},
    });
    const options = simulatorOptionsFromConfig(config);
    expect(options.port).toBe(0);
    expect(options.host).toBe('127.0.0.1');
    expect(options.clients).toEqual([
      { clientId: 'sim-client', clientSecret: 'sim-secret', kind: 'pat' },
      { clientId: 'sim-api-client', clientSecret: 'sim-api-secret', kind: 'api' },
    ]);
    expect(simulatorOptionsFromConfig(config, { standalone: true }).port).toBe(4010);
  });

  it('reads every SIMULATOR_* variable; empty values mean unset', () => {
    const config = loadConfig({
      NODE_ENV: 'development',
      SIMULATOR_CLIENT_ID: 'pat-id',
      SIMULATOR_CLIENT_SECRET: 'pat-secret',
      SIMULATOR_HOST: '0.0.0.0',
      SIMULATOR_RATE_LIMIT_MAX: '0',
      SIMULATOR_RATE_LIMIT_WINDOW_MS: '2000',
      SIMULATOR_TOKEN_TTL_SECONDS: '60',
      SIMULATOR_TOKEN_FORMAT: 'jwt',
      SIMULATOR_CONTROL_API: 'false',
      SIMULATOR_COMPLETE_AFTER_MS: '-1',
      SIMULATOR_REJECT_RATE: '0.25',
      SIMULATOR_LATENCY_MS: '20-200',
      SIMULATOR_ERROR_RATES: '500:0.01,503:0.5',
    });
    expect(config.simulator).toMatchObject({
      clientId: 'pat-id',
      host: '0.0.0.0',
      rateLimitMax: 0,
      rateLimitWindowMs: 2000,
      tokenTtlSeconds: 60,
      tokenFormat: 'jwt',
      controlApi: false,
      completeAfterMs: null,
      rejectRate: 0.25,
      latency: { minMs: 20, maxMs: 200 },
      errorRates: { 500: 0.01, 503: 0.5 },
    });
    const blank = loadConfig({
      NODE_ENV: 'development',
      SIMULATOR_CONTROL_API: '',
      SIMULATOR_LATENCY_MS: '',
      SIMULATOR_ERROR_RATES: '',
      SIMULATOR_RATE_LIMIT_MAX: '',
    });
    expect(blank.simulator.controlApi).toBe(true);
    expect(blank.simulator.latency).toBeNull();
    expect(blank.simulator.rateLimitMax).toBe(100);
  });

  it('control API is off in production unless asked for', () => {
    const prod = {
      NODE_ENV: 'production',
      ROLE: 'api',
      CLIENTS_FILE: '/x.json',
      TOKEN_SIGNING_SECRET: 'x'.repeat(32),
    };
    expect(loadConfig(prod).simulator.controlApi).toBe(false);
    expect(loadConfig({ ...prod, SIMULATOR_CONTROL_API: 'true' }).simulator.controlApi).toBe(true);
  });

  it('rejects malformed values, naming the variable', () => {
    for (const [name, value] of [
      ['SIMULATOR_TOKEN_FORMAT', 'paseto'],
      ['SIMULATOR_CONTROL_API', 'yes'],
      ['SIMULATOR_REJECT_RATE', '2'],
      ['SIMULATOR_LATENCY_MS', 'fast'],
      ['SIMULATOR_ERROR_RATES', '404:0.5'],
      ['SIMULATOR_RATE_LIMIT_MAX', '-1'],
    ] as const) {
      expect(() => loadConfig({ NODE_ENV: 'development', [name]: value }), name).toThrow(
        ConfigValidationError,
      );
      try {
        loadConfig({ NODE_ENV: 'development', [name]: value });
      } catch (e) {
        expect((e as ConfigValidationError).problems.join(' ')).toContain(name);
      }
    }
  });

  it('a simulator started from configuration accepts the configured PAT credentials', async () => {
    const config = loadConfig({
      NODE_ENV: 'development',
      SIMULATOR_CLIENT_ID: 'pat-id',
      SIMULATOR_CLIENT_SECRET: 'pat-secret',
      SIMULATOR_RATE_LIMIT_MAX: '2',
      SIMULATOR_RATE_LIMIT_WINDOW_MS: '600000',
    });
    const sim = await createSimulator(simulatorOptionsFromConfig(config));
    try {
      expect(sim.credentials).toEqual({ clientId: 'pat-id', clientSecret: 'pat-secret' });
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const bearer = await token(sim, 'pat-id', 'pat-secret');
      expect((await status(sim, bearer, {})).status).toBe(200);
      expect((await status(sim, bearer, {})).status).toBe(200);
      expect((await status(sim, bearer, {})).status).toBe(429);
      const refused = await http(`${sim.url}/oauth/token`, {
        form: { grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' },
      });
      expect(refused.status).toBe(401);
    } finally {
      await sim.close();
    }
  });
});
