import { Busboy } from '@fastify/busboy';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from './gateway.errors';

const LIMITS = { files: 0, fields: 10, fieldSize: 4096, parts: 10 };

class FormError extends Error {
  readonly statusCode = 400;
}

/** On the token endpoint the form is the credentials: unreadable ones are a 401, like wrong ones. */
function unreadable(request: FastifyRequest, text: string): Error {
  return request.routeOptions.url === '/oauth/token'
    ? new UnauthenticatedError([`${text}, so the client credentials in it cannot be checked`])
    : new FormError(text);
}

/** A content-type parser, not a hooked plugin, so non-multipart requests (the hot route) never pay. */
export function registerMultipartFormParser(fastify: FastifyInstance): void {
  fastify.addContentTypeParser('multipart/form-data', (request, payload, done) => {
    const contentType = request.headers['content-type'];
    let busboy: InstanceType<typeof Busboy>;
    try {
      busboy = new Busboy({
        headers: { ...request.headers, 'content-type': contentType ?? '' },
        limits: LIMITS,
      });
    } catch {
      done(unreadable(request, 'the multipart/form-data body cannot be read (missing boundary?)'), undefined);
      return;
    }
    const fields: Record<string, string> = {};
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      if (err === null) done(null, fields);
      else done(err, undefined);
    };
    busboy.on('field', (name: string, value: string) => {
      fields[name] = value;
    });
    busboy.on('file', (_name: string, stream: NodeJS.ReadableStream) => {
      stream.resume();
    });
    busboy.on('finish', () => {
      finish(null);
    });
    busboy.on('error', () => {
      finish(unreadable(request, 'the multipart/form-data body cannot be read'));
    });
    payload.pipe(busboy);
  });
}
