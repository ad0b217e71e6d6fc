import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/** The contract's token lifetime (architecture.md, Contract details). */
export const TOKEN_TTL_SECONDS = 900;

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * Short-lived HS256 JWTs for apps that use SailPoint's SDK (it fetches a token from `/oauth/token`).
 * Signed with TOKEN_SIGNING_SECRET so any API process verifies any other's tokens, across restarts.
 * node:crypto instead of a JWT library: this runs on every request, synchronously, with one fixed
 * algorithm, so there is no algorithm negotiation to get wrong.
 */
@Injectable()
export class GatewayTokenService {
  private readonly key: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.key = Buffer.from(config.auth.tokenSigningSecret, 'utf8');
  }

  issue(clientId: string, nowMs = Date.now()): { token: string; expiresIn: number } {
    const iat = Math.floor(nowMs / 1000);
    const payload = Buffer.from(
      JSON.stringify({ sub: clientId, iat, exp: iat + TOKEN_TTL_SECONDS, iss: 'access-request-gateway' }),
    ).toString('base64url');
    const signingInput = `${HEADER}.${payload}`;
    return { token: `${signingInput}.${this.sign(signingInput)}`, expiresIn: TOKEN_TTL_SECONDS };
  }

  /** The client id the token was issued to, or undefined if it is forged, malformed or expired. */
  verify(token: string, nowMs = Date.now()): string | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    if (header !== HEADER) return undefined;
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        sub?: unknown;
        exp?: unknown;
      };
      if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
      if (claims.exp * 1000 <= nowMs) return undefined;
      return claims.sub;
    } catch {
      return undefined;
    }
  }

  private sign(input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url');
  }
}
