import { Agent, type Dispatcher, request } from 'undici';
import {
  classifyError,
  IdnRetryableError,
  type IdnOperation,
  type IdnResponseLike,
} from './identitynow.errors';

/** One keep-alive pool for every IdentityNow call: a TLS handshake per call would cost more than it. */
export function createIdnDispatcher(timeoutMs: number): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  });
}

/** IdentityNow's answers are small; a proxy's error page can be huge. Longer bodies are cut. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Reads at most `max` bytes, then drops the rest of the stream (never buffered, never parsed). */
export async function readCapped(
  body: AsyncIterable<Buffer | string> & { destroy(): unknown },
  max: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(b.subarray(0, max - size));
    size += Math.min(b.length, max - size);
    if (size >= max) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface IdnHttpRequest {
  readonly operation: IdnOperation;
  readonly dispatcher: Dispatcher;
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export interface IdnHttpResponse extends IdnResponseLike {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

// Throws only IdnError. An unreadable body still yields a non-2xx answer (its status decides the
// outcome); for a 2xx the body is the result, so it is an error.
export async function sendIdn(req: IdnHttpRequest): Promise<IdnHttpResponse> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal === undefined ? timeout : AbortSignal.any([req.signal, timeout]);
  const ctx = { operation: req.operation, timeoutMs: req.timeoutMs };
  const aborted = (): Error | undefined => {
    if (timeout.aborted) {
      const e = new Error('timeout');
      e.name = 'TimeoutError';
      return e;
    }
    if (req.signal?.aborted === true) {
      const e = new Error('aborted');
      e.name = 'AbortError';
      return e;
    }
    return undefined;
  };
  let res: Dispatcher.ResponseData;
  try {
    res = await request(req.url, {
      dispatcher: req.dispatcher,
      method: req.method,
      headers: req.headers,
      body: req.body ?? null,
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
  } catch (err) {
    throw classifyError(aborted() ?? err, ctx);
  }
  let bodyText: string;
  try {
    bodyText = await readCapped(res.body, MAX_BODY_BYTES);
  } catch (err) {
    if (res.statusCode >= 200 && res.statusCode < 300) throw classifyError(aborted() ?? err, ctx);
    bodyText = '';
  }
  return {
    status: res.statusCode,
    retryAfter: header(res.headers, 'retry-after'),
    headers: res.headers,
    bodyText,
  };
}

/** Parses a 2xx JSON body; an unreadable one is an error of the given ambiguity. */
export function parseJsonBody(res: IdnHttpResponse, operation: IdnOperation, ambiguous: boolean): unknown {
  if (res.bodyText.trim() === '') return {};
  try {
    return JSON.parse(res.bodyText) as unknown;
  } catch {
    throw new IdnRetryableError(
      operation,
      ambiguous,
      `IdentityNow ${res.status}: the answer is not JSON${ambiguous ? '; outcome unknown' : ''}`,
      res.status,
    );
  }
}
