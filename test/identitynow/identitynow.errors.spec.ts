import { describe, expect, it } from 'vitest';
import {
  classifyError,
  classifyResponse,
  DEFAULT_RETRY_AFTER_MS,
  IdnAuthConfigError,
  IdnPermanentError,
  IdnRateLimitedError,
  IdnRetryableError,
  IdnUnauthorizedError,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  redact,
  upstreamMessage,
} from '../../src/identitynow/identitynow.errors';

function retryable(e: unknown): IdnRetryableError {
  expect(e).toBeInstanceOf(IdnRetryableError);
  if (!(e instanceof IdnRetryableError)) throw new Error('not retryable');
  return e;
}

const dto = (status: string, ...texts: string[]): string =>
  JSON.stringify({
    detailCode: status,
    trackingId: 'b21b1f7ce4da4d639f2c62a57171b427',
    messages: texts.map((text) => ({ locale: 'en-US', localeOrigin: 'DEFAULT', text })),
    causes: [],
  });

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });
  it('reads an HTTP-date relative to now, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });
  it('clamps absurd values and rejects garbage', () => {
    expect(parseRetryAfter('999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('classifyResponse', () => {
  const op = { operation: 'createAccessRequest' } as const;

  it('2xx is no error', () => {
    expect(classifyResponse({ status: 202, bodyText: '{}' }, op)).toBeUndefined();
  });

  it('429 → rate-limited with Retry-After seconds or default', () => {
    const e = classifyResponse(
      { status: 429, retryAfter: '3', bodyText: '{"message":" Rate Limit Exceeded "}' },
      op,
    );
    expect(e).toBeInstanceOf(IdnRateLimitedError);
    expect((e as IdnRateLimitedError).retryAfterMs).toBe(3000);
    expect(e?.reason).toContain('Rate Limit Exceeded');
    const d = classifyResponse({ status: 429, bodyText: '' }, op) as IdnRateLimitedError;
    expect(d.retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
  });

  it('400 and 404 → permanent with IdentityNow message text', () => {
    const e = classifyResponse(
      { status: 400, bodyText: dto('400.1 Bad Request Content', 'requestedItems: at most 25 entitlements') },
      op,
    );
    expect(e).toBeInstanceOf(IdnPermanentError);
    expect(e?.status).toBe(400);
    expect(e?.reason).toBe('IdentityNow 400. IdentityNow said: requestedItems: at most 25 entitlements');
    const n = classifyResponse({ status: 404, bodyText: dto('404 Not found', 'no such thing') }, op);
    expect(n).toBeInstanceOf(IdnPermanentError);
    expect(n?.reason).toContain('no such thing');
  });

  it('403 → permanent naming the PAT / user-context requirement', () => {
    const e = classifyResponse(
      { status: 403, bodyText: dto('403 Forbidden', 'API authority not allowed') },
      op,
    );
    expect(e).toBeInstanceOf(IdnPermanentError);
    expect(e?.reason).toMatch(/user context/);
    expect(e?.reason).toMatch(/Personal Access Token \(PAT\)/);
    expect(e?.reason).toContain('API authority not allowed');
  });

  it('401 → unauthorized (refresh and retry); on the token endpoint → auth config', () => {
    const e = classifyResponse(
      { status: 401, bodyText: '{"error":"JWT validation failed: JWT is expired"}' },
      op,
    );
    expect(e).toBeInstanceOf(IdnUnauthorizedError);
    expect(e?.reason).toContain('JWT is expired');
    const t = classifyResponse(
      { status: 401, bodyText: '{"error":"invalid_client","error_description":"Bad credentials"}' },
      { operation: 'token' },
    );
    expect(t).toBeInstanceOf(IdnAuthConfigError);
    expect(t?.reason).toContain('Bad credentials');
  });

  it('5xx → retryable; ambiguous for a submit, not for a read or token call', () => {
    const e = classifyResponse({ status: 503, bodyText: '<html><h1>Service Unavailable</h1></html>' }, op);
    expect(e).toBeInstanceOf(IdnRetryableError);
    expect((e as IdnRetryableError).ambiguous).toBe(true);
    expect(e?.reason).toContain('Service Unavailable');
    const r = classifyResponse(
      { status: 500, bodyText: dto('500.0 Internal Fault', 'oops') },
      {
        operation: 'listAccessRequestStatus',
      },
    ) as IdnRetryableError;
    expect(r.ambiguous).toBe(false);
    const t = classifyResponse({ status: 502, bodyText: '' }, { operation: 'token' }) as IdnRetryableError;
    expect(t).toBeInstanceOf(IdnRetryableError);
    expect(t.ambiguous).toBe(false);
  });

  it('never puts tokens or secrets into reasons', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const e = classifyResponse(
      { status: 400, bodyText: dto('400', `bad header Bearer ${jwt}`, 'client_secret=hunter2 rejected') },
      op,
    );
    expect(e?.reason).not.toContain(jwt);
    expect(e?.reason).not.toContain('hunter2');
    expect(redact(`token ${jwt} end`)).toBe('token [redacted-jwt] end');
    expect(upstreamMessage('{"access_token":"abc.def"}')).toBe('');
  });
});

describe('classifyError', () => {
  const sub = { operation: 'createAccessRequest' } as const;
  const withCode = (code: string): Error => Object.assign(new Error(`x ${code}`), { code });

  it('refused before sending → retryable, not ambiguous', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT']) {
      const e = retryable(classifyError(withCode(code), sub));
      expect(e).toBeInstanceOf(IdnRetryableError);
      expect(e.ambiguous).toBe(false);
    }
    // undici sometimes wraps the socket error
    const wrapped = classifyError(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }), sub);
    expect(retryable(wrapped).ambiguous).toBe(false);
  });

  it('lost after sending or timed out → ambiguous for a submit', () => {
    for (const code of [
      'ECONNRESET',
      'UND_ERR_SOCKET',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
      'EPIPE',
    ]) {
      const e = retryable(classifyError(withCode(code), sub));
      expect(e.ambiguous).toBe(true);
    }
    const t = new Error('t');
    t.name = 'TimeoutError';
    expect(retryable(classifyError(t, { ...sub, timeoutMs: 50 })).reason).toContain('after 50 ms');
    expect(retryable(classifyError(new Error('???'), sub)).ambiguous).toBe(true);
    expect(
      retryable(classifyError(withCode('ECONNRESET'), { operation: 'listAccessRequestStatus' })).ambiguous,
    ).toBe(false);
  });

  it('passes domain errors through unchanged', () => {
    const p = new IdnPermanentError('createAccessRequest', 400, 'IdentityNow 400');
    expect(classifyError(p, sub)).toBe(p);
  });
});
