import { randomBytes } from 'node:crypto';

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const DETAIL_CODES: Readonly<Record<number, string>> = {
  400: '400.1 Bad Request Content',
  403: '403 Forbidden',
  404: '404 Not found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  500: '500.0 Internal Fault',
  502: '502.0 Bad Gateway',
  503: '503.0 Service Unavailable',
  504: '504.0 Gateway Timeout',
};

const DEFAULT_TEXT: Readonly<Record<number, string>> = {
  403: 'The server understood the request but refuses to authorize it.',
  404: 'The server did not find a current representation for the target resource.',
  500: 'An internal fault occurred.',
  502: 'Bad gateway.',
  503: 'The service is temporarily unavailable.',
  504: 'The upstream service did not answer in time.',
};

export function errorResponse(status: number, texts: readonly string[]): Record<string, unknown> {
  return {
    detailCode: DETAIL_CODES[status] ?? `${status}`,
    trackingId: randomBytes(16).toString('hex'),
    messages: (texts.length > 0 ? texts : [DEFAULT_TEXT[status] ?? 'Error']).map((text) => ({
      locale: 'en-US',
      localeOrigin: 'DEFAULT',
      text,
    })),
    causes: [],
  };
}

export function errorAnswer(status: number, text?: string, retryAfterSeconds?: number): Answer {
  if (status === 401) return { status, body: { error: text ?? 'JWT validation failed: JWT is expired' } };
  if (status === 429) {
    return {
      status,
      body: { message: ' Rate Limit Exceeded ' },
      headers: { 'retry-after': String(retryAfterSeconds ?? 1) },
    };
  }
  return { status, body: errorResponse(status, text === undefined ? [] : [text]) };
}

// The access-request APIs are `userAuth` only: a token without a user is refused (the gateway needs a PAT).
export function userContextRequired(): Answer {
  return {
    status: 403,
    body: errorResponse(403, [
      'The server understood the request but refuses to authorize it.',
      'The access-request APIs need a user-context token (client credentials of a personal access token); API-authority client credentials are refused.',
    ]),
  };
}

// What an edge proxy sends instead of IdentityNow's JSON: an HTML page, padded to `bytes`.
export function proxyErrorAnswer(status: number, bytes = 2048): Answer {
  const head = `<html><head><title>${status} Error</title></head><body><h1>${status} Error</h1><p>`;
  const tail = '</p></body></html>\n';
  const pad = Math.max(0, bytes - head.length - tail.length);
  return {
    status,
    body: head + 'The upstream server is unavailable. '.repeat(Math.ceil(pad / 36)).slice(0, pad) + tail,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  };
}
