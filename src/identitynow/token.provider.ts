import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { classifyResponse, IdnRetryableError } from './identitynow.errors';
import { parseJsonBody, sendIdn } from './identitynow.http';
import { IDN_CONNECTION, IDN_DISPATCHER, type IdnConnection, type IdnDispatcher } from './identitynow.tokens';

export interface TokenRefreshEvent {
  /** Why the token was fetched: none cached yet, the cached one is about to expire, or a 401 said so. */
  readonly cause: 'initial' | 'expiring' | 'invalidated';
  readonly ok: boolean;
  readonly durationMs: number;
  /** The lifetime IdentityNow granted, when the fetch succeeded and said. */
  readonly expiresInSeconds?: number | undefined;
}

export type TokenRefreshListener = (event: TokenRefreshEvent) => void;

interface CachedToken {
  readonly token: string;
  /** Epoch ms after which the token is not used any more (refresh margin already subtracted). */
  readonly useUntil: number;
}

/** Refresh this long before `expires_in` ends: a token must not expire between fetch and use. */
const MAX_REFRESH_MARGIN_MS = 60_000;

function refreshMarginMs(lifetimeMs: number): number {
  // A tenth of the lifetime, at most a minute: 749 s → 60 s early; a 2 s test token → 200 ms early.
  return Math.min(MAX_REFRESH_MARGIN_MS, Math.floor(lifetimeMs / 10));
}

/**
 * OAuth2 client-credentials tokens for IdentityNow (the credentials of a PAT: only a token with user
 * context may create access requests).
 *
 * - Cached until shortly before `expires_in` (measured from when the request was sent, never from a
 *   lifetime assumed here).
 * - Single flight: concurrent callers share the one refresh in progress, so N jobs hitting an expired
 *   token or a 401 together cause exactly one token call.
 * - `invalidate(token)` drops the cached token only if it is still the one that was refused, so the
 *   second of two concurrent 401s reuses the refresh the first one started.
 *
 * Token calls do not go through the global rate limiter: the simulator does not count them and
 * IdentityNow's docs leave it open; a process fetches one roughly every 12 minutes, which the
 * headroom between IDN_RATE_LIMIT_MAX (95) and IdentityNow's 100 absorbs.
 */
@Injectable()
export class TokenProvider {
  private cached: CachedToken | undefined;
  private inFlight: Promise<string> | undefined;
  private invalidated = false;
  private refreshes = 0;
  private readonly listeners = new Set<TokenRefreshListener>();

  constructor(
    @Inject(IDN_CONNECTION) private readonly connection: IdnConnection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(IDN_DISPATCHER) private readonly dispatcher: IdnDispatcher,
  ) {}

  /** Number of token calls made (successful or not). */
  get refreshCount(): number {
    return this.refreshes;
  }

  /** Observe every token call (metrics). Returns an unsubscribe function. */
  onRefresh(listener: TokenRefreshListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** A valid access token, fetching one only when none is cached or it is about to expire. */
  async getToken(): Promise<string> {
    const c = this.cached;
    if (c !== undefined && Date.now() < c.useUntil) return c.token;
    if (this.inFlight !== undefined) return this.inFlight;
    let cause: TokenRefreshEvent['cause'];
    if (this.invalidated) cause = 'invalidated';
    else cause = c === undefined ? 'initial' : 'expiring';
    const p = this.fetchToken(cause).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  /**
   * Called after a 401 with the token that was refused. Forgets it unless a newer token replaced it
   * already (then the caller's retry simply uses the newer one).
   */
  invalidate(token: string): void {
    if (this.cached?.token === token) {
      this.cached = undefined;
      this.invalidated = true;
    }
  }

  private async fetchToken(cause: TokenRefreshEvent['cause']): Promise<string> {
    this.refreshes += 1;
    const sentAt = Date.now();
    let expiresInSeconds: number | undefined;
    try {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.connection.clientId,
        client_secret: this.connection.clientSecret,
      });
      const res = await sendIdn({
        operation: 'token',
        dispatcher: this.dispatcher,
        url: this.connection.tokenUrl,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        timeoutMs: this.config.idn.timeoutMs,
      });
      const problem = classifyResponse(res, { operation: 'token' });
      if (problem !== undefined) throw problem;
      const body = parseJsonBody(res, 'token', false) as { access_token?: unknown; expires_in?: unknown };
      if (typeof body.access_token !== 'string' || body.access_token === '') {
        throw new IdnRetryableError(
          'token',
          false,
          'IdentityNow token endpoint answered without an access_token',
        );
      }
      const token = body.access_token;
      expiresInSeconds = Number(body.expires_in);
      if (!Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
        expiresInSeconds = undefined;
      }
      const lifetimeMs = expiresInSeconds === undefined ? undefined : expiresInSeconds * 1000;
      this.cached = {
        token,
        // Without expires_in there is no lifetime to trust: keep the token until a 401 says otherwise
        // (the client then refreshes once and retries), rather than guessing one.
        useUntil:
          lifetimeMs === undefined
            ? Number.POSITIVE_INFINITY
            : sentAt + lifetimeMs - refreshMarginMs(lifetimeMs),
      };
      this.invalidated = false;
      this.emit({ cause, ok: true, durationMs: Date.now() - sentAt, expiresInSeconds });
      return token;
    } catch (err) {
      this.emit({ cause, ok: false, durationMs: Date.now() - sentAt });
      throw err;
    }
  }

  private emit(event: TokenRefreshEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // An observer (metrics) must never break token refresh.
      }
    }
  }
}
