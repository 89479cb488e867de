import { defineConfig } from 'vitest/config';

export default defineConfig({
  // examples/ import the package by name: inside the repository that is src/client.
  resolve: { alias: [{ find: /^spread-ts$/, replacement: new URL('./src/client/index.ts', import.meta.url).pathname }] },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'interop/**/*.test.ts'],
    // Two cores: daemon tests spawn processes; keep parallelism modest.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
