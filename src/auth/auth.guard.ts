import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../common/gateway.errors';
import { ClientRegistry } from '../clients/client-registry.service';
import type { GatewayClient } from '../clients/gateway-client';
import { GatewayTokenService } from './gateway-token.service';

const clients = new WeakMap<object, GatewayClient>();

export function clientOf(request: object): GatewayClient | undefined {
  return clients.get(request);
}

/** Accepts `Authorization: Bearer <client secret>` or `Bearer <token from POST /oauth/token>`. */
@Injectable()
export class ClientAuthGuard implements CanActivate {
  constructor(
    private readonly registry: ClientRegistry,
    private readonly tokens: GatewayTokenService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      throw new UnauthenticatedError([
        'the Authorization header is missing; send "Authorization: Bearer <client secret or token>"',
      ]);
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new UnauthenticatedError(['the Authorization header must be "Bearer <client secret or token>"']);
    }
    const credential = match[1] ?? '';
    const client =
      credential.split('.').length === 3
        ? this.fromToken(credential)
        : this.registry.findBySecret(credential);
    if (client === undefined) {
      throw new UnauthenticatedError([
        'the bearer credential is not valid or has expired; get a new token from POST /oauth/token',
      ]);
    }
    clients.set(request, client);
    return true;
  }

  private fromToken(token: string): GatewayClient | undefined {
    const id = this.tokens.verify(token);
    return id === undefined ? undefined : this.registry.get(id);
  }
}

export const CurrentClient = createParamDecorator((_: unknown, ctx: ExecutionContext): GatewayClient => {
  const client = clientOf(ctx.switchToHttp().getRequest<object>());
  if (client === undefined) throw new UnauthenticatedError(['not authenticated']);
  return client;
});
