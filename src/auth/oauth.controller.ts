import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AuthThrottledError, InvalidRequestError, UnauthenticatedError } from '../common/gateway.errors';
import { ClientRegistry } from '../clients/client-registry.service';
import { AuthThrottleService } from './auth-throttle.service';
import { GatewayTokenService } from './gateway-token.service';

type Params = Record<string, unknown>;

/** A credential the caller sent but that cannot be read: a 401 like a wrong one, never a 500. */
class MalformedCredentials extends Error {}

interface Credentials {
  clientId: string | undefined;
  clientSecret: string | undefined;
}

/** Form, multipart or query field; an array (a repeated field) or an object is malformed. */
function field(body: Params, query: Params, name: string): string | undefined {
  const v = body[name] ?? query[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new MalformedCredentials(`${name} must be given once, as text`);
  return v;
}

/** RFC 6749 §2.3.1: Basic with the id and secret form-urlencoded before base64. */
function basicCredentials(authorization: string | undefined): Credentials | undefined {
  if (authorization === undefined || !/^Basic(\s|$)/i.test(authorization)) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization);
  if (m === null) throw new MalformedCredentials('the Basic credentials are not base64');
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  if (sep <= 0) throw new MalformedCredentials('the Basic credentials must be "client_id:client_secret"');
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, sep)),
      clientSecret: decodeURIComponent(decoded.slice(sep + 1)),
    };
  } catch {
    throw new MalformedCredentials('the Basic credentials are not valid form-urlencoded text');
  }
}

/** IdentityNow's token endpoint, so SailPoint's SDK works against the gateway unchanged. */
@ApiTags('auth')
@Controller('oauth')
export class OAuthController {
  constructor(
    private readonly registry: ClientRegistry,
    private readonly tokens: GatewayTokenService,
    private readonly throttle: AuthThrottleService,
  ) {}

  @Post('token')
  @HttpCode(200)
  @ApiOperation({ summary: 'client_credentials token (form-encoded body or query string), valid 15 minutes' })
  async token(@Req() request: FastifyRequest): Promise<{
    access_token: string;
    token_type: 'bearer';
    expires_in: number;
    scope: string;
  }> {
    const wait = this.throttle.retryAfter(request);
    if (wait !== undefined) throw new AuthThrottledError(wait);
    const query = (
      typeof request.query === 'object' && request.query !== null ? request.query : {}
    ) as Params;
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Params;
    let credentials: Credentials;
    let grantType: unknown;
    try {
      credentials = {
        clientId: field(body, query, 'client_id'),
        clientSecret: field(body, query, 'client_secret'),
      };
      if (credentials.clientId === undefined) {
        credentials = basicCredentials(request.headers.authorization) ?? credentials;
      }
      grantType = body.grant_type ?? query.grant_type;
    } catch (e) {
      if (e instanceof MalformedCredentials) return this.refuse(request, e.message);
      throw e;
    }
    if (grantType !== 'client_credentials') {
      const got = typeof grantType === 'string' && grantType !== '' ? grantType : 'nothing';
      throw new InvalidRequestError([`grant_type must be client_credentials (got ${got})`]);
    }
    const { clientId, clientSecret } = credentials;
    if (clientId === undefined || clientSecret === undefined) {
      throw new InvalidRequestError([
        'client_id and client_secret are required (form-encoded body or query string)',
      ]);
    }
    const found = this.registry.authenticate(clientId, clientSecret);
    if (found === undefined) return this.refuse(request, 'client_id or client_secret is wrong');
    const { token, expiresIn } = this.tokens.issue(found.client.id, found.secretSha256);
    return { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: 'access-requests' };
  }

  private async refuse(request: FastifyRequest, text: string): Promise<never> {
    const wait = await this.throttle.failed(request, 'token');
    if (wait !== undefined) throw new AuthThrottledError(wait);
    throw new UnauthenticatedError([text]);
  }
}
