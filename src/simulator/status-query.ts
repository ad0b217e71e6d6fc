/**
 * The subset of IdentityNow's collection parameters (`filters`, `sorters`) that
 * `GET /v3/access-request-status` supports, per the v3 spec: filters on accessRequestId
 * (eq, ne, in, sw, gt, ge, lt, le), accountActivityItemId (same) and created (eq, ne, gt, ge, lt, le),
 * combined with `and`; sorters on created, modified, accountActivityItemId, name.
 */
export interface StatusFilterRow {
  readonly accessRequestId: string;
  readonly accountActivityItemId: string;
  readonly createdMs: number;
}

export type StatusPredicate = (row: StatusFilterRow) => boolean;

export type SortField = 'created' | 'modified' | 'accountActivityItemId' | 'name';
export interface SortKey {
  readonly field: SortField;
  readonly desc: boolean;
}

export class QueryError extends Error {}

const STRING_OPS = ['eq', 'ne', 'in', 'sw', 'gt', 'ge', 'lt', 'le'] as const;
const DATE_OPS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
type Op = (typeof STRING_OPS)[number];

/** Splits on ` and ` outside quotes and parentheses. */
function splitAnd(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' && expr[i - 1] !== '\\') quote = !quote;
    else if (!quote && c === '(') depth++;
    else if (!quote && c === ')') depth--;
    else if (!quote && depth === 0 && /^\sand\s/i.test(expr.slice(i, i + 5))) {
      parts.push(expr.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\"/g, '"');
  return t;
}

function parseList(v: string): string[] {
  const t = v.trim();
  if (!t.startsWith('(') || !t.endsWith(')'))
    throw new QueryError(`"in" needs a list like ("a","b"), got ${t}`);
  const inner = t.slice(1, -1);
  const values: string[] = [];
  let current = '';
  let quote = false;
  for (const c of inner) {
    if (c === '"') quote = !quote;
    if (c === ',' && !quote) {
      values.push(unquote(current));
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim() !== '') values.push(unquote(current));
  if (values.length === 0) throw new QueryError('"in" needs at least one value');
  return values;
}

function compare(op: Op, a: string | number, b: string | number): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return false;
  }
}

export function parseFilters(expr: string | undefined): StatusPredicate {
  if (expr === undefined || expr.trim() === '') return () => true;
  const predicates = splitAnd(expr).map((clause): StatusPredicate => {
    const m = /^([A-Za-z]+)\s+([a-z]+)\s+(.+)$/s.exec(clause);
    if (m === null) throw new QueryError(`cannot parse filter "${clause}"`);
    const [, field = '', rawOp = '', rawValue = ''] = m;
    const op = rawOp.toLowerCase() as Op;
    if (field === 'accessRequestId' || field === 'accountActivityItemId') {
      if (!STRING_OPS.includes(op)) throw new QueryError(`operator ${rawOp} is not supported for ${field}`);
      const get = (r: StatusFilterRow): string => r[field];
      if (op === 'in') {
        const set = new Set(parseList(rawValue));
        return (r) => set.has(get(r));
      }
      const value = unquote(rawValue);
      if (op === 'sw') return (r) => get(r).startsWith(value);
      return (r) => compare(op, get(r), value);
    }
    if (field === 'created') {
      if (!(DATE_OPS as readonly string[]).includes(op)) {
        throw new QueryError(`operator ${rawOp} is not supported for created`);
      }
      const ms = Date.parse(unquote(rawValue));
      if (Number.isNaN(ms)) throw new QueryError(`created needs an ISO-8601 date-time, got ${rawValue}`);
      return (r) => compare(op, r.createdMs, ms);
    }
    throw new QueryError(`filtering is not supported for field ${field}`);
  });
  return (row) => predicates.every((p) => p(row));
}

const SORT_FIELDS: readonly SortField[] = ['created', 'modified', 'accountActivityItemId', 'name'];

export function parseSorters(expr: string | undefined): SortKey[] {
  if (expr === undefined || expr.trim() === '') return [];
  return expr.split(',').map((raw) => {
    const t = raw.trim();
    const desc = t.startsWith('-');
    const field = (desc ? t.slice(1) : t) as SortField;
    if (!SORT_FIELDS.includes(field)) {
      throw new QueryError(`sorting is not supported for field ${field}; use ${SORT_FIELDS.join(', ')}`);
    }
    return { field, desc };
  });
}

export function parseIntParam(
  name: string,
  value: string | undefined,
  def: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === '') return def;
  if (!/^\d+$/.test(value)) throw new QueryError(`${name} must be an integer`);
  const n = Number(value);
  if (n < min || n > max) throw new QueryError(`${name} must be between ${min} and ${max}`);
  return n;
}
