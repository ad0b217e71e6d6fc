import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';
import { OpenApiValidator, type OpenApiDocument } from '../../src/simulator/openapi-schema';

const IDN_V3_SPEC_FILE = resolve(
  __dirname,
  '../../vendor/sailpoint-api-specs/deref-sailpoint-api.v3.access-requests.yaml',
);

let cached: OpenApiValidator | undefined;

/** A validator over the vendored subset of SailPoint's official v3 spec. */
export function idnV3Validator(): OpenApiValidator {
  if (!existsSync(IDN_V3_SPEC_FILE)) {
    throw new Error(
      `vendored IdentityNow spec missing: ${IDN_V3_SPEC_FILE} (see vendor/sailpoint-api-specs/SOURCE.md)`,
    );
  }
  cached ??= new OpenApiValidator(load(readFileSync(IDN_V3_SPEC_FILE, 'utf8')) as OpenApiDocument);
  return cached;
}
