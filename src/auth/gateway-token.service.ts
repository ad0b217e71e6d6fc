import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { GatewayClient } from '../clients/gateway-client';

export const TOKEN_TTL_SECONDS = 900;

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const HEADER_DOT = `${HEADER}.`;

export interface TokenClaims {
  readonly sub: string;
  /** Binds the token to the secret it was issued for (see `secretBinding`). */
  readonly sv: string;
  /** The key that verified it: the signing key (0) or the accepted one (1). */
  readonly key: number;
}

/** HS256 via node:crypto, not a JWT library: one fixed algorithm, nothing to negotiate wrongly. */
@Injectable()
export class GatewayTokenService {
  /** The first signs; every one verifies. */
  private readonly keys: readonly Buffer[];
  private readonly bindings = new WeakMap<GatewayClient, readonly string[][]>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { tokenSigningSecret, acceptedTokenSigningSecret } = config.auth;
    this.keys = [tokenSigningSecret, acceptedTokenSigningSecret]
      .filter((k): k is string => k !== undefined)
      .map((k) => Buffer.from(k, 'utf8'));
  }

  issue(clientId: string, secretSha256: Buffer, nowMs = Date.now()): { token: string; expiresIn: number } {
    const iat = Math.floor(nowMs / 1000);
    const payload = Buffer.from(
      JSON.stringify({
        sub: clientId,
        sv: this.secretBinding(0, secretSha256),
        iat,
        exp: iat + TOKEN_TTL_SECONDS,
        iss: 'access-request-gateway',
      }),
    ).toString('base64url');
    const signingInput = `${HEADER}.${payload}`;
    return { token: `${signingInput}.${this.sign(0, signingInput)}`, expiresIn: TOKEN_TTL_SECONDS };
  }

  /** The claims of a token this gateway signed and that has not expired; anything else is undefined. */
  verify(token: string, nowMs = Date.now()): TokenClaims | undefined {
    // Every credential is tried as a token first: a client secret is turned away here without a split.
    if (!token.startsWith(HEADER_DOT)) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    const given = Buffer.from(signature);
    const key = this.keys.findIndex((_, i) => {
      const expected = Buffer.from(this.sign(i, `${header}.${payload}`));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (key < 0) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const { sub, sv, exp } = claims;
      if (typeof sub !== 'string' || typeof sv !== 'string' || typeof exp !== 'number') return undefined;
      if (exp * 1000 <= nowMs) return undefined;
      return { sub, sv, key };
    } catch {
      return undefined;
    }
  }

  /** Whether the token's secret is still one of the client's: a rotated or removed secret ends its tokens. */
  isBoundTo(claims: TokenClaims, client: GatewayClient): boolean {
    let perKey = this.bindings.get(client);
    if (perKey === undefined) {
      perKey = this.keys.map((_, i) => client.secretSha256s.map((h) => this.secretBinding(i, h)));
      this.bindings.set(client, perKey);
    }
    return perKey[claims.key]?.includes(claims.sv) ?? false;
  }

  // Keyed, so the token (readable by anyone who holds it) does not carry the secret's plain sha256,
  // which would allow offline guessing of a weak secret.
  private secretBinding(key: number, secretSha256: Buffer): string {
    return this.hmac(key).update('secret-binding:').update(secretSha256).digest('base64url').slice(0, 22);
  }

  private sign(key: number, input: string): string {
    return this.hmac(key).update(input).digest('base64url');
  }

  private hmac(key: number): ReturnType<typeof createHmac> {
    const k = this.keys[key];
    if (k === undefined) throw new Error(`no token key ${key}`);
    return createHmac('sha256', k);
  }
}
