import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthThrottleService } from '../auth/auth-throttle.service';
import { errorResponse } from '../common/error-response';
import type { AppConfig } from '../config/app-config';

export const ADMIN_PREFIX = '/admin';
export const QUEUE_DASHBOARD_ROUTE = '/admin/queues';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Basic auth against ADMIN_USER/PASSWORD; constant-time digests, so timing leaks nothing of a guess. */
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

/** Cheap pre-check that spares non-admin requests the decoding below (no escape, first char not a/A). */
function surelyNotAdminPath(url: string): boolean {
  let i = 0;
  while (url.charCodeAt(i) === 47) i++;
  const c = url.charCodeAt(i);
  return c < 128 && (c | 0x20) !== 0x61 && !url.includes('%');
}

/** Whether a request targets the admin surface, judged by the route that will answer it and by its path. */
export function isAdminRequest(request: FastifyRequest): boolean {
  const route = request.routeOptions.url ?? '';
  return (
    route === ADMIN_PREFIX ||
    route.startsWith(`${ADMIN_PREFIX}/`) ||
    (!surelyNotAdminPath(request.url) && /^\/+admin(\/|$)/.test(decodedPath(request.url)))
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

function refuseThrottled(reply: FastifyReply, request: FastifyRequest, seconds: number): void {
  refuse(
    reply,
    request,
    429,
    `too many failed authentications from this address; retry after ${seconds} s (Retry-After)`,
    { 'retry-after': String(seconds) },
  );
}

/**
 * One onRequest hook over all of /admin, so no dashboard route is reached without credentials: off → 404,
 * locked out → 429, bad credentials → 401, ADMIN_READ_ONLY → only GET/HEAD (docs/security.md).
 */
export function installAdminGuard(
  fastify: FastifyInstance,
  config: AppConfig,
  throttle: AuthThrottleService,
): void {
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
    const wait = throttle.retryAfter(request);
    if (wait !== undefined) {
      refuseThrottled(reply, request, wait);
      return;
    }
    const authorization = request.headers.authorization;
    if (!adminCredentialsValid(config, authorization)) {
      const unauthenticated = (): void => {
        refuse(reply, request, 401, 'admin credentials required (HTTP Basic: ADMIN_USER / ADMIN_PASSWORD)', {
          'www-authenticate': 'Basic realm="access-request-gateway admin", charset="UTF-8"',
        });
      };
      // A browser's first, credential-less request is not a guess: only wrong credentials count.
      if (authorization === undefined || authorization === '') {
        unauthenticated();
        return;
      }
      void throttle.failed(request, 'admin').then((seconds) => {
        if (seconds === undefined) unauthenticated();
        else refuseThrottled(reply, request, seconds);
      });
      return;
    }
    if (config.admin.readOnly && request.method !== 'GET' && request.method !== 'HEAD') {
      refuse(reply, request, 403, 'the admin endpoints are read-only (ADMIN_READ_ONLY=true)');
      return;
    }
    done();
  });
}
