import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { isAdminRequest } from '../../src/admin/admin-auth';

/** The check as it was before the shortcut for paths that cannot be /admin. */
function reference(url: string): boolean {
  const raw = url.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw).toLowerCase();
  } catch {
    decoded = raw.toLowerCase();
  }
  return /^\/+admin(\/|$)/.test(decoded);
}

const unmatched = (url: string): FastifyRequest =>
  ({ url, routeOptions: { url: undefined } }) as unknown as FastifyRequest;

const pieces = fc.constantFrom(
  '/',
  '//',
  'a',
  'A',
  'admin',
  'ADMIN',
  'Admin',
  '%61',
  '%41',
  '%2F',
  '%2f',
  '%',
  '%zz',
  '?',
  'queues',
  'v3',
  'ı',
  'İ',
  '\u212a',
  'é',
  '-',
);

describe('admin path check', () => {
  it('judges every path as the full decode-and-lower-case check does', () => {
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 8 }), fc.string({ maxLength: 12 }), (parts, tail) => {
        const url = parts.join('') + tail;
        expect(isAdminRequest(unmatched(url)), url).toBe(reference(url));
      }),
      { numRuns: 20_000 },
    );
    for (const url of [
      '/admin',
      '//ADMIN/x',
      '/%61dmin',
      '/%41DMIN?x',
      '/v3/access-requests',
      '',
      '/',
      '/a',
    ]) {
      expect(isAdminRequest(unmatched(url)), url).toBe(reference(url));
    }
  });
});
