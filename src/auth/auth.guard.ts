import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthThrottledError, UnauthenticatedError } from '../common/gateway.errors';
import { ClientRegistry } from '../clients/client-registry.service';
import type { GatewayClient } from '../clients/gateway-client';
import { AuthThrottleService } from './auth-throttle.service';
import { GatewayTokenService } from './gateway-token.service';

const clients = new WeakMap<object, GatewayClient>();

export function clientOf(request: object): GatewayClient | undefined {
  return clients.get(request);
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Client secret or gateway token; success stays synchronous, only failures go to Redis. */
@Injectable()
export class ClientAuthGuard implements CanActivate {
  constructor(
    private readonly registry: ClientRegistry,
    private readonly tokens: GatewayTokenService,
    private readonly throttle: AuthThrottleService,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const client = this.check(request);
    return client instanceof Promise ? client : true;
  }

  /** The whole decision, shared with accept.route.ts (which runs outside Nest). */
  check(request: FastifyRequest): GatewayClient | Promise<never> {
    const wait = this.throttle.retryAfter(request);
    if (wait !== undefined) throw new AuthThrottledError(wait);
    const header = request.headers.authorization;
    // No credential at all is not a guess, so it is not counted.
    if (header === undefined || header === '') {
      throw new UnauthenticatedError([
        'the Authorization header is missing; send "Authorization: Bearer <client secret or token>"',
      ]);
    }
    const credential = BEARER.exec(header)?.[1];
    if (credential === undefined) {
      return this.refuse(request, 'the Authorization header must be "Bearer <client secret or token>"');
    }
    const client = this.authenticate(credential);
    if (client === undefined) {
      return this.refuse(
        request,
        'the bearer credential is not valid or has expired; get a new token from POST /oauth/token',
      );
    }
    clients.set(request, client);
    return client;
  }

  /** A token only when it verifies as one of ours and its secret is still the client's; else a secret. */
  private authenticate(credential: string): GatewayClient | undefined {
    const claims = this.tokens.verify(credential);
    if (claims !== undefined) {
      const client = this.registry.get(claims.sub);
      if (client !== undefined && this.tokens.isBoundTo(claims, client)) return client;
    }
    return this.registry.findBySecret(credential)?.client;
  }

  private async refuse(request: FastifyRequest, text: string): Promise<never> {
    const wait = await this.throttle.failed(request, 'client');
    if (wait !== undefined) throw new AuthThrottledError(wait);
    throw new UnauthenticatedError([text]);
  }
}

export const CurrentClient = createParamDecorator((_: unknown, ctx: ExecutionContext): GatewayClient => {
  const client = clientOf(ctx.switchToHttp().getRequest<FastifyRequest>());
  if (client === undefined) throw new UnauthenticatedError(['not authenticated']);
  return client;
});
