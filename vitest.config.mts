import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Lets examples/ import the package by name, as users do.
    alias: { meshgen: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // Most test time is spent waiting on child processes (the CLI, kubectl, API servers), not on this CPU:
    // three files at once finish sooner even on two cores.
    maxWorkers: 3,
  },
});
