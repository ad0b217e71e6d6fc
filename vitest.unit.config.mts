import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.mjs';

// `npm run test:unit`, the fast inner loop: every spec that imports none of the harnesses that start
// Redis or the gateway, and spawns no process. `npm test` still runs them all.
const NEEDS_REDIS_OR_PROCESS =
  /support\/(redis-server|redis-process|redis-cluster|redis-sentinel|gateway|gateway-process|worker-stack|fault-system)'|node:child_process/;

const unitSpecs = readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.spec.ts') && !f.startsWith('load') && !f.startsWith('ha'))
  .map((f) => join('test', f))
  .filter((f) => !NEEDS_REDIS_OR_PROCESS.test(readFileSync(f, 'utf8')));

export default defineConfig({ ...base, test: { ...base.test, include: unitSpecs } });
