import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** OpenAPI 3.0 schema → draft-07 JSON Schema, so SailPoint's schemas are used as published, not copied. */
export function openApiToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => openApiToJsonSchema(n));
  if (node === null || typeof node !== 'object') return node;

  const src = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let nullable = src.nullable === true;

  for (const [key, value] of Object.entries(src)) {
    if (key === 'nullable' || key === 'example' || key === 'examples' || key.startsWith('x-')) continue;
    if (key === 'externalDocs' || key === 'xml' || key === 'discriminator') continue;
    if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, openApiToJsonSchema(v)]),
      );
      continue;
    }
    if (key === 'allOf' && Array.isArray(value)) {
      // SailPoint writes "this $ref, or null" as `allOf: [{$ref}, {nullable: true}]`; a member that
      // only says nullable makes the whole allOf nullable.
      const members = value.filter((m) => {
        if (isNullableOnly(m)) {
          nullable = true;
          return false;
        }
        return true;
      });
      out.allOf = members.map((m) => openApiToJsonSchema(m));
      continue;
    }
    if (
      key === 'items' ||
      key === 'additionalProperties' ||
      key === 'not' ||
      key === 'anyOf' ||
      key === 'oneOf'
    ) {
      out[key] = openApiToJsonSchema(value);
      continue;
    }
    // `enum`, `required`, `default` and scalars are data, not schemas: copy them as they are.
    out[key] = value;
  }

  if (!nullable) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
    return out;
  }
  return { anyOf: [{ type: 'null' }, out] };
}

function isNullableOnly(m: unknown): boolean {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return false;
  const keys = Object.keys(m).filter((k) => k !== 'description' && k !== 'example' && k !== 'title');
  return keys.length === 1 && keys[0] === 'nullable';
}

export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
}

/** Turns Ajv's errors into short, field-naming sentences for `ErrorResponseDto.messages[].text`. */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const e of errors ?? []) {
    // anyOf wrappers produced by the nullable conversion repeat the real error; keep the first.
    if (e.keyword === 'anyOf') continue;
    const path = e.instancePath;
    const field = path === '' ? 'body' : pointerToField(path);
    let message: string;
    switch (e.keyword) {
      case 'required':
        message = `${path === '' ? '' : `${field}.`}${String(e.params.missingProperty)} is required`;
        break;
      case 'enum':
        message = `${field} must be one of ${(e.params.allowedValues as unknown[])
          .filter((v) => v !== null)
          .map((v) => JSON.stringify(v))
          .join(', ')}`;
        break;
      case 'type':
        message = `${field} must be of type ${String(e.params.type)}`;
        break;
      case 'format':
        message = `${field} must be a valid ${String(e.params.format)} (ISO-8601, e.g. 2030-01-01T00:00:00Z)`;
        break;
      case 'minItems':
        message = `${field} must have at least ${String(e.params.limit)} item(s)`;
        break;
      default:
        message = `${field} ${e.message ?? 'is invalid'}`;
    }
    const key = `${path}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, message });
  }
  return problems;
}

function pointerToField(pointer: string): string {
  return pointer
    .slice(1)
    .split('/')
    .map((seg) => seg.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '');
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Validates values against one OpenAPI 3.0 document whose `$ref`s are all internal (a bundled spec). */
export class OpenApiValidator {
  private readonly ajv: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();
  private static nextId = 0;
  private readonly docId: string;

  constructor(private readonly document: OpenApiDocument) {
    this.ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    addFormats(this.ajv);
    this.ajv.addFormat('int32', {
      type: 'number',
      validate: (n: number) => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX,
    });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    this.ajv.addFormat('comma-separated', true);
    this.docId = `openapi-doc-${OpenApiValidator.nextId++}`;
    this.ajv.addSchema(
      {
        $id: this.docId,
        components: {
          schemas: Object.fromEntries(
            Object.entries(document.components?.schemas ?? {}).map(([k, v]) => [k, openApiToJsonSchema(v)]),
          ),
        },
      },
      this.docId,
    );
  }

  validateSchema(name: string, value: unknown): { valid: boolean; errors: ErrorObject[] } {
    return this.run(`schema:${name}`, () => ({ $ref: `${this.docId}#/components/schemas/${name}` }), value);
  }

  /** Throws when the spec declares no such response, so a test cannot validate against nothing. */
  validateResponse(
    path: string,
    method: string,
    status: number,
    body: unknown,
  ): { valid: boolean; errors: ErrorObject[] } {
    const key = `response:${method} ${path} ${status}`;
    return this.run(key, () => this.responseSchema(path, method, status), body);
  }

  private run(key: string, schema: () => unknown, value: unknown): { valid: boolean; errors: ErrorObject[] } {
    let fn = this.cache.get(key);
    if (fn === undefined) {
      const s = schema();
      fn = this.ajv.compile(rewriteRefs(s, this.docId) as object);
      this.cache.set(key, fn);
    }
    const valid = fn(value);
    return { valid, errors: valid ? [] : [...(fn.errors ?? [])] };
  }

  private responseSchema(path: string, method: string, status: number): unknown {
    const op = this.document.paths?.[path]?.[method.toLowerCase()];
    if (op === undefined) throw new Error(`spec has no operation ${method} ${path}`);
    let response: unknown = op.responses?.[String(status)];
    if (response === undefined) throw new Error(`spec has no ${status} response for ${method} ${path}`);
    for (let i = 0; i < 5 && isRef(response); i++) {
      const name = response.$ref.replace('#/components/responses/', '');
      response = this.document.components?.responses?.[name];
    }
    const content = (response as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
    const schema = content?.['application/json']?.schema;
    if (schema === undefined) throw new Error(`spec has no JSON schema for ${status} of ${method} ${path}`);
    return openApiToJsonSchema(schema);
  }
}

function isRef(v: unknown): v is { $ref: string } {
  return typeof v === 'object' && v !== null && typeof (v as { $ref?: unknown }).$ref === 'string';
}

/** Points local `#/components/...` refs of a stand-alone schema at the registered document. */
function rewriteRefs(node: unknown, docId: string): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, docId));
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${docId}${v}` : rewriteRefs(v, docId),
    ]),
  );
}

export interface OpenApiOperation {
  readonly responses?: Record<string, unknown>;
}

export interface OpenApiDocument {
  readonly paths?: Record<string, Record<string, OpenApiOperation | undefined> | undefined>;
  readonly components?: {
    readonly schemas?: Record<string, unknown>;
    readonly responses?: Record<string, unknown>;
  };
}
