import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadClients } from '../../src/clients/client-registry.service';
import { loadConfig } from '../../src/config/app-config';
import { webhookRetryDelay } from '../../src/webhooks/webhook-backoff';
import { webhookMessageId } from '../../src/webhooks/webhook-job';
import { SIGNING_SECRET, writeClientsFile, type TestClient } from '../support/clients';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const URL_OK = 'https://hr-portal.internal/hooks/access';

function boot(clients: (TestClient | Record<string, unknown>)[]): ReturnType<typeof loadClients> {
  const config = loadConfig({
    NODE_ENV: 'development',
    CLIENTS_FILE: writeClientsFile(clients as TestClient[]),
    TOKEN_SIGNING_SECRET: SIGNING_SECRET,
  });
  return loadClients(config);
}

const bootError = (webhook: unknown): string => {
  try {
    boot([{ id: 'hr', secret: 'hr-secret-1234', webhook }]);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the clients file was accepted');
};

describe('clients file: webhook', () => {
  it('is optional, and exposed on the client when given', () => {
    const [hr, plain] = boot([
      { id: 'hr', secret: 'hr-secret-1234', webhook: { url: URL_OK, secret: SECRET } },
      { id: 'plain', secret: 'plain-secret-1234' },
    ]);
    expect(hr?.webhook).toEqual({ url: URL_OK, secrets: [SECRET] });
    expect(plain?.webhook).toBeUndefined();
  });

  it('takes a list of two secrets during a rotation, in the order given', () => {
    const next = `whsec_${randomBytes(32).toString('base64')}`;
    const [hr] = boot([
      { id: 'hr', secret: 'hr-secret-1234', webhook: { url: URL_OK, secret: [SECRET, next] } },
    ]);
    expect(hr?.webhook).toEqual({ url: URL_OK, secrets: [SECRET, next] });
  });

  it('accepts http and https URLs, loopback and hosts without a TLD included', () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'https://receiver/x', 'http://localhost/h?x=1']) {
      expect(
        boot([{ id: 'hr', secret: 'hr-secret-1234', webhook: { url, secret: SECRET } }])[0]?.webhook?.url,
      ).toBe(url);
    }
  });

  it.each([
    [
      'an ftp URL',
      { url: 'ftp://files.internal/x', secret: SECRET },
      /clients\.0\.webhook\.url: url must be an http/,
    ],
    ['no URL at all', { url: 'not a url', secret: SECRET }, /clients\.0\.webhook\.url/],
    ['a missing url', { secret: SECRET }, /clients\.0\.webhook\.url/],
    ['a missing secret', { url: URL_OK }, /clients\.0\.webhook\.secret/],
    ['a secret without whsec_', { url: URL_OK, secret: randomBytes(32).toString('base64') }, /whsec_/],
    [
      'a 23-byte secret',
      { url: URL_OK, secret: `whsec_${randomBytes(23).toString('base64')}` },
      /at least 24/,
    ],
    ['a secret that is not base64', { url: URL_OK, secret: `whsec_${'!'.repeat(40)}` }, /whsec_/],
    ['an unknown field', { url: URL_OK, secret: SECRET, events: ['x'] }, /events should not exist/],
    ['null', null, /clients\.0\.webhook/],
    ['a string', URL_OK, /clients\.0\.webhook/],
    ['an array', [{ url: URL_OK, secret: SECRET }], /clients\.0\.webhook: webhook must be an object/],
    ['an empty list of secrets', { url: URL_OK, secret: [] }, /clients\.0\.webhook\.secret: .*list of two/],
    [
      'three secrets',
      { url: URL_OK, secret: [SECRET, SECRET, SECRET] },
      /clients\.0\.webhook\.secret: .*list of two/,
    ],
    [
      'a list with a secret without whsec_',
      { url: URL_OK, secret: [SECRET, randomBytes(32).toString('base64')] },
      /clients\.0\.webhook\.secret: secret must be "whsec_"/,
    ],
  ])('refuses %s at boot, naming the field', (_name, webhook, message) => {
    const error = bootError(webhook);
    expect(error).toMatch(/^CLIENTS_FILE .* is invalid/);
    expect(error).toMatch(message);
  });

  it('never shows the secret in a boot error', () => {
    const secret = `whsec_${randomBytes(20).toString('base64')}`;
    expect(bootError({ url: URL_OK, secret })).not.toContain(secret.slice(6));
  });

  it('accepts exactly the secrets the standardwebhooks library can sign with (24 bytes and more)', () => {
    for (let bytes = 1; bytes <= 64; bytes++) {
      const secret = `whsec_${randomBytes(bytes).toString('base64')}`;
      const accepted = (() => {
        try {
          boot([{ id: 'hr', secret: 'hr-secret-1234', webhook: { url: URL_OK, secret } }]);
          return true;
        } catch {
          return false;
        }
      })();
      expect(accepted, `${bytes} bytes`).toBe(bytes >= 24);
      if (accepted) expect(new Webhook(secret).sign('msg_1', new Date(), '{}')).toMatch(/^v1,/);
    }
  });
});

describe('WEBHOOK_RETRY_HOURS', () => {
  const hours = (v?: string): number =>
    loadConfig({ NODE_ENV: 'development', ...(v === undefined ? {} : { WEBHOOK_RETRY_HOURS: v }) }).webhooks
      .retryWindowMs;

  it('defaults to 24 hours and accepts fractions', () => {
    expect(hours()).toBe(86_400_000);
    expect(hours('')).toBe(86_400_000);
    expect(hours('0.5')).toBe(1_800_000);
    expect(hours('0.0005')).toBe(1_800);
    expect(hours('720')).toBe(720 * 3_600_000);
  });

  it.each(['0', '-1', 'abc', '1e3', '721'])('refuses %s with a message naming the variable', (v) => {
    expect(() => hours(v)).toThrow(/WEBHOOK_RETRY_HOURS/);
  });
});

describe('delivery identity and backoff', () => {
  it('derives one webhook-id per (request, version), usable as a BullMQ job id', () => {
    const t = '0b6c1f3e-3b1a-4c59-9d55-7a7f0f3b9a11';
    const a = webhookMessageId(t, '2031-01-01T00:00:00.000Z');
    expect(webhookMessageId(t, '2031-01-01T00:00:00.000Z')).toBe(a);
    expect(webhookMessageId(t, '2031-01-01T00:00:00.001Z')).not.toBe(a);
    expect(webhookMessageId('0b6c1f3e-3b1a-4c59-9d55-7a7f0f3b9a12', '2031-01-01T00:00:00.000Z')).not.toBe(a);
    expect(a).toMatch(/^msg_[A-Za-z0-9_-]+$/);
  });

  it('backs off exponentially with jitter, capped, and never past the end of the window', () => {
    const day = 86_400_000;
    const low = (n: number): number => webhookRetryDelay(n, 5_000, 3_600_000, day, () => 0);
    const high = (n: number): number => webhookRetryDelay(n, 5_000, 3_600_000, day, () => 1);
    expect([1, 2, 3, 4].map(low)).toEqual([2_500, 5_000, 10_000, 20_000]);
    expect([1, 2, 3, 4].map(high)).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(high(30)).toBe(3_600_000);
    expect(low(30)).toBe(1_800_000);
    expect(webhookRetryDelay(30, 5_000, 3_600_000, 1_234.5, () => 1)).toBe(1_235);
    expect(webhookRetryDelay(3, 5_000, 3_600_000, -50, () => 1)).toBe(0);
  });
});
