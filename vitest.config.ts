import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Brings up Redis and Elasticsearch (or reuses running ones) once for the run, then
    // points TMPDIR at a directory of the run's own that teardown removes.
    globalSetup: ['test/setup/services.ts', 'test/setup/scratch.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    // Two cores: more workers only make the real services slower for everyone.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
