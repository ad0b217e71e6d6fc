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

type Op = 'eq' | 'ne' | 'in' | 'sw' | 'gt' | 'ge' | 'lt' | 'le';
// Exactly the fields and operators the v3 spec lists for this endpoint (no `lt` on accountActivityItemId,
// no `modified`): a client that relies on more would be refused by IdentityNow too.
const FILTER_OPS: Readonly<Record<string, readonly Op[]>> = {
  accessRequestId: ['eq', 'ge', 'gt', 'le', 'lt', 'ne', 'in', 'sw'],
  accountActivityItemId: ['eq', 'in', 'ge', 'gt', 'le', 'ne', 'sw'],
  created: ['eq', 'ge', 'gt', 'le', 'lt', 'ne'],
};

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

// One value: a quoted string or a bare token; anything else (e.g. an `or` the endpoint lacks) is refused.
function unquote(v: string): string {
  const t = v.trim();
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(t);
  if (quoted !== null) return (quoted[1] ?? '').replace(/\\"/g, '"');
  if (!/^[^\s"(),]+$/.test(t)) throw new QueryError(`cannot parse the filter value ${t}`);
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
    const ops = Object.hasOwn(FILTER_OPS, field) ? FILTER_OPS[field] : undefined;
    if (ops === undefined) {
      throw new QueryError(
        `filtering is not supported for field ${field}; use ${Object.keys(FILTER_OPS).join(', ')}`,
      );
    }
    if (!ops.includes(op)) throw new QueryError(`operator ${rawOp} is not supported for ${field}`);
    if (field === 'accessRequestId' || field === 'accountActivityItemId') {
      const get = (r: StatusFilterRow): string => r[field];
      if (op === 'in') {
        const set = new Set(parseList(rawValue));
        return (r) => set.has(get(r));
      }
      const value = unquote(rawValue);
      if (op === 'sw') return (r) => get(r).startsWith(value);
      return (r) => compare(op, get(r), value);
    }
    const ms = Date.parse(unquote(rawValue));
    if (Number.isNaN(ms)) throw new QueryError(`created needs an ISO-8601 date-time, got ${rawValue}`);
    return (r) => compare(op, r.createdMs, ms);
  });
  return (row) => predicates.every((p) => p(row));
}

const SORT_FIELDS: readonly SortField[] = ['created', 'modified', 'accountActivityItemId', 'name'];

export function parseSorters(expr: string | undefined): SortKey[] {
  if (expr === undefined || expr.trim() === '') return [];
  return expr.split(',').map((raw) => {
    const t = raw.trim();
    if (t === '' || t === '-') throw new QueryError('sorters must not contain an empty field');
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
