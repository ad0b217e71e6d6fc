import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  classifyError,
  classifyResponse,
  IdnAuthConfigError,
  IdnError,
  type IdnErrorKind,
  type IdnOperation,
  IdnRateLimitedError,
  IdnRetryableError,
  IdnUnauthorizedError,
} from './identitynow.errors';
import { type IdnHttpResponse, parseJsonBody, sendIdn } from './identitynow.http';
import { IDN_CONNECTION, IDN_DISPATCHER, type IdnConnection, type IdnDispatcher } from './identitynow.tokens';
import type {
  IdnAccessRequest,
  IdnAccessRequestResponse,
  IdnAccessRequestStatusQuery,
  IdnAccessRequestTracking,
  IdnRequestedItemStatus,
} from './identitynow.types';
import { type AcquireResult, RateLimiterService } from './rate-limiter.service';
import { TokenProvider } from './token.provider';

export type IdnStatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'network';

/** One HTTP exchange: a 401 and its retry are two. */
export interface IdnCallEvent {
  readonly operation: Exclude<IdnOperation, 'token'>;
  readonly outcome: 'ok' | IdnErrorKind;
  readonly status: number | undefined;
  readonly statusClass: IdnStatusClass;
  readonly durationMs: number;
  readonly attempt: number;
  readonly retryAfterMs?: number | undefined;
}

export type IdnCallListener = (event: IdnCallEvent) => void;

export interface IdnCallOptions {
  /** Aborting while the call is out makes its outcome ambiguous. */
  readonly signal?: AbortSignal;
  /** Runs after the budget and the token, right before the request leaves; throwing sends nothing. */
  readonly beforeSend?: () => Promise<void>;
  /** A budget unit the caller already holds (a scheduler that fills a call at the moment of its grant). */
  readonly grant?: AcquireResult;
}

function statusClass(status: number | undefined): IdnStatusClass {
  if (status === undefined) return 'network';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

function trackingList(v: unknown): IdnAccessRequestTracking[] {
  return Array.isArray(v)
    ? v.filter((x): x is IdnAccessRequestTracking => typeof x === 'object' && x !== null)
    : [];
}

// The only code that speaks IdentityNow HTTP (see docs/architecture.md, "IdentityNow client and the
// global budget"). Throws only IdnError or the caller's abort reason, never with a token or secret.
@Injectable()
export class IdentityNowClient implements OnApplicationShutdown {
  private readonly logger = new Logger('IdentityNowClient');
  private readonly listeners = new Set<IdnCallListener>();
  private readonly baseUrl: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(IDN_CONNECTION) connection: IdnConnection,
    @Inject(IDN_DISPATCHER) private readonly dispatcher: IdnDispatcher,
    @Inject(TokenProvider) private readonly tokens: TokenProvider,
    @Inject(RateLimiterService) private readonly limiter: RateLimiterService,
  ) {
    this.baseUrl = connection.baseUrl.replace(/\/+$/, '');
  }

  onCall(listener: IdnCallListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** A 2xx whose body cannot be read is ambiguous: the request may well have been created. */
  async createAccessRequest(
    body: IdnAccessRequest,
    opts: IdnCallOptions = {},
  ): Promise<IdnAccessRequestResponse> {
    const res = await this.call(
      'createAccessRequest',
      'POST',
      '/v3/access-requests',
      JSON.stringify(body),
      opts,
    );
    const parsed = parseJsonBody(res, 'createAccessRequest', true);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new IdnRetryableError(
        'createAccessRequest',
        true,
        `IdentityNow ${res.status}: unexpected answer shape; outcome unknown`,
        res.status,
      );
    }
    const o = parsed as { newRequests?: unknown; existingRequests?: unknown };
    return { newRequests: trackingList(o.newRequests), existingRequests: trackingList(o.existingRequests) };
  }

  async listAccessRequestStatus(
    query: IdnAccessRequestStatusQuery,
    opts: IdnCallOptions = {},
  ): Promise<IdnRequestedItemStatus[]> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query) as [string, string | number | boolean | undefined][]) {
      if (v !== undefined) qs.set(k, String(v));
    }
    const q = qs.toString();
    const res = await this.call(
      'listAccessRequestStatus',
      'GET',
      `/v3/access-request-status${q === '' ? '' : `?${q}`}`,
      undefined,
      opts,
    );
    const parsed = parseJsonBody(res, 'listAccessRequestStatus', false);
    if (!Array.isArray(parsed)) {
      throw new IdnRetryableError(
        'listAccessRequestStatus',
        false,
        `IdentityNow ${res.status}: expected an array of request statuses`,
        res.status,
      );
    }
    return parsed.filter((x): x is IdnRequestedItemStatus => typeof x === 'object' && x !== null);
  }

  /** `POST /v3/access-requests/cancel`: only while IdentityNow still allows it (before approval completes). */
  async cancelAccessRequest(
    body: { readonly accountActivityId: string; readonly comment: string },
    opts: IdnCallOptions = {},
  ): Promise<void> {
    await this.call('cancelAccessRequest', 'POST', '/v3/access-requests/cancel', JSON.stringify(body), opts);
  }

  // Not onModuleDestroy: Nest runs it before the worker stops taking jobs, which would then fail
  // after writing their in-flight mark (an attempt and a reconciliation each).
  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close();
  }

  private async call(
    operation: Exclude<IdnOperation, 'token'>,
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    opts: IdnCallOptions,
  ): Promise<IdnHttpResponse> {
    try {
      for (let attempt = 0; ; attempt += 1) {
        // Token before budget: a token fetch between grant and send would make the call arrive later
        // than counted. The second getToken() is a cache hit unless the token expired meanwhile.
        await this.tokens.getToken();
        const grant =
          attempt === 0 && opts.grant !== undefined
            ? opts.grant
            : await this.limiter.acquire(opts.signal, operation);
        let res: IdnHttpResponse | undefined;
        let problem: IdnError | undefined;
        let token: string;
        let sent = false;
        try {
          token = await this.tokens.getToken();
          await opts.beforeSend?.();
          sent = true;
          const started = Date.now();
          try {
            res = await sendIdn({
              operation,
              dispatcher: this.dispatcher,
              url: `${this.baseUrl}${path}`,
              method,
              headers: {
                authorization: `Bearer ${token}`,
                accept: 'application/json',
                ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              },
              body,
              timeoutMs: this.config.idn.timeoutMs,
              signal: opts.signal,
            });
            problem = classifyResponse(res, { operation });
          } catch (err) {
            problem = classifyError(err, { operation, timeoutMs: this.config.idn.timeoutMs });
          }
          this.emit({
            operation,
            outcome: problem?.kind ?? 'ok',
            status: res?.status,
            statusClass: statusClass(res?.status),
            durationMs: Date.now() - started,
            attempt,
            retryAfterMs: problem instanceof IdnRateLimitedError ? problem.retryAfterMs : undefined,
          });
        } finally {
          // A unit whose call never left (the send hook or the token refused) is given back.
          await (sent ? this.limiter.complete(grant) : this.limiter.release(grant));
        }
        if (problem === undefined && res !== undefined) return res;
        if (problem instanceof IdnUnauthorizedError) {
          if (attempt === 0) {
            // Rejected before processing: safe to retry once with a fresh token.
            this.tokens.invalidate(token);
            continue;
          }
          throw new IdnAuthConfigError(
            operation,
            `${problem.reason}; refused again after a token refresh: check that IDN_CLIENT_ID/IDN_CLIENT_SECRET ` +
              'belong to a valid, unexpired Personal Access Token and IDN_TOKEN_URL to the same tenant',
            401,
          );
        }
        throw problem ?? new IdnRetryableError(operation, false, 'IdentityNow call produced no answer');
      }
    } catch (err) {
      if (err instanceof IdnRateLimitedError && err.status !== undefined) {
        // A real 429 (from the API or the token endpoint): hold every process back, not just this call.
        try {
          await this.limiter.pauseFor(err.retryAfterMs);
          this.logger.warn(`${operation}: ${err.reason}; all IdentityNow calls paused`);
        } catch (redisErr) {
          // The 429 is still the outcome; the caller waits Retry-After itself.
          this.logger.warn(
            `${operation}: could not set the global pause: ${redisErr instanceof Error ? redisErr.message : 'unknown'}`,
          );
        }
      } else if (err instanceof IdnAuthConfigError) {
        this.logger.error(`${operation}: ${err.reason}`);
      }
      throw err;
    }
  }

  private emit(event: IdnCallEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // An observer (metrics) must never change the outcome of a call.
      }
    }
  }
}
