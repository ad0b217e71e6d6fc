import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorResponse } from '../common/error-response';
import type { AppConfig } from '../config/app-config';

export const ADMIN_PREFIX = '/admin';
export const QUEUE_DASHBOARD_ROUTE = '/admin/queues';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * True when `authorization` is HTTP Basic with ADMIN_USER/ADMIN_PASSWORD. Compares digests in
 * constant time so the answer time says nothing about how much of a guess was right.
 */
export function adminCredentialsValid(config: AppConfig, authorization: string | undefined): boolean {
  const { user, password } = config.admin;
  if (user === undefined || password === undefined || authorization === undefined) return false;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (m === null) return false;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  if (sep < 0) return false;
  const userOk = timingSafeEqual(sha256(decoded.slice(0, sep)), sha256(user));
  const passwordOk = timingSafeEqual(sha256(decoded.slice(sep + 1)), sha256(password));
  return userOk && passwordOk;
}

function decodedPath(url: string): string {
  const raw = url.split('?')[0] ?? '';
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** Whether a request targets the admin surface, judged by the route that will answer it and by its path. */
export function isAdminRequest(request: FastifyRequest): boolean {
  const route = request.routeOptions.url ?? '';
  return (
    route === ADMIN_PREFIX ||
    route.startsWith(`${ADMIN_PREFIX}/`) ||
    /^\/+admin(\/|$)/.test(decodedPath(request.url))
  );
}

function refuse(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  void reply
    .status(status)
    .headers({ ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .send(errorResponse(status, [text], request.id));
}

/**
 * Guards everything under /admin (Bull Board and any admin route) in one Fastify onRequest hook, so
 * no handler, static file or plugin route of the dashboard is reached without credentials:
 * - ADMIN_USER unset: the admin surface is off (404, saying how to turn it on);
 * - no or wrong credentials: 401 ErrorResponseDto with a Basic challenge, no dashboard HTML;
 * - ADMIN_READ_ONLY: only GET/HEAD reach the dashboard (Bull Board's own read-only mode also holds).
 */
export function installAdminGuard(fastify: FastifyInstance, config: AppConfig): void {
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (!isAdminRequest(request)) {
      done();
      return;
    }
    if (config.admin.user === undefined) {
      refuse(
        reply,
        request,
        404,
        'the admin endpoints are disabled: set ADMIN_USER and ADMIN_PASSWORD to enable them',
      );
      return;
    }
    if (!adminCredentialsValid(config, request.headers.authorization)) {
      refuse(reply, request, 401, 'admin credentials required (HTTP Basic: ADMIN_USER / ADMIN_PASSWORD)', {
        'www-authenticate': 'Basic realm="access-request-gateway admin", charset="UTF-8"',
      });
      return;
    }
    if (
      config.admin.readOnly &&
      decodedPath(request.url).startsWith(QUEUE_DASHBOARD_ROUTE) &&
      request.method !== 'GET' &&
      request.method !== 'HEAD'
    ) {
      refuse(reply, request, 403, 'the queue dashboard is read-only (ADMIN_READ_ONLY=true)');
      return;
    }
    done();
  });
}
