/** SIGKILL at many points of a synth: the next synth recovers with no manual step (see test/helpers/crash.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTree, runCli, runMain, tmpDir } from '../helpers';
import { checkStore, cleanTree, fleet, keysKept, killed, leftovers, markerRoots, phaseOf, record } from '../helpers/crash';

type Where = { out: string; store: string };
const has = (dir: string, test: (name: string) => boolean) => fs.existsSync(dir) && fs.readdirSync(dir).some(test);

describe('SIGKILL during synth', () => {
  const CLUSTERS = 8;
  // Timed kills land at fractions of a synth's own duration on this machine, measured first.
  let duration = 1000;
  beforeAll(() => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const began = Date.now();
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    duration = Date.now() - began;
  });

  // `fresh`: kill the first synth of a new key store (making keys); otherwise a synth that replaces an earlier run's folders.
  const points: { name: string; fresh: boolean; at: number | ((ws: Where) => boolean) }[] = [
    ...[0.55, 0.7, 0.85].flatMap((f) => [true, false].map((fresh) => ({ name: `${f} of a run`, fresh, at: f }))),
    ...[1, 2].map(() => ({ name: 'key store staging', fresh: true, at: (ws: Where) => has(ws.store, (f) => f.startsWith('.meshgen-tx-')) })),
    ...[1, 2].map(() => ({ name: 'key store journal', fresh: true, at: (ws: Where) => has(ws.store, (f) => f === '.meshgen-journal.json') })),
    ...[true, false].map((fresh) => ({ name: 'output staging', fresh, at: (ws: Where) => has(ws.out, (f) => f.startsWith('.meshgen-staging-')) })),
    ...[true, false].map((fresh) => ({ name: 'output journal', fresh, at: (ws: Where) => has(ws.out, (f) => f === '.meshgen-journal.json') })),
    // While the live folders move to the trash and their kept files into the new ones, and while a finished write's leftovers are deleted.
    { name: 'output swap', fresh: false, at: (ws: Where) => has(ws.out, (f) => f.startsWith('.meshgen-old-')) },
    { name: 'output clean-up', fresh: false, at: (ws: Where) => has(ws.out, (f) => f.startsWith('.meshgen-removing-')) },
  ];

  it.each(points.map((p, i) => [i, p.name, p.fresh ? 'a new key store' : 'earlier output', p] as const))(
    'trial %i, killed at %s over %s: the next synth recovers with no manual step, byte-identical to a clean run',
    async (_i, _name, _over, point) => {
      const dir = tmpDir();
      fleet(dir, CLUSTERS);
      const ws = { out: path.join(dir, 'dist'), store: path.join(dir, 'pki') };
      if (!point.fresh) {
        // An earlier run's output, and a change of every folder for the killed run to write (a no-change run writes nothing).
        expect((await runMain(['synth', '-q'], dir)).code).toBe(0);
        fs.writeFileSync(path.join(dir, 'mesh.yaml'), fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8').replace('version: 1.30.3', 'version: 1.30.2'));
      }
      const earlier = fs.existsSync(ws.out);
      const at = point.at;
      const wasKilled = await killed(['synth', '-q'], dir, typeof at === 'number' ? { afterMs: Math.round(at * duration) } : { watch: () => at(ws) });
      const phase = wasKilled ? phaseOf(ws) : 'finished before the kill';
      const r = await runMain(['synth'], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/unexpected|    at /);
      record('synth', `${phase}: ${/finished|discarded/.exec(r.stderr)?.[0] ?? 'nothing to recover'}`);
      expect(leftovers(ws.out)).toEqual([]);
      expect(leftovers(ws.store)).toEqual([]);
      // Every folder present and from one run, under the one root the store keeps, as a clean run writes them.
      const root = checkStore(ws.store, CLUSTERS);
      for (let c = 1; c <= CLUSTERS; c++) expect(markerRoots(path.join(ws.out, `c${c}`))).toEqual([root]);
      expect(readTree(ws.out, { modes: true })).toEqual(await cleanTree(dir));
      if (earlier) keysKept(ws.out, ws.store);
    },
    60_000,
  );
});
