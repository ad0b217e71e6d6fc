import type { RunningSimulator } from '../../src/simulator';

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  // Bodies are asserted field by field, like supertest's `any`-typed `res.body`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** Small fetch helpers for talking to a simulator over real HTTP. */
export async function http(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    form?: Record<string, string>;
  } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const res = await fetch(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function token(
  sim: RunningSimulator,
  clientId = 'sim-client',
  clientSecret = 'sim-secret',
): Promise<string> {
  const res = await http(`${sim.url}/oauth/token`, {
    form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

export function submit(sim: RunningSimulator, bearer: string, body: unknown): Promise<HttpResult> {
  return http(`${sim.url}/v3/access-requests`, { headers: { authorization: `Bearer ${bearer}` }, body });
}

export function status(
  sim: RunningSimulator,
  bearer: string,
  query: Record<string, string>,
): Promise<HttpResult> {
  return http(`${sim.url}/v3/access-request-status?${new URLSearchParams(query).toString()}`, {
    headers: { authorization: `Bearer ${bearer}` },
  });
}

export function cancel(sim: RunningSimulator, bearer: string, body: unknown): Promise<HttpResult> {
  return http(`${sim.url}/v3/access-requests/cancel`, {
    headers: { authorization: `Bearer ${bearer}` },
    body,
  });
}

/** A `/__sim` control call, e.g. `control(sim, '/faults/script', { body: {...} })`. */
export function control(
  sim: RunningSimulator,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<HttpResult> {
  return http(`${sim.url}/__sim${path}`, init);
}

/** A raw call that resolves to its status, or to the error when the connection is cut or times out. */
export async function outcome(
  url: string,
  init: { method?: string; bearer?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<number | Error> {
  try {
    const res = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.bearer === undefined ? {} : { authorization: `Bearer ${init.bearer}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 5_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Polls `probe` until `done` holds (bounded: about 10 s by default); answers the last value seen. */
export async function until<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  { tries = 400, everyMs = 25 }: { tries?: number; everyMs?: number } = {},
): Promise<T> {
  let value = await probe();
  for (let i = 0; i < tries && !done(value); i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await probe();
  }
  return value;
}
