import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientOf } from '../auth/auth.guard';
import type { MetricsService, RejectionReason } from './metrics.service';
import { type AccessLogLevel, accessLogWriter } from './access-log';
import type { PinoLogger } from './logger';

const ACCESS_REQUESTS_ROUTE = '/v3/access-requests';
/** Probes and scrapes arrive every few seconds; at info level they would drown the real traffic. */
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);

const REASON_BY_STATUS: Record<number, RejectionReason> = {
  400: 'invalid_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'idempotency_in_progress',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  422: 'idempotency_mismatch',
  429: 'quota_exceeded',
  503: 'unavailable',
};

/** A 429 without an authenticated client is the failed-authentication lockout, not a quota. */
export function rejectionReason(status: number, authenticated: boolean): RejectionReason {
  if (status === 429 && !authenticated) return 'auth_throttled';
  return REASON_BY_STATUS[status] ?? (status >= 500 ? 'internal_error' : 'other');
}

/** The route template: ids in raw paths would make a series per request. */
export function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** Path only: the query string may carry credentials (`/oauth/token?client_secret=…`). */
function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  return q === -1 ? request.url : request.url.slice(0, q);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** One log line and the HTTP metrics per answered request; never headers or bodies (credentials). */
export function installHttpObservability(
  fastify: FastifyInstance,
  deps: {
    readonly logger: PinoLogger;
    readonly metrics: MetricsService;
    /** ACCESS_LOG_ACCEPTED_LEVEL: the level of a 202 from POST /v3/access-requests. */
    readonly acceptedLevel: AccessLogLevel;
  },
): void {
  // No path redaction on these lines (~200 µs a line with pino's wildcard paths): their fields are
  // fixed and safe, and the destination still scrubs configured secrets.
  const write = accessLogWriter(deps.logger.child({ component: 'http' }, { redact: { paths: [] } }));
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    try {
      const route = routeLabel(request);
      const status = reply.statusCode;
      const authenticated = clientOf(request);
      const client = authenticated?.id ?? '-';
      const seconds = reply.elapsedTime / 1000;
      deps.metrics.httpRequest(request.method, route, status, client, seconds);
      let level: AccessLogLevel = status >= 500 ? 'error' : QUIET_ROUTES.has(route) ? 'debug' : 'info';
      if (route === ACCESS_REQUESTS_ROUTE && request.method === 'POST') {
        if (status === 202) {
          deps.metrics.accessRequestAccepted(client, reply.getHeader('idempotent-replayed') === 'true');
          level = deps.acceptedLevel;
        } else if (status >= 400) {
          deps.metrics.accessRequestRejected(client, rejectionReason(status, authenticated !== undefined));
        }
      }
      write(level, {
        requestId: request.id,
        traceparent: header(request, 'traceparent'),
        method: request.method,
        route,
        path: pathOf(request),
        status,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        client,
      });
    } finally {
      done();
    }
  });
}
