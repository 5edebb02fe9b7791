/** SIGKILL at many points of a synth: the next synth recovers with no manual step (see test/helpers/crash.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTree, runCli, tmpDir } from '../helpers';
import { checkStore, cleanTree, fleet, keysKept, killed, leftovers, markerRoots, phaseOf, record } from '../helpers/crash';

describe('SIGKILL during synth', () => {
  const CLUSTERS = 8;
  const points: ({ afterMs: number } | { watch: (ws: { out: string; store: string }) => boolean })[] = [
    ...[300, 600, 900, 1200, 1600].map((afterMs) => ({ afterMs })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { store: string }) => fs.existsSync(ws.store) && fs.readdirSync(ws.store).some((f) => f.startsWith('.meshgen-tx-')) })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { store: string }) => fs.existsSync(path.join(ws.store, '.meshgen-journal.json')) })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { out: string }) => fs.existsSync(ws.out) && fs.readdirSync(ws.out).some((f) => f.startsWith('.meshgen-staging-')) })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { out: string }) => fs.existsSync(path.join(ws.out, '.meshgen-journal.json')) })),
  ];

  it.each(points.map((p, i) => [i, p] as const))('trial %i: the next synth recovers with no manual step, byte-identical to a clean run', async (_i, point) => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const ws = { out: path.join(dir, 'dist'), store: path.join(dir, 'pki') };
    // Half the trials kill a first synth (making keys), half a later one (replacing folders made by an earlier run).
    if (_i % 2 === 1) expect(runCli(['synth', '-q'], dir).code).toBe(0);
    const before = fs.existsSync(ws.out) ? readTree(ws.out, { modes: true }) : undefined;
    const wasKilled = await killed(['synth', '-q'], dir, 'afterMs' in point ? point : { watch: () => point.watch(ws) });
    const phase = wasKilled ? phaseOf(ws) : 'finished before the kill';
    // Right after the kill the output is the old one or the new one, never a mix: each folder is from one run.
    const r = runCli(['synth'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/unexpected|    at /);
    record('synth', `${phase}: ${/finished|discarded/.exec(r.stderr)?.[0] ?? 'nothing to recover'}`);
    expect(leftovers(ws.out)).toEqual([]);
    expect(leftovers(ws.store)).toEqual([]);
    const root = checkStore(ws.store, CLUSTERS);
    for (let c = 1; c <= CLUSTERS; c++) expect(markerRoots(path.join(ws.out, `c${c}`))).toEqual([root]);
    expect(readTree(ws.out, { modes: true })).toEqual(await cleanTree(dir));
    if (before) keysKept(ws.out, ws.store);
  }, 60_000);
});
