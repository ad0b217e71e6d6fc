import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, type GatewayErrorKind, UnauthenticatedError } from './gateway.errors';
import { errorResponse } from './error-response';

const STATUS_BY_KIND: Record<GatewayErrorKind, number> = {
  'invalid-request': 400,
  'unsupported-media-type': 415,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'idempotency-in-progress': 409,
  'idempotency-mismatch': 422,
  conflict: 409,
  'quota-exceeded': 429,
  'auth-throttled': 429,
  unavailable: 503,
};

/** Fastify's own errors (body parsing, limits) carry a status and a code; we reword them. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

export interface MappedError {
  status: number;
  texts: string[];
  headers: Record<string, string>;
}

export function mapError(err: unknown, bodyLimitBytes: number): MappedError {
  if (err instanceof GatewayError) {
    const headers: Record<string, string> = {};
    if ('retryAfterSeconds' in err && typeof err.retryAfterSeconds === 'number') {
      headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
    }
    if (err instanceof UnauthenticatedError) headers['www-authenticate'] = err.challenge;
    return { status: STATUS_BY_KIND[err.kind], texts: [...err.messages], headers };
  }
  if (err instanceof HttpException) {
    // Nest wraps Fastify's body-parser errors; map the original so its code decides the status.
    const cause: unknown = err.cause;
    if (typeof cause === 'object' && cause !== null && 'code' in cause)
      return mapError(cause, bodyLimitBytes);
    const status = err.getStatus();
    const text =
      status === 404
        ? 'no such route; see /docs for the API'
        : status >= 500
          ? 'internal error'
          : err.message;
    return { status, texts: [text], headers: {} };
  }
  const f = err as FastifyLikeError;
  switch (f.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, texts: ['Content-Type must be application/json'], headers: {} };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        texts: [`the request body is larger than the limit of ${bodyLimitBytes} bytes`],
        headers: {},
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, texts: ['the request body is empty; send a JSON access request'], headers: {} };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, texts: ['Content-Length does not match the body'], headers: {} };
    default:
      break;
  }
  if (err instanceof SyntaxError || f.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, texts: ['the request body is not valid JSON'], headers: {} };
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return {
      status: f.statusCode,
      texts: ['the request could not be read; send a JSON access request'],
      headers: {},
    };
  }
  return {
    status: 500,
    texts: ['internal error; the request was not accepted, it is safe to retry'],
    headers: {},
  };
}

/** Shared by the global filter and accept.route.ts, so both answer errors identically. */
export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  exception: unknown,
  bodyLimitBytes: number,
  logger: Pick<Logger, 'error'>,
): void {
  let mapped = mapError(exception, bodyLimitBytes);
  // On the token endpoint the body is the credentials: unreadable ones are a 401, like wrong ones
  // (the multipart parser does the same).
  if (
    mapped.status === 400 &&
    !(exception instanceof GatewayError) &&
    request.routeOptions.url === '/oauth/token'
  ) {
    mapped = mapError(
      new UnauthenticatedError([
        'the request body cannot be read, so the client credentials in it cannot be checked; send them form-encoded, in the query string or as Basic',
      ]),
      bodyLimitBytes,
    );
  }
  if (mapped.status >= 500 && !(exception instanceof GatewayError)) {
    logger.error({ err: exception, requestId: request.id }, 'unhandled error');
  }
  void reply
    .status(mapped.status)
    .headers({ ...mapped.headers, 'content-type': 'application/json; charset=utf-8' })
    .send(errorResponse(mapped.status, mapped.texts, request.id));
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(private readonly bodyLimitBytes: number) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    sendError(
      ctx.getResponse<FastifyReply>(),
      ctx.getRequest<FastifyRequest>(),
      exception,
      this.bodyLimitBytes,
      this.logger,
    );
  }
}
