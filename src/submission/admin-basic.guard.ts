import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { NotFoundError, UnauthenticatedError } from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * HTTP Basic with ADMIN_USER / ADMIN_PASSWORD. With ADMIN_USER unset the admin routes do not exist
 * (404, as for /admin/queues). Compared through SHA-256 digests so the comparison takes the same time
 * whatever the length or content of the guess.
 */
@Injectable()
export class AdminBasicGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const { user, password } = this.config.admin;
    if (user === undefined || password === undefined) {
      throw new NotFoundError(['no such route; admin endpoints are disabled (ADMIN_USER is unset)']);
    }
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const decoded = m === null ? '' : Buffer.from(m[1] ?? '', 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    const okUser = sep >= 0 && timingSafeEqual(digest(decoded.slice(0, sep)), digest(user));
    const okPassword = sep >= 0 && timingSafeEqual(digest(decoded.slice(sep + 1)), digest(password));
    if (!okUser || !okPassword) {
      throw new UnauthenticatedError(
        ['admin credentials are missing or wrong; send "Authorization: Basic <ADMIN_USER:ADMIN_PASSWORD>"'],
        'Basic realm="admin", charset="UTF-8"',
      );
    }
    return true;
  }
}
