import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { GatewayClient } from './gateway-client';

export const TOKEN_TTL_SECONDS = 900;

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export interface TokenClaims {
  readonly sub: string;
  /** Binds the token to the secret it was issued for (see `secretBinding`). */
  readonly sv: string;
}

/**
 * HS256 JWTs for SDK apps, verifiable by any API process. node:crypto, not a JWT library: one fixed
 * algorithm leaves no algorithm negotiation to get wrong, on a synchronous per-request path.
 */
@Injectable()
export class GatewayTokenService {
  private readonly key: Buffer;
  private readonly bindings = new WeakMap<GatewayClient, readonly string[]>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.key = Buffer.from(config.auth.tokenSigningSecret, 'utf8');
  }

  issue(clientId: string, secretSha256: Buffer, nowMs = Date.now()): { token: string; expiresIn: number } {
    const iat = Math.floor(nowMs / 1000);
    const payload = Buffer.from(
      JSON.stringify({
        sub: clientId,
        sv: this.secretBinding(secretSha256),
        iat,
        exp: iat + TOKEN_TTL_SECONDS,
        iss: 'access-request-gateway',
      }),
    ).toString('base64url');
    const signingInput = `${HEADER}.${payload}`;
    return { token: `${signingInput}.${this.sign(signingInput)}`, expiresIn: TOKEN_TTL_SECONDS };
  }

  /** The claims of a token this gateway signed and that has not expired; anything else is undefined. */
  verify(token: string, nowMs = Date.now()): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    if (header !== HEADER) return undefined;
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const { sub, sv, exp } = claims;
      if (typeof sub !== 'string' || typeof sv !== 'string' || typeof exp !== 'number') return undefined;
      if (exp * 1000 <= nowMs) return undefined;
      return { sub, sv };
    } catch {
      return undefined;
    }
  }

  /** Whether the token's secret is still one of the client's: a rotated or removed secret ends its tokens. */
  isBoundTo(claims: TokenClaims, client: GatewayClient): boolean {
    let bindings = this.bindings.get(client);
    if (bindings === undefined) {
      bindings = client.secretSha256s.map((h) => this.secretBinding(h));
      this.bindings.set(client, bindings);
    }
    return bindings.includes(claims.sv);
  }

  // Keyed, so the token (readable by anyone who holds it) does not carry the secret's plain sha256,
  // which would allow offline guessing of a weak secret.
  private secretBinding(secretSha256: Buffer): string {
    return createHmac('sha256', this.key)
      .update('secret-binding:')
      .update(secretSha256)
      .digest('base64url')
      .slice(0, 22);
  }

  private sign(input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url');
  }
}
