import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { synthWithExtras } from '../examples/library';
import { App } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Mesh } from '../src/charts/mesh';
import { resolveMeshCredentials } from '../src/credentials/resolve';
import { OutputError } from '../src/errors';
import { loadTopology } from '../src/model/load';
import { ensureMeshPki } from '../src/pki/key-store';
import { renderCluster } from '../src/synth/render';
import { meshYaml, readTree, runCli, TWO_CLUSTERS, workspace } from './helpers';
import { ageKeygen, sopsDecrypt } from './helpers/sops';

describe('examples/library.ts', () => {
  it('builds the same folders as the CLI, plus its own object listed in the kustomization', async () => {
    const ws = workspace();
    const cli = runCli(['synth', '-f', ws.file, '-o', 'cli-dist'], ws.dir);
    expect(cli.code).toBe(0);
    await synthWithExtras(ws.file, ws.out);
    const lib = readTree(ws.out);
    const viaCli = readTree(path.join(ws.dir, 'cli-dist'));
    for (const [file, content] of Object.entries(viaCli)) {
      if (file.endsWith('kustomization.yaml') || file.endsWith('README.md')) continue;
      expect(lib[file], file).toBe(content);
    }
    const extra = parse(lib['cluster2/configmap.istio-system.mesh-info.yaml']);
    expect(extra.data).toEqual({ meshID: 'mesh1', cluster: 'cluster2', network: 'network2' });
    expect(parse(lib['cluster2/kustomization.yaml']).resources).toContain('configmap.istio-system.mesh-info.yaml');
    expect(fs.existsSync(path.join(ws.out, 'cluster1', '.meshgen-output'))).toBe(true);
  });
});

describe('examples/library.ts with encryption', () => {
  it('encrypts the Secrets as the topology says before writing, like the CLI', async () => {
    const who = ageKeygen();
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: `  secrets: {encryption: sops, sops: {age: [${who.recipient}]}}\n` }));
    await synthWithExtras(ws.file, ws.out);
    const file = path.join(ws.out, 'cluster1', 'secrets', 'secret.istio-system.cacerts.yaml');
    expect(sopsDecrypt(fs.readFileSync(file, 'utf8'), who.identity)).toMatchObject({ kind: 'Secret', metadata: { name: 'cacerts' } });
    expect(fs.existsSync(path.join(ws.out, 'cluster1', 'secret.istio-system.cacerts.yaml'))).toBe(false);
  });
});

describe('objects added in code', () => {
  it('refuses one that takes the file of another, naming the file and the fix', async () => {
    const ws = workspace();
    const topology = loadTopology(ws.file);
    const model = topology.meshes[0];
    const mesh = new Mesh(new App(), model.name, { mesh: model, pki: await ensureMeshPki(model), credentials: resolveMeshCredentials(model) });
    const chart = mesh.clusters[0];
    new k8s.KubeNamespace(chart, 'Again', { metadata: { name: 'istio-system' } });
    const err = (() => {
      try {
        renderCluster(chart);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected renderCluster to fail');
    })();
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toMatch(/two objects of cluster "cluster1" map to the same file\n\s+namespace\.istio-system\.yaml: is the file of two objects[\s\S]*fix: give the object you added another name/);
  });
});
