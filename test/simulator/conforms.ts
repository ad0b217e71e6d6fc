import { expect } from 'vitest';
import { idnV3Validator } from '../support/idn-spec';
import type { HttpResult } from '../support/sim-client';

export const SUBMIT = ['/access-requests', 'post'] as const;
export const STATUS = ['/access-request-status', 'get'] as const;
export const CANCEL = ['/access-requests/cancel', 'post'] as const;

/**
 * The answer validates against the response schema the vendored v3 spec declares for that operation
 * and status; 502/503/504 (IdentityNow's edge, not in the spec) against ErrorResponseDto.
 */
export function expectConforms(path: string, method: string, res: HttpResult): void {
  const validator = idnV3Validator();
  const declared = [502, 503, 504].includes(res.status)
    ? validator.validateSchema('ErrorResponseDto', res.body)
    : validator.validateResponse(path, method, res.status, res.body);
  expect(declared.errors, `${method} ${path} ${res.status} ${JSON.stringify(res.body)}`).toEqual([]);
  expect(declared.valid).toBe(true);
}
