import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Redis Cluster and Sentinel, on real servers the tests start (npm run test:ha; CI runs it).
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/ha/**/*.spec.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
