import { Agent, type Dispatcher, request } from 'undici';
import { Webhook } from 'standardwebhooks';

/** A status code, or why there was none. */
export type WebhookAnswer =
  { readonly status: number } | { readonly status: 'timeout' | 'network'; readonly error: string };

/** Its own pool: a slow receiver never holds connections that IdentityNow calls need. */
export function createWebhookDispatcher(timeoutMs: number): Agent {
  return new Agent({
    keepAliveTimeout: 10_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  });
}

/**
 * The Standard Webhooks headers; the timestamp is the attempt's, the id the delivery's. One signature
 * per secret, space-separated as the specification allows: a receiver that knows either one verifies.
 */
export function signWebhook(
  secrets: readonly string[],
  id: string,
  body: string,
  now = new Date(),
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(id, now, body)).join(' '),
  };
}

export interface WebhookPost {
  readonly dispatcher: Dispatcher;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** POSTs once: no redirect is followed, and the whole exchange ends after `timeoutMs`. */
export async function postWebhook(post: WebhookPost): Promise<WebhookAnswer> {
  const timeout = AbortSignal.timeout(post.timeoutMs);
  const signal = post.signal === undefined ? timeout : AbortSignal.any([post.signal, timeout]);
  try {
    const res = await request(post.url, {
      dispatcher: post.dispatcher,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'access-request-gateway',
        ...post.headers,
      },
      body: post.body,
      signal,
    });
    // The status is the answer; the body is read only to free the connection.
    await res.body.dump().catch(() => undefined);
    return { status: res.statusCode };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const timedOut = timeout.aborted || UNDICI_TIMEOUTS.has((err as { code?: unknown }).code);
    return { status: timedOut ? 'timeout' : 'network', error: message };
  }
}

const UNDICI_TIMEOUTS = new Set<unknown>([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
