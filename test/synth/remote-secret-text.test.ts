/**
 * Remote secrets written without a construct each (RemoteSecretManifests,
 * what synth uses) against the RemoteSecret construct they stand in for:
 * the same manifest, key order included, and whole cluster folders equal
 * byte for byte (files, modes, kustomizations, READMEs, Secrets left to
 * encryption) for every credential shape, odd cluster names, every install
 * form of the topology fixtures, and each kind of encryption.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterChart } from '../../src/charts/cluster-chart';
import { clusterChartProps } from '../../src/charts/mesh';
import { RemoteSecret, remoteSecretManifest } from '../../src/constructs/remote-secret';
import type { StaticCredential } from '../../src/credentials/kubeconfig';
import { remoteKubeconfig } from '../../src/credentials/remote-kubeconfig';
import { resolveMeshCredentials } from '../../src/credentials/resolve';
import { loadTopology } from '../../src/model/load';
import type { MeshModel, SecretSettings, Topology } from '../../src/model/types';
import { ensureMeshPki, MeshPki } from '../../src/pki/key-store';
import { manifestText } from '../../src/synth/files';
import { RenderedFolder, renderCluster } from '../../src/synth/render';
import { FIXTURE_TOPOLOGIES, fixedKeyStore, tmpDir } from '../helpers';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n').toString('base64');

/** Credentials of every shape a kubeconfig gives, with values YAML must quote. */
const CREDENTIALS: Record<string, StaticCredential> = {
  token: { server: 'https://10.0.0.1:6443', certificateAuthorityData: CA, user: { token: 'eyJhbGciOiJSUzI1NiJ9.abc-_def' } },
  'client-cert': { server: 'https://api.example.com', certificateAuthorityData: CA, user: { clientCertificateData: CA, clientKeyData: 'a2V5' } },
  'tls-server-name': { server: 'https://172.18.0.3:6443', certificateAuthorityData: CA, tlsServerName: 'cluster2.internal', user: { token: 't' } },
  'odd-values': {
    server: 'https://[fd00::1]:6443/k8s/clusters/c-m-x?a=1&b=#2',
    certificateAuthorityData: CA,
    tlsServerName: 'true',
    user: { token: "to:ken #with 'quotes' \"and\" é, {braces} [and] *stars* !bang %pct @at `tick`" },
  },
  'empty-token': { server: 'https://10.0.0.2', certificateAuthorityData: '', user: { token: '' } },
};

/** Cluster names (DNS labels) that YAML 1.1 reads as booleans, null or numbers unless quoted. */
const NAMES = ['cluster-1', 'no', 'on', 'y', 'true', 'null', '123', '1e3', 'e0', '0x1f', '0o17', '1-2'];

describe('remoteSecretManifest', () => {
  it.each(NAMES.flatMap((name) => Object.entries(CREDENTIALS).map(([shape, credential]) => [name, shape, credential] as const)))(
    'renders as the RemoteSecret construct does: cluster %s, %s',
    (cluster, _shape, credential) => {
      const props = { cluster, kubeconfig: remoteKubeconfig(cluster, credential) };
      const chart = Testing.chart();
      const secret = new RemoteSecret(chart, 'Secret', props);
      const manifest = remoteSecretManifest(props);
      // Same keys in the same order, so the same text.
      expect(JSON.stringify(manifest)).toBe(JSON.stringify(secret.resource.toJson()));
      expect(manifestText(manifest)).toBe(manifestText(secret.resource.toJson()));
      expect(Testing.synth(chart)).toEqual([manifest]);
    },
  );

  it('is one frozen object per cluster and kubeconfig, made anew when the kubeconfig changes', () => {
    const a = remoteSecretManifest({ cluster: 'c1', kubeconfig: 'one' });
    expect(remoteSecretManifest({ cluster: 'c1', kubeconfig: 'one' })).toBe(a);
    expect(Object.isFrozen(a.metadata.labels)).toBe(true);
    const b = remoteSecretManifest({ cluster: 'c1', kubeconfig: 'two' });
    expect(b).not.toBe(a);
    expect(b.stringData).toEqual({ c1: 'two' });
  });

  it('leaves the construct\'s own object free to change', () => {
    const chart = Testing.chart();
    const secret = new RemoteSecret(chart, 'Secret', { cluster: 'c9', kubeconfig: 'k' });
    secret.resource.metadata.addLabel('extra', 'yes');
    expect(secret.resource.toJson().metadata.labels).toEqual({ 'istio/multiCluster': 'true', extra: 'yes' });
    expect(remoteSecretManifest({ cluster: 'c9', kubeconfig: 'k' }).metadata.labels).toEqual({ 'istio/multiCluster': 'true' });
  });
});

/** Every cluster folder of `topology`, rendered with remote secrets made both ways. */
function renderBothWays(topology: Topology, pkis: ReadonlyMap<string, MeshPki>, env: NodeJS.ProcessEnv): { constructs: RenderedFolder; manifests: RenderedFolder }[] {
  const roots = new Map([...pkis].map(([mesh, pki]) => [mesh, pki.rootCertPem]));
  return topology.meshes.flatMap((mesh) => {
    const props = { mesh, pki: pkis.get(mesh.name)!, credentials: resolveMeshCredentials(mesh, { env }), federation: { topology, roots } };
    return mesh.clusters.map((cluster) => {
      const base = clusterChartProps(props, cluster);
      const run = { files: ['mesh.yaml'], outdir: 'dist' };
      return {
        constructs: renderCluster(new ClusterChart(new App(), 'cluster', { ...base, remoteSecrets: 'constructs' }), { run }),
        manifests: renderCluster(new ClusterChart(new App(), 'cluster', { ...base, remoteSecrets: 'manifests' }), { run }),
      };
    });
  });
}

function expectSameFolders(pairs: { constructs: RenderedFolder; manifests: RenderedFolder }[]): number {
  let remoteSecrets = 0;
  for (const { constructs, manifests } of pairs) {
    expect(manifests).toEqual(constructs);
    // toEqual ignores key order; the files' text does not, and neither does the encryption step's input.
    expect(JSON.stringify(manifests.secrets ?? [])).toBe(JSON.stringify(constructs.secrets ?? []));
    remoteSecrets += constructs.files.filter((f) => f.path.includes('istio-remote-secret-')).length;
    remoteSecrets += (constructs.secrets ?? []).filter((s) => s.path.includes('istio-remote-secret-')).length;
  }
  return remoteSecrets;
}

/** A kubeconfig with one context per entry of CREDENTIALS and the topology of clusters named NAMES reading through them. */
function oddFleet(dir: string, secrets: string): string {
  // A kubeconfig without a CA gives no credential: that shape is for the unit test above only.
  const shapes = Object.values(CREDENTIALS).filter((c) => c.certificateAuthorityData !== '');
  const q = (s: string) => JSON.stringify(s);
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  shapes.forEach((c, i) => {
    lines.push(`  - name: k${i}`, '    cluster:', `      server: ${q(c.server)}`, `      certificate-authority-data: ${q(c.certificateAuthorityData)}`);
    if (c.tlsServerName) lines.push(`      tls-server-name: ${q(c.tlsServerName)}`);
  });
  lines.push('users:');
  shapes.forEach((c, i) => {
    lines.push(`  - name: k${i}`, '    user:');
    if ('token' in c.user) lines.push(`      token: ${q(c.user.token)}`);
    else lines.push(`      client-certificate-data: ${q(c.user.clientCertificateData)}`, `      client-key-data: ${q(c.user.clientKeyData)}`);
  });
  lines.push('contexts:');
  shapes.forEach((_c, i) => lines.push(`  - name: ctx${i}`, '    context:', `      cluster: k${i}`, `      user: k${i}`));
  fs.writeFileSync(path.join(dir, 'kubeconfig'), `${lines.join('\n')}\n`);
  const clusters = NAMES.map((name, i) => `    - {name: "${name}", context: ctx-${name}, network: net${i}}`);
  // Every cluster reads through one of the shapes: its context is an alias of ctx<i>.
  const aliases = NAMES.map((name, i) => `  - name: ctx-${name}\n    context: {cluster: k${i % shapes.length}, user: k${i % shapes.length}}`);
  fs.appendFileSync(path.join(dir, 'kubeconfig'), `${aliases.join('\n')}\n`);
  const file = path.join(dir, 'mesh.yaml');
  fs.writeFileSync(
    file,
    [
      'apiVersion: meshgen.dev/v1alpha1',
      'kind: Mesh',
      'metadata: {name: odd}',
      'spec:',
      '  istio: {version: 1.30.3}',
      '  trust: {keyStore: pki, keyAlgorithm: ECDSA-P256}',
      '  credentials: {kubeconfig: kubeconfig}',
      secrets,
      '  clusters:',
      ...clusters,
      '',
    ].join('\n'),
  );
  return file;
}

/** `mesh` with every cluster's Secrets under `secrets`. */
function withSecrets(topology: Topology, secrets: SecretSettings): Topology {
  const meshes: MeshModel[] = topology.meshes.map((m) => ({ ...m, clusters: m.clusters.map((c) => ({ ...c, secrets })) }));
  return { ...topology, meshes };
}

const SOPS: SecretSettings = { encryption: 'sops', age: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'], decryptionSecret: 'sops-age' };
const SEALED: SecretSettings = { encryption: 'sealed-secrets', cert: '/nowhere/{cluster}.pem', certKey: 'spec.secrets.sealedSecrets.cert', scope: 'strict' };

describe('cluster folders with remote secrets as manifests', () => {
  it('equal those made with a RemoteSecret construct each, for odd names and every credential shape, plaintext, SOPS and sealed', async () => {
    const dir = tmpDir();
    const topology = loadTopology(oddFleet(dir, ''));
    const pkis = new Map([[topology.meshes[0].name, await ensureMeshPki(topology.meshes[0], { dryRun: true })]]);
    const env = {};
    for (const t of [topology, withSecrets(topology, SOPS), withSecrets(topology, SEALED)]) {
      expect(expectSameFolders(renderBothWays(t, pkis, env))).toBe(NAMES.length * (NAMES.length - 1));
    }
  });

  it.each(fs.readdirSync(FIXTURE_TOPOLOGIES).filter((f) => f.endsWith('.yaml')).sort())('equal those made with a RemoteSecret construct each: %s, plaintext and SOPS', async (fixture) => {
    const dir = tmpDir();
    const file = path.join(dir, fixture);
    fs.copyFileSync(path.join(FIXTURE_TOPOLOGIES, fixture), file);
    const topology = loadTopology(file);
    const pkis = new Map<string, MeshPki>();
    for (const mesh of topology.meshes) pkis.set(mesh.name, await ensureMeshPki(mesh, { ...fixedKeyStore(), dryRun: true }));
    const env = { KUBECONFIG: path.join(FIXTURE_TOPOLOGIES, '..', 'kubeconfig', 'fleet.yaml') };
    const plain = expectSameFolders(renderBothWays(topology, pkis, env));
    const sops = expectSameFolders(renderBothWays(withSecrets(topology, SOPS), pkis, env));
    expect(sops).toBe(plain);
  });
});
