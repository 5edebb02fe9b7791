/**
 * A synth writes only what changed: a run that changes nothing touches no
 * file or folder of the output (inode, mode and change time all stay), and
 * a change of one cluster's setting replaces that cluster's folder alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/model/load';
import { synthesize } from '../../src/synth/synthesize';
import { meshYaml, walk, workspace } from '../helpers';

const THREE = [
  { name: 'cluster1', network: 'network1' },
  { name: 'cluster2', network: 'network2' },
  { name: 'cluster3', network: 'network3' },
];

/** Inode, mode and change time of every file and folder under `dir` (not `dir` itself, whose lock file comes and goes). */
function stamps(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const paths = new Set<string>();
  for (const f of walk(dir)) {
    paths.add(f);
    for (let d = path.dirname(f); d !== '.'; d = path.dirname(d)) paths.add(d);
  }
  for (const p of paths) {
    const st = fs.lstatSync(path.join(dir, p), { bigint: true });
    out[p] = `${st.ino} ${st.mode} ${st.ctimeNs} ${st.mtimeNs}`;
  }
  return out;
}

describe('writing only what changed', () => {
  it('touches nothing when nothing changed, and one folder when one cluster changed', async () => {
    const ws = workspace(meshYaml({ clusters: THREE }));
    await synthesize(loadTopology(ws.file), { outdir: ws.out });
    const before = stamps(ws.out);
    expect(Object.keys(before).length).toBeGreaterThan(20);

    const again = await synthesize(loadTopology(ws.file), { outdir: ws.out });
    expect(stamps(ws.out)).toEqual(before);
    expect(fs.readdirSync(ws.out).sort()).toEqual(['cluster1', 'cluster2', 'cluster3']);
    expect(again.removed).toEqual([]);

    // A setting of cluster2 alone: its gateway's Service annotations.
    fs.writeFileSync(
      ws.file,
      fs.readFileSync(ws.file, 'utf8').replace('      network: network2\n', '      network: network2\n      eastWestGateway: {annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}}\n'),
    );
    await synthesize(loadTopology(ws.file), { outdir: ws.out });
    const after = stamps(ws.out);
    const changed = [...new Set(Object.keys({ ...before, ...after }).filter((p) => before[p] !== after[p]).map((p) => p.split('/')[0]))];
    expect(changed).toEqual(['cluster2']);
  });
});
