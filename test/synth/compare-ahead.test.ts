/**
 * A fleet's folders are read ahead on a worker thread (built CLI only; the
 * TypeScript sources read on the main thread): a no-change synth through it
 * writes nothing, a change of one cluster writes that folder only, and diff
 * reports the same as when the main thread reads the folders itself.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, readTree, tmpDir, walk } from '../helpers';

const BIN = path.join(REPO, 'bin', 'meshgen');
const N = 20;

function fleet(dir: string, annotate: boolean): void {
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n').toString('base64');
  const kc = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  for (let i = 1; i <= N; i++) kc.push(`  - {name: k${i}, cluster: {server: "https://10.0.${i}.1:6443", certificate-authority-data: ${ca}}}`);
  kc.push('users:');
  for (let i = 1; i <= N; i++) kc.push(`  - {name: k${i}, user: {token: token-${i}}}`);
  kc.push('contexts:');
  for (let i = 1; i <= N; i++) kc.push(`  - {name: ctx${i}, context: {cluster: k${i}, user: k${i}}}`);
  fs.writeFileSync(path.join(dir, 'kubeconfig'), `${kc.join('\n')}\n`, { mode: 0o600 });
  const clusters = Array.from({ length: N }, (_, k) => {
    const i = k + 1;
    const gw = annotate && i === 2 ? ', eastWestGateway: {annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}}' : '';
    return `    - {name: c${i}, context: ctx${i}, network: n${i}${gw}}`;
  });
  fs.writeFileSync(
    path.join(dir, 'mesh.yaml'),
    `apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: fleet}\nspec:\n  istio: {version: 1.30.3}\n  trust: {keyStore: pki, keyAlgorithm: ECDSA-P256}\n  credentials: {kubeconfig: kubeconfig}\n  clusters:\n${clusters.join('\n')}\n`,
  );
}

function cli(args: string[], cwd: string): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, KUBECONFIG: '' } });
  return { status: r.status, stdout: r.stdout };
}

/** Inode, mode and change time of every file under `dir`. */
function stamps(dir: string): Map<string, string> {
  return new Map(
    walk(dir).map((f) => {
      const st = fs.lstatSync(path.join(dir, f), { bigint: true });
      return [f, `${st.ino} ${st.mode} ${st.ctimeNs}`];
    }),
  );
}

describe.skipIf(!fs.existsSync(path.join(REPO, 'lib', 'src', 'synth', 'disk-compare-worker.js')))('reading a fleet\'s folders ahead on a worker thread', () => {
  it('writes nothing when nothing changed, and one folder when one cluster changed; diff agrees with the main thread', async () => {
    const dir = tmpDir();
    fleet(dir, false);
    expect(cli(['synth', '-q', '-o', 'dist'], dir).status).toBe(0);
    const out = path.join(dir, 'dist');
    expect(walk(out).filter((f) => f.includes('istio-remote-secret-')).length).toBe(N * (N - 1));
    const before = stamps(out);
    expect(cli(['synth', '-q', '-o', 'dist'], dir).status).toBe(0);
    expect(stamps(out)).toEqual(before);
    expect(cli(['diff', '--stat', '-o', 'dist'], dir)).toEqual({ status: 0, stdout: '' });

    fleet(dir, true);
    const diff = cli(['diff', '--stat', '-o', 'dist'], dir);
    expect(diff.status).toBe(1);
    expect(diff.stdout).toBe('changed c2/istiooperator.eastwest.yaml\n');
    // The same diff, read on the main thread (the sources have no worker script).
    const { loadTopology } = await import('../../src/model/load');
    const { prepareSynthesis } = await import('../../src/synth/synthesize');
    const { OutputDiff } = await import('../../src/synth/diff');
    const { OutputPlanner } = await import('../../src/synth/write');
    const prepared = await prepareSynthesis(loadTopology(path.join(dir, 'mesh.yaml')), { outdir: out, keyStore: { dryRun: true }, env: {} });
    const inline = new OutputDiff(prepared.outdir, new OutputPlanner(prepared.outdir, prepared.names));
    for await (const folder of prepared.folders()) inline.add(folder);
    const changes = inline.changes();
    expect(changes.map((c) => c.path)).toEqual(['c2/istiooperator.eastwest.yaml']);
    // The patch from the worker's snapshot is the one from reading the files again.
    const patch = cli(['diff', '-o', 'dist'], dir);
    expect(patch.stdout).toBe(changes.map((c) => c.patch).join(''));
    expect(patch.stdout).toContain('+            service.beta.kubernetes.io/aws-load-balancer-type: nlb\n');

    const tree = readTree(out, { modes: true });
    expect(cli(['synth', '-q', '-o', 'dist'], dir).status).toBe(0);
    const after = stamps(out);
    const written = [...after].filter(([f, s]) => before.get(f) !== s).map(([f]) => f.split('/')[0]);
    expect(new Set(written)).toEqual(new Set(['c2']));
    expect(readTree(out, { modes: true })).toEqual({ ...tree, ...Object.fromEntries(Object.entries(readTree(out, { modes: true })).filter(([f]) => f.startsWith('c2/'))) });
  }, 120_000);
});
