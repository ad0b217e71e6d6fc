// Every upstream failure becomes one of these classes, here and only here: see docs/architecture.md,
// "IdentityNow client and the global budget" (Outcomes).
export type IdnOperation =
  'createAccessRequest' | 'listAccessRequestStatus' | 'cancelAccessRequest' | 'token';

const SIDE_EFFECT_FREE: ReadonlySet<IdnOperation> = new Set(['listAccessRequestStatus', 'token']);

export type IdnErrorKind = 'rate-limited' | 'retryable' | 'permanent' | 'unauthorized' | 'auth-config';

export abstract class IdnError extends Error {
  abstract readonly kind: IdnErrorKind;
  /** Safe to store in job data and status bodies: never holds secrets or tokens. */
  readonly reason: string;
  constructor(
    readonly operation: IdnOperation,
    reason: string,
    readonly status?: number,
  ) {
    super(reason);
    this.reason = reason;
    this.name = new.target.name;
  }
}

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

/** `ambiguous`: IdentityNow may have acted on the request, so the next attempt reconciles first. */
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

export class IdnPermanentError extends IdnError {
  readonly kind = 'permanent';
  constructor(operation: IdnOperation, status: number, reason: string) {
    super(operation, reason, status);
  }
}

/** Never escapes the client: it refreshes the token and retries once, then IdnAuthConfigError. */
export class IdnUnauthorizedError extends IdnError {
  readonly kind = 'unauthorized';
  constructor(operation: IdnOperation, reason: string) {
    super(operation, reason, 401);
  }
}

export class IdnAuthConfigError extends IdnError {
  readonly kind = 'auth-config';
}

export const DEFAULT_RETRY_AFTER_MS = 1_000;
/** A garbage HTTP-date years ahead would otherwise stop every process for good. */
export const MAX_RETRY_AFTER_MS = 600_000;

/** `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `nowMs`, clamped. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) {
    ms = Math.ceil(Number(v) * 1000);
  } else {
    const at = Date.parse(v);
    if (!Number.isFinite(at) || !/[a-z]/i.test(v)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

const MAX_REASON_CHARS = 600;
/** Patterns below run on at most this much text, so no input can make them slow. */
const SCAN_CHARS = 4_096;

/** Reasons end up in job data and status bodies: never trust upstream not to echo a credential. */
export function redact(text: string): string {
  return text
    .slice(0, SCAN_CHARS)
    .replace(/\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi, 'Bearer [redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted-jwt]')
    .replace(
      /\b(client_secret|access_token|refresh_token|password)(["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi,
      '$1$2[redacted]',
    );
}

function clip(text: string): string {
  const t = text.slice(0, SCAN_CHARS).replace(/\s+/g, ' ').trim();
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

/** What IdentityNow said, as one line, from any of its error shapes (ErrorResponseDto, 401, 429, OAuth). */
export function upstreamMessage(bodyText: string): string {
  const raw = bodyText.trim();
  if (raw === '') return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return clip(redact(raw.slice(0, SCAN_CHARS).replace(/<[^>]*>/g, ' ')).slice(0, 200));
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
  return clip(redact([...new Set(parts)].join('; ').slice(0, SCAN_CHARS)));
}

export interface IdnResponseLike {
  readonly status: number;
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

/** The error an answer means, undefined for 2xx. */
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
  return new IdnRetryableError(
    op,
    !SIDE_EFFECT_FREE.has(op),
    withUpstream(`IdentityNow ${status}`, said),
    status,
  );
}

/** These prove the request never left this machine. */
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

/** Unknown errors count as ambiguous: a wrong "not created" would submit twice, the other costs a read. */
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
