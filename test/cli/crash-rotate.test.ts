/** SIGKILL during `certs rotate --cluster` and each root rotation stage (see test/helpers/crash.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain, tmpDir } from '../helpers';
import { checkStore, fleet, keysKept, killed, leftovers, phaseOf, record } from '../helpers/crash';

describe('SIGKILL during certs rotate', () => {
  const CLUSTERS = 4;

  it.each([150, 450, 'tx', 'journal'] as const)('--cluster, killed at %s: status tells, and the command it prints completes the store', async (at) => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const ws = { out: path.join(dir, 'dist'), store: path.join(dir, 'pki') };
    expect((await runMain(['synth', '-q'], dir)).code).toBe(0);
    const watch =
      at === 'tx'
        ? () => fs.readdirSync(ws.store).some((f) => f.startsWith('.meshgen-tx-'))
        : at === 'journal'
          ? () => fs.existsSync(path.join(ws.store, '.meshgen-journal.json'))
          : undefined;
    const wasKilled = await killed(['certs', 'rotate', '--cluster', 'c2'], dir, watch ? { watch } : { afterMs: at as number });
    const phase = wasKilled ? phaseOf(ws) : 'finished before the kill';
    const status = await runMain(['certs', 'status'], dir);
    expect(status.stderr).not.toMatch(/unexpected|    at /);
    if (status.code !== 0) {
      // The fix is a command of its own line, run from the topology file's folder.
      const command = status.stdout.split('\n').find((l) => l.startsWith('meshgen '));
      expect(command, status.stdout).toBeDefined();
      const fixed = await runMain(command!.split(' ').slice(1), dir);
      expect(fixed.code, fixed.stderr).toBe(0);
      record('certs rotate --cluster', `${phase}: status 1, "${command}" completed it`);
    } else {
      record('certs rotate --cluster', `${phase}: status 0`);
    }
    expect((await runMain(['certs', 'status'], dir)).code).toBe(0);
    expect(leftovers(ws.store)).toEqual([]);
    checkStore(ws.store, CLUSTERS);
    // The key the committed output runs with is kept, live or in the history.
    keysKept(ws.out, ws.store);
    expect((await runMain(['synth', '-q'], dir)).code).toBe(0);
    checkStore(ws.store, CLUSTERS);
  }, 60_000);

  it.each([
    ['stage 1', 0, 80],
    ['stage 1', 0, 'journal'],
    ['stage 2', 1, 120],
    ['stage 2', 1, 'journal'],
    ['stage 3', 2, 80],
    ['stage 3', 2, 'journal'],
  ] as const)('--root, %s (after %i stages), killed at %s: status tells, and running the stage again completes it with no key lost', async (_stage, done, at) => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const ws = { out: path.join(dir, 'dist'), store: path.join(dir, 'pki') };
    expect((await runMain(['synth', '-q'], dir)).code).toBe(0);
    const stageArgs = (n: number) => (n === 0 ? ['certs', 'rotate', '--root'] : ['certs', 'rotate', '--root', '--continue']);
    for (let n = 0; n < done; n++) {
      const r = await runMain(stageArgs(n), dir);
      expect(r.code, r.stderr).toBe(0);
      expect((await runMain(['synth', '-q'], dir)).code).toBe(0);
    }
    const watch = at === 'journal' ? () => fs.existsSync(path.join(ws.store, '.meshgen-journal.json')) : undefined;
    const wasKilled = await killed(stageArgs(done), dir, watch ? { watch } : { afterMs: at as number });
    const phase = wasKilled ? phaseOf(ws) : 'finished before the kill';
    const status = await runMain(['certs', 'status'], dir);
    expect(status.stderr).not.toMatch(/unexpected|    at /);
    const manifest = JSON.parse(fs.readFileSync(path.join(ws.store, 'meshgen-key-store.json'), 'utf8')) as { rootRotation?: { stage: number } };
    const reached = manifest.rootRotation?.stage ?? 0;
    if (reached === done) {
      // The stage did not happen: running it again makes it.
      const again = await runMain(stageArgs(done), dir);
      expect(again.code, again.stderr).toBe(0);
    } else if (status.code !== 0) {
      const command = status.stdout.split('\n').find((l) => l.startsWith('meshgen '));
      expect(command, status.stdout).toBeDefined();
      expect((await runMain(command!.split(' ').slice(1), dir)).code).toBe(0);
    }
    record('certs rotate --root', `${_stage} ${phase}: status ${status.code}, stage ${reached} after the kill`);
    expect(JSON.parse(fs.readFileSync(path.join(ws.store, 'meshgen-key-store.json'), 'utf8')).rootRotation.stage).toBe(done + 1);
    expect((await runMain(['certs', 'status'], dir)).code).toBe(0);
    expect(leftovers(ws.store)).toEqual([]);
    keysKept(ws.out, ws.store);
    expect((await runMain(['synth', '-q'], dir)).code).toBe(0);
  }, 90_000);
});
