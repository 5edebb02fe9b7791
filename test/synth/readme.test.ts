/**
 * Cluster READMEs: the paths their `meshgen` commands carry, and how long
 * the steps of a root rotation stay in them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { App } from 'cdk8s';
import { Mesh } from '../../src/charts/mesh';
import { resolveMeshCredentials } from '../../src/credentials/resolve';
import { loadTopology } from '../../src/model/load';
import { ensureMeshPki } from '../../src/pki/key-store';
import { advanceRootRotation, rotateIntermediates } from '../../src/pki/rotate';
import { readDeployedCacerts } from '../../src/synth/deployed';
import { commandPaths, SynthRun } from '../../src/synth/readme';
import { renderCluster } from '../../src/synth/render';
import { renderTopology, synthesize } from '../../src/synth/synthesize';
import { meshYaml, primaryRemoteYaml, tmpDir, TWO_CLUSTERS, workspace } from '../helpers';

describe('commandPaths', () => {
  const cases: { name: string; run: SynthRun; want: ReturnType<typeof commandPaths> }[] = [
    {
      name: 'both relative to the working folder',
      run: { files: ['examples/mesh.yaml'], outdir: 'dist' },
      want: { fromClusterFolder: true, files: ['../../examples/mesh.yaml'], outdir: '..' },
    },
    {
      name: 'the run the README prints, from the cluster folder: the same paths again',
      run: { files: ['../../examples/mesh.yaml'], outdir: '..' },
      want: { fromClusterFolder: true, files: ['../../examples/mesh.yaml'], outdir: '..' },
    },
    {
      name: 'several files and a deeper output folder',
      run: { files: ['a.yaml', './topology/../topology/b.yaml'], outdir: 'build/out/' },
      want: { fromClusterFolder: true, files: ['../../../a.yaml', '../../../topology/b.yaml'], outdir: '..' },
    },
    {
      name: 'output in the working folder itself',
      run: { files: ['mesh.yaml'], outdir: '.' },
      want: { fromClusterFolder: true, files: ['../mesh.yaml'], outdir: '..' },
    },
    {
      name: 'both above the working folder, the file as far up as the output',
      run: { files: ['../mesh.yaml'], outdir: '../out' },
      want: { fromClusterFolder: true, files: ['../../mesh.yaml'], outdir: '..' },
    },
    {
      name: 'both absolute under one top folder',
      run: { files: ['/srv/mesh/mesh.yaml'], outdir: '/srv/mesh/dist' },
      want: { fromClusterFolder: true, files: ['../../mesh.yaml'], outdir: '..' },
    },
    {
      name: 'both absolute with nothing in common but the root: the file as given',
      run: { files: ['/home/me/mesh.yaml'], outdir: '/srv/out' },
      want: { fromClusterFolder: true, files: ['/home/me/mesh.yaml'], outdir: '..' },
    },
    {
      name: 'an absolute file and a relative output: the file as given',
      run: { files: ['/etc/meshgen/mesh.yaml'], outdir: 'dist' },
      want: { fromClusterFolder: true, files: ['/etc/meshgen/mesh.yaml'], outdir: '..' },
    },
    {
      name: 'a relative file and an absolute output: from the working folder, as given',
      run: { files: ['mesh.yaml'], outdir: '/srv/out' },
      want: { fromClusterFolder: false, files: ['mesh.yaml'], outdir: '/srv/out' },
    },
    {
      name: 'an output further above the working folder than the file: from the working folder, as given',
      run: { files: ['mesh.yaml', '/etc/b.yaml'], outdir: '../out' },
      want: { fromClusterFolder: false, files: ['mesh.yaml', '/etc/b.yaml'], outdir: '../out' },
    },
  ];
  it.each(cases)('$name', ({ run, want }) => {
    expect(commandPaths(run, 'cluster1')).toEqual(want);
  });

  it('names no part of the working folder, wherever the run started', () => {
    const before = process.cwd();
    try {
      const results = ['/', tmpDir()].map((dir) => {
        process.chdir(dir);
        return commandPaths({ files: ['../../x/mesh.yaml'], outdir: '../out' }, 'c');
      });
      expect(results[0]).toEqual({ fromClusterFolder: true, files: ['../../../x/mesh.yaml'], outdir: '..' });
      expect(results[1]).toEqual(results[0]);
    } finally {
      process.chdir(before);
    }
  });
});

describe('the meshgen commands of a README', () => {
  /** A reader-token mesh on the fixture key store, loaded with its CA material and (pending) credentials. */
  async function readerTokenMesh() {
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS }).replace('  clusters:', '  credentials: {source: reader-token}\n  clusters:'));
    const topology = loadTopology(ws.file);
    const mesh = topology.meshes[0];
    const pki = await ensureMeshPki(mesh, { dryRun: true });
    const credentials = resolveMeshCredentials(mesh, { env: {} });
    return { ws, topology, mesh, pki, credentials };
  }
  const readmeOf = (files: readonly { path: string; content: string }[]) => files.find((f) => f.path === 'README.md')!.content;

  it('run from the folder synth ran in, with the paths as given, when a topology file has no path from the cluster folder', async () => {
    const { topology, mesh, pki, credentials } = await readerTokenMesh();
    const [folder] = renderTopology(topology, new Map([[mesh.name, pki]]), new Map([[mesh.name, credentials]]), { files: ['mesh.yaml'], outdir: '/srv/out' });
    const readme = readmeOf(folder.files);
    expect(readme).toContain('Do not edit these files: change the topology file and, from the folder `meshgen synth` ran in, run `meshgen synth -f mesh.yaml -o /srv/out` again.');
    expect(readme).toContain('From the folder `meshgen synth` ran in, store it for the other control planes');
    expect(readme).toContain('   meshgen credentials fetch -f mesh.yaml --cluster cluster1\n   meshgen synth -f mesh.yaml -o /srv/out\n   ```\n');
  });

  it('without a run, repeat meshgen synth on the mesh\'s file into dist, from the cluster folder', async () => {
    const { ws, mesh, pki, credentials } = await readerTokenMesh();
    const chart = new Mesh(new App(), 'mesh', { mesh, pki, credentials }).clusters[0];
    const readme = readmeOf(renderCluster(chart).files);
    expect(readme).toContain(`from this folder, run \`meshgen synth -f ${ws.file} -o ..\` again.`);
    expect(readme).toContain(`   meshgen synth -f ${ws.file} -o ..\n   cd "$PWD"  # synth replaces this folder when it changes: enter the new one\n`);
  });
});

/** A primary and its remote on one network, with a fresh ECDSA key store; `extra` adds clusters. */
function meshText(extra = ''): string {
  return [
    'apiVersion: meshgen.dev/v1alpha1',
    'kind: Mesh',
    'metadata:',
    '  name: mesh1',
    'spec:',
    '  istio:',
    '    version: 1.30.3',
    '  trust:',
    '    keyStore: pki',
    '    keyAlgorithm: ECDSA-P256',
    '  clusters:',
    '    - {name: cluster1, context: kind-cluster1, network: network1, eastWestGateway: {address: 192.0.2.10}}',
    '    - {name: cluster2, context: kind-cluster2, network: network1, role: remote, controlPlane: cluster1}',
    extra,
  ].join('\n');
}

describe('the root rotation section', () => {
  it('keeps stage 3 in the clusters that took part, never in one that joined later, and drops it once a cluster has a new intermediate', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'mesh.yaml');
    const out = path.join(dir, 'dist');
    fs.writeFileSync(file, meshText());
    let day = 0;
    const keys = { now: () => new Date(Date.UTC(2026, 0, 1 + day)) };
    const env = { KUBECONFIG: path.join(dir, 'no-kubeconfig') };
    const synth = async () => synthesize(loadTopology(file), { outdir: out, keyStore: keys, env });
    const readme = (cluster: string) => fs.readFileSync(path.join(out, cluster, 'README.md'), 'utf8');
    const step = async (start: boolean) => {
      day += 1;
      const meshes = loadTopology(file).meshes;
      await advanceRootRotation(meshes, readDeployedCacerts(out, 'mesh1'), { ...keys, start });
      day += 1;
      await synth();
    };

    await synth();
    expect(readme('cluster1')).not.toMatch(/Root rotation/);
    await step(true);
    expect(readme('cluster2')).toMatch(/## Root rotation: stage 1 of 3[\s\S]*restart the istiod of `cluster1` \(which serves this cluster\) so that it reads both roots:/);
    expect(readme('cluster1')).toContain('Then, from this folder: `meshgen certs rotate -f ../../mesh.yaml -o .. --root --continue --mesh mesh1` (stage 2 re-issues the intermediates).');
    await step(false);
    await step(false);
    for (const cluster of ['cluster1', 'cluster2']) expect(readme(cluster), cluster).toMatch(/## Root rotation: stage 3 of 3/);
    expect(readme('cluster2')).toContain('After applying, restart the istiod of `cluster1` (which serves this cluster):\n');
    expect(readme('cluster1')).toContain('`meshgen certs status -f ../../mesh.yaml -o ..` (from this folder) shows the new root');

    // A cluster added after stage 3 never trusted the old root: nothing of the rotation to do there.
    day += 1;
    fs.writeFileSync(file, meshText('    - {name: cluster3, context: kind-cluster3, network: network1}\n'));
    await synth();
    expect(readme('cluster3')).not.toMatch(/Root rotation/);
    expect(readme('cluster1')).toMatch(/## Root rotation: stage 3 of 3/);

    // A new intermediate is rolled out with a restart of istiod, which is what stage 3 asks.
    day += 1;
    await rotateIntermediates(loadTopology(file).meshes[0], ['cluster1'], keys);
    await synth();
    expect(readme('cluster1')).not.toMatch(/Root rotation/);
    expect(readme('cluster2')).toMatch(/## Root rotation: stage 3 of 3/);
  });
});

describe('the README of a remote waiting for its primary\'s address', () => {
  /** cluster2 is a remote of cluster1, whose gateway address the topology does not set. */
  const waiting = (extra: string) => workspace(primaryRemoteYaml({ extra }));

  it('applies the namespace and CA with kubectl, and says what comes next', async () => {
    const ws = waiting('');
    await synthesize(loadTopology(ws.file), { outdir: ws.out, env: {} });
    const readme = fs.readFileSync(path.join(ws.out, 'cluster2', 'README.md'), 'utf8');
    expect(readme).toContain('| `secret.istio-system.cacerts.yaml` | Secret `cacerts`: this cluster\'s intermediate CA and its private key, under the mesh root | kubectl (`kustomization.yaml`) |');
    expect(readme).toContain('```sh\nkubectl --context=kind-cluster2 apply -f namespace.istio-system.yaml -f secret.istio-system.cacerts.yaml\n```\n');
    expect(readme).not.toMatch(/## Apply, in this order/);
  });

  it('decrypts a SOPS CA on the way, under a GitOps engine too: the folder has no engine objects yet', async () => {
    const ws = waiting('  secrets: {encryption: sops, sops: {age: [age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg]}}\n  gitops: {engine: flux}\n');
    await synthesize(loadTopology(ws.file), { outdir: ws.out, env: {} });
    const dir = path.join(ws.out, 'cluster2');
    expect(fs.readdirSync(dir).sort()).toEqual(['.meshgen-output', 'README.md', 'kustomization.yaml', 'namespace.istio-system.yaml', 'secrets']);
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('| kubectl, after `sops --decrypt` (steps below) |');
    expect(readme).not.toMatch(/Flux/);
    expect(readme).toContain('kubectl --context=kind-cluster2 apply -f namespace.istio-system.yaml\nsops --decrypt secrets/secret.istio-system.cacerts.yaml | kubectl --context=kind-cluster2 apply -f -\n');
  });
});
