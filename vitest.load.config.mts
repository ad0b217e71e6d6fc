import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// The load test: correctness under volume, with throughput printed (never asserted).
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/load/**/*.spec.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
