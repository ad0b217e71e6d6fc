import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { OpenApiValidator, type OpenApiDocument } from '../../src/simulator/openapi-schema';

const SPEC_FILE = 'deref-sailpoint-api.v3.yaml';

/**
 * The folder holding SailPoint's official specs. CI clones the repo next to `shared/`, so it is
 * `<repo>/../shared/idn-openapi`; a git worktree sits one level deeper, so parents are searched too.
 * `IDN_OPENAPI_DIR` overrides.
 */
export function idnOpenApiDir(): string {
  const fromEnv = process.env.IDN_OPENAPI_DIR;
  if (fromEnv !== undefined && existsSync(join(fromEnv, SPEC_FILE))) return fromEnv;
  const repoRoot = resolve(__dirname, '../..');
  let dir = dirname(repoRoot);
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'shared', 'idn-openapi');
    if (existsSync(join(candidate, SPEC_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`official IdentityNow specs not found (looked for ../shared/idn-openapi/${SPEC_FILE})`);
}

let cached: OpenApiValidator | undefined;

/** A validator over the official, verbatim v3 spec (`deref-sailpoint-api.v3.yaml`). */
export function idnV3Validator(): OpenApiValidator {
  cached ??= new OpenApiValidator(
    load(readFileSync(join(idnOpenApiDir(), SPEC_FILE), 'utf8')) as OpenApiDocument,
  );
  return cached;
}
