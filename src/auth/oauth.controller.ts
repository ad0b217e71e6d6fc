import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { InvalidRequestError, UnauthenticatedError } from '../common/gateway.errors';
import { ClientRegistry } from '../clients/client-registry.service';
import { GatewayTokenService } from './gateway-token.service';

type Params = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** IdentityNow's token endpoint, so SailPoint's SDK works against the gateway unchanged. */
@ApiTags('auth')
@Controller('oauth')
export class OAuthController {
  constructor(
    private readonly registry: ClientRegistry,
    private readonly tokens: GatewayTokenService,
  ) {}

  @Post('token')
  @HttpCode(200)
  @ApiOperation({ summary: 'client_credentials token (form-encoded body or query string), valid 15 minutes' })
  token(@Req() request: FastifyRequest): {
    access_token: string;
    token_type: 'bearer';
    expires_in: number;
    scope: string;
  } {
    const query = (request.query ?? {}) as Params;
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Params;
    const pick = (k: string): string | undefined => str(body[k]) ?? str(query[k]);
    let clientId = pick('client_id');
    let clientSecret = pick('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (basic !== null && clientId === undefined) {
      const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      const sep = decoded.indexOf(':');
      if (sep > 0) {
        clientId = decodeURIComponent(decoded.slice(0, sep));
        clientSecret = decodeURIComponent(decoded.slice(sep + 1));
      }
    }
    const grantType = pick('grant_type');
    if (grantType !== 'client_credentials') {
      throw new InvalidRequestError([
        `grant_type must be client_credentials (got ${grantType ?? 'nothing'})`,
      ]);
    }
    if (clientId === undefined || clientSecret === undefined) {
      throw new InvalidRequestError([
        'client_id and client_secret are required (form-encoded body or query string)',
      ]);
    }
    const client = this.registry.authenticate(clientId, clientSecret);
    if (client === undefined) throw new UnauthenticatedError(['client_id or client_secret is wrong']);
    const { token, expiresIn } = this.tokens.issue(client.id);
    return { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: 'access-requests' };
  }
}
