import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the long randomized fault schedules, one after another.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/chaos/**/*.spec.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
