import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { SimClient, SimTokenFormat } from './simulator.types';

export interface IssuedToken {
  readonly accessToken: string;
  readonly client: SimClient;
  readonly identityId: string | null;
  expiresAt: number;
}

export type TokenCheck =
  | { readonly ok: true; readonly token: IssuedToken }
  | { readonly ok: false; readonly error: string; readonly clientId: string | null };

export function defaultIdentityId(clientId: string): string {
  return createHash('sha256').update(`sim-identity/${clientId}`).digest('hex').slice(0, 32);
}

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

// Tokens live in memory only: a restarted simulator answers 401, which a client must handle anyway.
export class SimTokenStore {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly signingKey = randomBytes(32);

  constructor(
    private readonly clients: readonly SimClient[],
    private readonly format: SimTokenFormat,
    private readonly ttlSeconds: number,
  ) {}

  findClient(clientId: string, clientSecret: string): SimClient | undefined {
    const c = this.clients.find((x) => x.clientId === clientId);
    if (c === undefined) return undefined;
    // Compare digests so the comparison time does not depend on how much of the secret matches.
    const a = createHash('sha256').update(c.clientSecret).digest();
    const b = createHash('sha256').update(clientSecret).digest();
    return a.equals(b) ? c : undefined;
  }

  issue(client: SimClient, now: number): { token: IssuedToken; body: Record<string, unknown> } {
    this.prune(now);
    const jti = randomUUID();
    const identityId =
      client.kind === 'pat' ? (client.identityId ?? defaultIdentityId(client.clientId)) : null;
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    const claims: Record<string, unknown> = {
      tenant_id: 'sim-tenant',
      pod: 'sim',
      org: 'sim',
      internal: false,
      client_id: client.clientId,
      scope: ['sp:scopes:all'],
      authorities: client.kind === 'pat' ? ['ORG_ADMIN'] : [],
      strong_auth: false,
      exp,
      jti,
      ...(identityId === null
        ? {}
        : { identity_id: identityId, user_name: client.identityName ?? `sim-user-${client.clientId}` }),
    };
    const accessToken = this.format === 'jwt' ? this.sign(claims) : randomBytes(32).toString('hex');
    const token: IssuedToken = { accessToken, client, identityId, expiresAt: now + this.ttlSeconds * 1000 };
    this.tokens.set(accessToken, token);
    return {
      token,
      body: {
        access_token: accessToken,
        token_type: 'bearer',
        expires_in: this.ttlSeconds,
        scope: 'sp:scopes:all',
        tenant_id: 'sim-tenant',
        pod: 'sim',
        strong_auth_supported: false,
        org: 'sim',
        claims_supported: false,
        ...(identityId === null ? {} : { identity_id: identityId, user_name: claims.user_name }),
        strong_auth: false,
        jti,
      },
    };
  }

  check(authorization: string | undefined, now: number): TokenCheck {
    if (authorization === undefined || authorization.trim() === '') {
      return { ok: false, error: 'Full authentication is required to access this resource', clientId: null };
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (m === null) return { ok: false, error: 'JWT validation failed: invalid JWT format', clientId: null };
    const token = this.tokens.get(m[1] ?? '');
    if (token === undefined) {
      return { ok: false, error: 'JWT validation failed: invalid signature', clientId: null };
    }
    if (token.expiresAt <= now) {
      return { ok: false, error: 'JWT validation failed: JWT is expired', clientId: token.client.clientId };
    }
    return { ok: true, token };
  }

  /** Valid or not: the rate limit counts per client_id. */
  clientIdOf(authorization: string | undefined): string | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return m === null ? null : (this.tokens.get(m[1] ?? '')?.client.clientId ?? null);
  }

  expireAll(now: number): number {
    let n = 0;
    for (const t of this.tokens.values()) {
      if (t.expiresAt > now) {
        t.expiresAt = now;
        n++;
      }
    }
    return n;
  }

  private prune(now: number): void {
    // Keep expired tokens for a while so their calls still say "expired" (and count for their client).
    for (const [k, t] of this.tokens) if (t.expiresAt < now - 3_600_000) this.tokens.delete(k);
  }

  private sign(claims: Record<string, unknown>): string {
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.signingKey).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }
}
