import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/g;

function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  return [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
}

/** Every src file reachable from `entry` through relative imports (type-only imports included). */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const todo = [resolve(SRC, entry)];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolveImport(file, m[1] as string);
      if (target !== undefined) todo.push(target);
    }
  }
  return [...seen].map((f) => relative(SRC, f));
}

const HTTP_EDGE =
  /^(api|admin|auth)\/|\.controller\.ts$|\.guard\.ts$|^app\.(module|factory)\.ts$|^(main|bootstrap)\.ts$/;

describe('layout', () => {
  it('the worker never reaches the HTTP edge (controllers, guards, the API app)', () => {
    const files = reachable('submission/submission.module.ts');
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => HTTP_EDGE.test(f))).toEqual([]);
  });

  it('webhooks (notifier and delivery, used by the worker) never reach the HTTP edge', () => {
    const files = reachable('webhooks/webhooks.module.ts');
    expect(files).toContain('clients/client-registry.service.ts');
    expect(files.filter((f) => HTTP_EDGE.test(f))).toEqual([]);
  });

  it('the lifecycle (poller, cancel job) never reaches the HTTP edge', () => {
    const files = reachable('lifecycle/lifecycle.module.ts');
    expect(files).toContain('tracking/request-events.ts');
    expect(files.filter((f) => HTTP_EDGE.test(f))).toEqual([]);
  });

  it('the domain core reaches nothing outside itself', () => {
    const files = reachable('access-request/access-request.validator.ts');
    expect(files.filter((f) => !f.startsWith('access-request/'))).toEqual([]);
  });
});
