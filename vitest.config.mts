import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files start first, whatever the cache says (a fresh clone in CI has none): the integration
 * test, then the crash tests, which mostly wait on servers and child processes while other files run beside.
 */
const FIRST = ['test/integration/', 'test/cli/crash-', 'test/cli/concurrency', 'test/cli/commands'];
class LongestFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = FIRST.findIndex((p) => f.moduleId.includes(p));
      return i === -1 ? FIRST.length : i;
    };
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

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
    // four files at once finish sooner even on two cores (fresh clone, 2 cores: 7 min 34 s with three, 6 min 46 s with four).
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
  },
});
