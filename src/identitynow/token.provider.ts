import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { classifyResponse, IdnRetryableError } from './identitynow.errors';
import { parseJsonBody, sendIdn } from './identitynow.http';
import { IDN_CONNECTION, IDN_DISPATCHER, type IdnConnection, type IdnDispatcher } from './identitynow.tokens';

export interface TokenRefreshEvent {
  readonly cause: 'initial' | 'expiring' | 'invalidated';
  readonly ok: boolean;
  readonly durationMs: number;
  readonly expiresInSeconds?: number | undefined;
}

export type TokenRefreshListener = (event: TokenRefreshEvent) => void;

interface CachedToken {
  readonly token: string;
  readonly useUntil: number;
}

const MAX_REFRESH_MARGIN_MS = 60_000;

/** A token must not expire between fetch and use: a tenth of its lifetime early, at most a minute. */
function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(MAX_REFRESH_MARGIN_MS, Math.floor(lifetimeMs / 10));
}

// Client-credentials tokens of a PAT, cached, fetched single-flight, not counted in the budget: see
// docs/architecture.md, "IdentityNow client and the global budget" (Tokens).
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

  get refreshCount(): number {
    return this.refreshes;
  }

  onRefresh(listener: TokenRefreshListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

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

  /** After a 401: forgets the refused token unless a newer one replaced it already. */
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
        // Without expires_in, keep it until a 401 says otherwise rather than guess a lifetime.
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
