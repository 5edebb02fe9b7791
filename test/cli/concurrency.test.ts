/** Two synths started at once on one key store (see test/helpers/crash.ts). */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain, tmpDir } from '../helpers';
import { BIN, checkStore, fleet, leftovers, markerRoots, record } from '../helpers/crash';

describe('two synths at once', () => {
  const CLUSTERS = 2;
  const start = (cwd: string, out: string) =>
    new Promise<number>((resolve) => spawn(process.execPath, [BIN, 'synth', '-q', '-o', out], { cwd, stdio: 'ignore' }).on('exit', (code) => resolve(code ?? -1)));

  it.each(Array.from({ length: 10 }, (_, i) => i))('trial %i, one output folder: each run that exits 0 wrote output under the root the store keeps', async () => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const codes = await Promise.all([start(dir, 'dist'), start(dir, 'dist')]);
    record('two synths, one output', `exit codes ${codes.join(', ')}`);
    expect(codes).toEqual([0, 0]);
    const root = checkStore(path.join(dir, 'pki'), CLUSTERS);
    for (let c = 1; c <= CLUSTERS; c++) expect(markerRoots(path.join(dir, 'dist', `c${c}`))).toEqual([root]);
    expect((await runMain(['synth', '-q'], dir)).code).toBe(0);
  }, 60_000);

  it.each(Array.from({ length: 10 }, (_, i) => i))('trial %i, two output folders sharing the store: both under the one root the store keeps', async () => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const codes = await Promise.all([start(dir, 'a'), start(dir, 'b')]);
    record('two synths, two outputs', `exit codes ${codes.join(', ')}`);
    expect(codes).toEqual([0, 0]);
    const root = checkStore(path.join(dir, 'pki'), CLUSTERS);
    for (const out of ['a', 'b']) for (let c = 1; c <= CLUSTERS; c++) expect(markerRoots(path.join(dir, out, `c${c}`))).toEqual([root]);
    expect(leftovers(path.join(dir, 'pki'))).toEqual([]);
    for (const out of ['a', 'b']) expect((await runMain(['synth', '-q', '-o', out], dir)).code).toBe(0);
  }, 60_000);
});
