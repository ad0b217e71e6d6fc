import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export const TOKEN_TTL_SECONDS = 900;

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * HS256 JWTs for SDK apps, verifiable by any API process. node:crypto, not a JWT library: one fixed
 * algorithm leaves no algorithm negotiation to get wrong, on a synchronous per-request path.
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
