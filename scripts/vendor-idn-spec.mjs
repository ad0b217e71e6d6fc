// Derives the vendored subset of SailPoint's official v3 spec (vendor/sailpoint-api-specs/) from the
// upstream bundle: the access-request operations the contract tests and extract-idn-schemas.mjs use,
// plus every component they $ref, copied unchanged. See vendor/sailpoint-api-specs/SOURCE.md.
//
// Usage: node scripts/vendor-idn-spec.mjs path/to/deref-sailpoint-api.v3.yaml
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump, load } from 'js-yaml';

const PATHS = ['/access-requests', '/access-requests/cancel', '/access-request-status'];
// extract-idn-schemas.mjs starts from these; they must be in the subset even if no path used them.
const SCHEMA_ROOTS = ['AccessRequest', 'CancelAccessRequest', 'ErrorResponseDto'];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = process.argv[2];
if (source === undefined) {
  console.error('usage: node scripts/vendor-idn-spec.mjs path/to/deref-sailpoint-api.v3.yaml');
  process.exit(1);
}
const spec = load(readFileSync(source, 'utf8'));

const components = {};
const pending = SCHEMA_ROOTS.map((name) => `#/components/schemas/${name}`);
const collectRefs = (node) =>
  JSON.stringify(node, (key, value) => {
    if (key === '$ref' && typeof value === 'string') pending.push(value);
    return value;
  });

const paths = {};
for (const p of PATHS) {
  if (spec.paths[p] === undefined) throw new Error(`path ${p} not in spec`);
  paths[p] = spec.paths[p];
  collectRefs(paths[p]);
}
while (pending.length > 0) {
  const ref = pending.shift();
  const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`unexpected $ref ${ref}`);
  const [, section, name] = m;
  if (components[section]?.[name] !== undefined) continue;
  const target = spec.components[section]?.[name];
  if (target === undefined) throw new Error(`${ref} not in spec`);
  (components[section] ??= {})[name] = target;
  collectRefs(target);
}
// Security requirements name schemes without a $ref.
components.securitySchemes = spec.components.securitySchemes;

const usedTags = new Set(
  Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => op.tags ?? [])),
);
const sortKeys = (o) =>
  Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
const subset = {
  openapi: spec.openapi,
  info: {
    ...spec.info,
    description: `DERIVED SUBSET (paths ${PATHS.join(', ')} and the components they reference) of dereferenced/deref-sailpoint-api.v3.yaml from github.com/sailpoint-oss/api-specs; see SOURCE.md. Original description: ${spec.info.description}`,
  },
  servers: spec.servers,
  security: spec.security,
  tags: spec.tags.filter((t) => usedTags.has(t.name)),
  paths,
  components: Object.fromEntries(
    Object.keys(spec.components)
      .filter((section) => components[section] !== undefined)
      .map((section) => [section, sortKeys(components[section])]),
  ),
};

const target = resolve(repoRoot, 'vendor/sailpoint-api-specs/deref-sailpoint-api.v3.access-requests.yaml');
writeFileSync(target, dump(subset, { noRefs: true, lineWidth: 120 }));
const counts = Object.entries(subset.components)
  .map(([section, entries]) => `${Object.keys(entries).length} ${section}`)
  .join(', ');
console.log(`wrote ${relative(repoRoot, target)}: ${PATHS.length} paths, ${counts}`);
