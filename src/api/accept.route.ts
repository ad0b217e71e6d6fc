import type { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { ClientAuthGuard } from '../auth/auth.guard';
import type { GatewayClient } from '../clients/gateway-client';
import { sendError } from '../common/http-exception.filter';
import type { AcceptResult, AccessRequestsService } from './access-requests.service';

export const ACCEPT_ROUTE = { method: 'POST', url: '/v3/access-requests' } as const;

export interface AcceptRouteDeps {
  /** The controller's guard instance: the same credentials, throttling and 401/429 answers. */
  readonly guard: ClientAuthGuard;
  readonly service: AccessRequestsService;
  readonly bodyLimitBytes: number;
  readonly logger: Pick<Logger, 'error'>;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function send(reply: FastifyReply, result: AcceptResult): void {
  const body = result.body as { statusUrl?: unknown };
  void reply.code(result.status);
  if (typeof body.statusUrl === 'string') void reply.header('location', body.statusUrl);
  if (result.replayed) void reply.header('idempotent-replayed', 'true');
  void reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(result.body));
}

/**
 * POST /v3/access-requests as a plain Fastify handler (Nest's plumbing cost a few %, docs/benchmarks.md).
 * It replaces the controller's route (kept for OpenAPI), using the same guard, service and error mapping.
 */
export function installAcceptRoute(fastify: FastifyInstance, deps: AcceptRouteDeps): void {
  const { guard, service, bodyLimitBytes, logger } = deps;
  const fail = (request: FastifyRequest, reply: FastifyReply, e: unknown): void => {
    sendError(reply, request, e, bodyLimitBytes, logger);
  };
  const accept = (request: FastifyRequest, reply: FastifyReply, client: GatewayClient): void => {
    service
      .accept({
        client,
        body: request.body,
        contentType: request.headers['content-type'],
        idempotencyKey: header(request, 'idempotency-key'),
        requestId: request.id,
        traceparent: header(request, 'traceparent'),
      })
      .then(
        (result) => {
          send(reply, result);
        },
        (e: unknown) => {
          fail(request, reply, e);
        },
      );
  };
  // Callback style: returning undefined lets Fastify skip its promise handling for the handler.
  const handler = (request: FastifyRequest, reply: FastifyReply): void => {
    let client: GatewayClient | Promise<never>;
    try {
      client = guard.check(request);
    } catch (e) {
      fail(request, reply, e);
      return;
    }
    if (client instanceof Promise) {
      client.catch((e: unknown) => {
        fail(request, reply, e);
      });
      return;
    }
    accept(request, reply, client);
  };
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (route.method === ACCEPT_ROUTE.method && route.url === ACCEPT_ROUTE.url) route.handler = handler;
  });
}
