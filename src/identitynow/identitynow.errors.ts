/**
 * The domain outcomes of a call to IdentityNow. Everything that can go wrong upstream ends as one of
 * these classes, decided in ONE place (`classifyResponse` for answers, `classifyError` for exceptions),
 * so the worker reasons about "rate-limited / retryable (ambiguous or not) / permanent / config" and
 * never about raw HTTP. Nothing here knows the status codes of the gateway's own API.
 *
 * Rules (architecture.md, "Upstream outcomes"): 400, 403 and 404 are permanent; 429 and 401 were
 * rejected before processing; a connection refused before sending created nothing; every other
 * failure (5xx, timeout, connection lost after sending) is ambiguous, i.e. IdentityNow may have
 * created the request, so the next attempt must reconcile through the status endpoint first.
 */

export type IdnOperation = 'createAccessRequest' | 'listAccessRequestStatus' | 'token';

/** Only reads are free of side effects: a failed read can never have created anything upstream. */
const SIDE_EFFECT_FREE: ReadonlySet<IdnOperation> = new Set(['listAccessRequestStatus', 'token']);

export type IdnErrorKind = 'rate-limited' | 'retryable' | 'permanent' | 'unauthorized' | 'auth-config';

export abstract class IdnError extends Error {
  abstract readonly kind: IdnErrorKind;
  /** Human-readable and safe to store in job data and status bodies (never holds secrets or tokens). */
  readonly reason: string;
  constructor(
    readonly operation: IdnOperation,
    reason: string,
    /** IdentityNow's HTTP status, when an answer arrived. */
    readonly status?: number,
  ) {
    super(reason);
    this.reason = reason;
    this.name = new.target.name;
  }
}

/** 429: nothing was processed. The caller waits `retryAfterMs` without consuming an attempt. */
export class IdnRateLimitedError extends IdnError {
  readonly kind = 'rate-limited';
  constructor(
    operation: IdnOperation,
    readonly retryAfterMs: number,
    reason: string,
    status: number | undefined = 429,
  ) {
    super(operation, reason, status);
  }
}

/**
 * A failure worth retrying with backoff. `ambiguous` is true when IdentityNow may have acted on the
 * request (5xx, timeout, connection lost after sending): the next attempt must reconcile first.
 */
export class IdnRetryableError extends IdnError {
  readonly kind = 'retryable';
  constructor(
    operation: IdnOperation,
    readonly ambiguous: boolean,
    reason: string,
    status?: number,
  ) {
    super(operation, reason, status);
  }
}

/** 400/403/404 (and other 4xx): retrying the same request cannot succeed. One call, no status read. */
export class IdnPermanentError extends IdnError {
  readonly kind = 'permanent';
  constructor(operation: IdnOperation, status: number, reason: string) {
    super(operation, reason, status);
  }
}

/**
 * A 401 on an API call: the token was refused before processing. The client reacts by refreshing the
 * token once and retrying once; it never escapes the client (a second 401 becomes IdnAuthConfigError).
 */
export class IdnUnauthorizedError extends IdnError {
  readonly kind = 'unauthorized';
  constructor(operation: IdnOperation, reason: string) {
    super(operation, reason, 401);
  }
}

/** The credentials or token endpoint are wrong: a configuration problem, permanent until fixed. */
export class IdnAuthConfigError extends IdnError {
  readonly kind = 'auth-config';
}

// ---------------------------------------------------------------------------------------------------
// Retry-After

/** When a 429 carries no usable Retry-After (undocumented but possible), wait this long. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/**
 * Upper bound for one pause. A garbage HTTP-date years ahead would otherwise stop every process
 * forever; ten minutes is far beyond IdentityNow's 10-second windows.
 */
export const MAX_RETRY_AFTER_MS = 600_000;

/**
 * Parses `Retry-After` as delta-seconds (`"5"`, tolerantly `"1.5"`) or an HTTP-date (RFC 9110 §10.2.3).
 * Returns milliseconds to wait from `nowMs`, clamped to [0, MAX_RETRY_AFTER_MS]; undefined when absent
 * or unparseable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) {
    ms = Math.ceil(Number(v) * 1000);
  } else {
    // HTTP-date has a day name and "GMT"; a bare number-like string is rejected above.
    const at = Date.parse(v);
    if (!Number.isFinite(at) || !/[a-z]/i.test(v)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

// ---------------------------------------------------------------------------------------------------
// Safe reasons

const MAX_REASON_CHARS = 600;

/**
 * Removes anything token-like before text leaves the client: bearer credentials, JWTs, and
 * `client_secret=`/`access_token` values. IdentityNow has no reason to echo such things, but reasons
 * end up in job data and status bodies, so we do not rely on that.
 */
export function redact(text: string): string {
  return text
    .replace(/\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi, 'Bearer [redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted-jwt]')
    .replace(
      /\b(client_secret|access_token|refresh_token|password)(["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi,
      '$1$2[redacted]',
    );
}

function clip(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= MAX_REASON_CHARS ? t : `${t.slice(0, MAX_REASON_CHARS - 1)}…`;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function messageTexts(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((m) => {
    const text = asRecord(m)?.text;
    return typeof text === 'string' && text.trim() !== '' ? [text.trim()] : [];
  });
}

/**
 * What IdentityNow said, as one line: ErrorResponseDto `messages[].text` and `causes[].text`
 * (400/403/404/500), else the 401 shape `{ error }`, the 429 shape `{ message }`, OAuth's
 * `{ error, error_description }`, or a short slice of a non-JSON body.
 */
export function upstreamMessage(bodyText: string): string {
  const raw = bodyText.trim();
  if (raw === '') return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // HTML error pages from proxies are noise beyond their first words.
    return clip(redact(raw.replace(/<[^>]*>/g, ' ')).slice(0, 200));
  }
  const o = asRecord(parsed);
  if (o === undefined) return '';
  const parts = [...messageTexts(o.messages), ...messageTexts(o.causes)];
  if (parts.length === 0) {
    for (const key of ['error_description', 'error', 'message', 'detailCode'] as const) {
      const v = o[key];
      if (typeof v === 'string' && v.trim() !== '') parts.push(v.trim());
    }
  }
  return clip(redact([...new Set(parts)].join('; ')));
}

// ---------------------------------------------------------------------------------------------------
// Classification

export interface IdnResponseLike {
  readonly status: number;
  /** Header lookup by lower-case name. */
  readonly retryAfter?: string | undefined;
  readonly bodyText: string;
}

export interface ClassifyContext {
  readonly operation: IdnOperation;
  readonly nowMs?: number;
}

const PAT_HINT =
  'the token lacks user context or permission: creating access requests needs a token minted from a ' +
  'Personal Access Token (PAT) of a user with ORG_ADMIN (scopes idn:access-request:manage and ' +
  'idn:access-request-status:read, or sp:scopes:all); tokens of API clients without a user ' +
  '("API authority" / plain client credentials) are refused. Check IDN_CLIENT_ID/IDN_CLIENT_SECRET';

function withUpstream(prefix: string, said: string): string {
  return said === '' ? prefix : `${prefix}. IdentityNow said: ${said}`;
}

/**
 * The one place that turns an IdentityNow answer into an outcome. Returns undefined for 2xx (the caller
 * parses the body), otherwise the error to throw. The token endpoint is classified too
 * (`operation: 'token'`): its 400/401/403 mean bad credentials, i.e. a configuration error.
 */
export function classifyResponse(res: IdnResponseLike, ctx: ClassifyContext): IdnError | undefined {
  const { status } = res;
  const op = ctx.operation;
  if (status >= 200 && status < 300) return undefined;
  const said = upstreamMessage(res.bodyText);

  if (status === 429) {
    const retryAfterMs = parseRetryAfter(res.retryAfter, ctx.nowMs) ?? DEFAULT_RETRY_AFTER_MS;
    return new IdnRateLimitedError(
      op,
      retryAfterMs,
      withUpstream(`IdentityNow 429: rate limited, retry after ${retryAfterMs} ms`, said),
    );
  }
  if (op === 'token') {
    if (status === 400 || status === 401 || status === 403) {
      return new IdnAuthConfigError(
        op,
        withUpstream(
          `IdentityNow token endpoint ${status}: the client credentials were refused; check IDN_CLIENT_ID, ` +
            'IDN_CLIENT_SECRET and IDN_TOKEN_URL',
          said,
        ),
        status,
      );
    }
    // No access request was sent while fetching a token, so nothing can have been created.
    return new IdnRetryableError(
      op,
      false,
      withUpstream(`IdentityNow token endpoint ${status}`, said),
      status,
    );
  }
  if (status === 401) {
    return new IdnUnauthorizedError(op, withUpstream('IdentityNow 401: the token was refused', said));
  }
  if (status === 403) {
    return new IdnPermanentError(op, status, withUpstream(`IdentityNow 403: ${PAT_HINT}`, said));
  }
  if (status === 408) {
    // A server-side request timeout: whether it was processed is unknown.
    return new IdnRetryableError(
      op,
      !SIDE_EFFECT_FREE.has(op),
      withUpstream('IdentityNow 408: timeout', said),
      status,
    );
  }
  if (status >= 400 && status < 500) {
    return new IdnPermanentError(op, status, withUpstream(`IdentityNow ${status}`, said));
  }
  // 5xx (and anything unexpected such as 3xx): unknown whether IdentityNow acted on it.
  return new IdnRetryableError(
    op,
    !SIDE_EFFECT_FREE.has(op),
    withUpstream(`IdentityNow ${status}`, said),
    status,
  );
}

/** Network error codes that prove the request never left this machine. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let e: unknown = err;
  // undici sometimes wraps the socket error in `cause`.
  while (e !== undefined && e !== null && !seen.has(e)) {
    seen.add(e);
    const r = asRecord(e);
    if (r === undefined) return undefined;
    if (typeof r.code === 'string' && r.code !== '') return r.code;
    e = r.cause;
  }
  return undefined;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

/**
 * The one place that turns an exception thrown while talking to IdentityNow into an outcome.
 * `sent` says whether the request may have reached the wire: errors before that (building the
 * request, a refused connection) create nothing upstream. Unknown errors count as ambiguous: a
 * wrong "not created" would submit twice, a wrong "maybe created" costs one status read.
 */
export function classifyError(
  err: unknown,
  ctx: ClassifyContext & { readonly timeoutMs?: number },
): IdnError {
  if (err instanceof IdnError) return err;
  const op = ctx.operation;
  const sideEffects = !SIDE_EFFECT_FREE.has(op);
  const code = errorCode(err);
  const name = errorName(err);
  const target = op === 'token' ? 'IdentityNow token endpoint' : 'IdentityNow';

  if (code !== undefined && NOT_SENT_CODES.has(code)) {
    return new IdnRetryableError(op, false, `${target} unreachable (${code}); nothing was sent`);
  }
  if ((code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError') {
    const after = ctx.timeoutMs === undefined ? '' : ` after ${ctx.timeoutMs} ms`;
    return new IdnRetryableError(
      op,
      sideEffects,
      `${target} did not answer${after} (timeout${code === undefined ? '' : `, ${code}`}); outcome unknown`,
    );
  }
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') {
    return new IdnRetryableError(op, sideEffects, `${target} call aborted while in flight; outcome unknown`);
  }
  const detail = redact(err instanceof Error ? err.message : String(err)).slice(0, 200);
  return new IdnRetryableError(
    op,
    sideEffects,
    `${target} connection failed${code === undefined ? '' : ` (${code})`}: ${detail}; outcome unknown`,
  );
}
