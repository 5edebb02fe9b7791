import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KeyStoreError, OutputError } from '../../src/errors';
import { loadTopology } from '../../src/model/load';
import { synthesize } from '../../src/synth/synthesize';
import { generatePrivateKey } from '../../src/pki/certificates';
import { writeReaderCredential } from '../../src/credentials/token-store';
import { checkAgainstCrd, checkIstioOperator } from '../helpers/istio-api';
import { meshYaml, readTree, tmpDir, TWO_CLUSTERS, walk, workspace } from '../helpers';

const THREE_CLUSTERS = [...TWO_CLUSTERS, { name: 'cluster3', network: 'network3' }];

async function synthIn(ws: { file: string; out: string }) {
  return synthesize(loadTopology(ws.file), { outdir: ws.out });
}

function objects(dir: string): Record<string, unknown>[] {
  return walk(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS()));
}

describe('synthesize', () => {
  it('writes exactly Istio shapes that validate against Istio 1.30.3 APIs', async () => {
    const ws = workspace();
    await synthIn(ws);
    for (const cluster of ['cluster1', 'cluster2']) {
      const objs = objects(path.join(ws.out, cluster)) as { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> }[];
      const istio = objs.filter((o) => o.apiVersion?.includes('istio.io'));
      expect(istio.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'Gateway/cross-network-gateway',
        'IstioOperator/control-plane',
        'IstioOperator/eastwest',
      ]);
      for (const o of istio) {
        const problems = o.kind === 'IstioOperator' ? checkIstioOperator(o) : checkAgainstCrd(o);
        expect(problems, `${cluster} ${o.kind}/${o.metadata.name}`).toEqual([]);
      }
    }
  });

  it('keeps the network the same in the namespace label, istiod values and the east-west gateway', async () => {
    const ws = workspace();
    await synthIn(ws);
    for (const [cluster, network] of [['cluster1', 'network1'], ['cluster2', 'network2']]) {
      const objs = objects(path.join(ws.out, cluster)) as any[];
      const ns = objs.find((o) => o.kind === 'Namespace');
      const cp = objs.find((o) => o.metadata?.name === 'control-plane');
      const ew = objs.find((o) => o.metadata?.name === 'eastwest');
      expect(ns.metadata.labels['topology.istio.io/network']).toBe(network);
      expect(cp.spec.values.global).toEqual({ meshID: 'mesh1', multiCluster: { clusterName: cluster }, network });
      expect(ew.spec.values.global.network).toBe(network);
      expect(ew.spec.components.ingressGateways[0].label['topology.istio.io/network']).toBe(network);
      expect(ew.spec.components.ingressGateways[0].k8s.env).toEqual([{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: network }]);
    }
  });

  it('lists in kustomization.yaml exactly what kubectl applies: no IstioOperator', async () => {
    const ws = workspace();
    await synthIn(ws);
    const dir = path.join(ws.out, 'cluster1');
    const kustomization = parseAllDocuments(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))[0].toJS();
    expect(kustomization.resources).toEqual([
      'namespace.istio-system.yaml',
      'secret.istio-system.cacerts.yaml',
      'gateway.istio-system.cross-network-gateway.yaml',
    ]);
    const built = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    const kinds = parseAllDocuments(built).map((d) => `${d.toJS().kind}/${d.toJS().metadata.name}`);
    expect(kinds.sort()).toEqual(['Gateway/cross-network-gateway', 'Namespace/istio-system', 'Secret/cacerts']);
  });

  it('writes cacerts that openssl verifies: one root everywhere, its own intermediate per cluster, chain = ca-cert + root', async () => {
    const ws = workspace();
    await synthIn(ws);
    const certs: Record<string, Record<string, string>> = {};
    for (const cluster of ['cluster1', 'cluster2']) {
      const secret = objects(path.join(ws.out, cluster)).find((o) => o.kind === 'Secret') as { data: Record<string, string> };
      const dir = tmpDir();
      certs[cluster] = {};
      for (const [k, v] of Object.entries(secret.data)) {
        certs[cluster][k] = Buffer.from(v, 'base64').toString();
        fs.writeFileSync(path.join(dir, k), certs[cluster][k], { mode: 0o600 });
      }
      const out = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'root-cert.pem'), path.join(dir, 'ca-cert.pem')], { encoding: 'utf8' });
      expect(out).toMatch(/ca-cert\.pem: OK/);
      execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'root-cert.pem'), '-untrusted', path.join(dir, 'cert-chain.pem'), path.join(dir, 'ca-cert.pem')]);
      expect(certs[cluster]['cert-chain.pem']).toBe(certs[cluster]['ca-cert.pem'] + certs[cluster]['root-cert.pem']);
      const keyMod = execFileSync('openssl', ['pkey', '-in', path.join(dir, 'ca-key.pem'), '-pubout'], { encoding: 'utf8' });
      const certMod = execFileSync('openssl', ['x509', '-in', path.join(dir, 'ca-cert.pem'), '-noout', '-pubkey'], { encoding: 'utf8' });
      expect(keyMod).toBe(certMod);
    }
    expect(certs.cluster1['root-cert.pem']).toBe(certs.cluster2['root-cert.pem']);
    expect(certs.cluster1['ca-cert.pem']).not.toBe(certs.cluster2['ca-cert.pem']);
  });

  it('writes files holding private keys as 0600', async () => {
    const ws = workspace();
    await synthIn(ws);
    const mode = (f: string) => fs.statSync(path.join(ws.out, f)).mode & 0o777;
    expect(mode('cluster1/secret.istio-system.cacerts.yaml')).toBe(0o600);
    expect(mode('cluster1/namespace.istio-system.yaml')).toBe(0o644);
  });

  it('is byte-identical when run twice', async () => {
    const ws = workspace();
    await synthIn(ws);
    const first = readTree(ws.out, { modes: true });
    await synthIn(ws);
    expect(readTree(ws.out, { modes: true })).toEqual(first);
  });

  it('leaves existing cluster folders unchanged when a cluster is added', async () => {
    const ws = workspace();
    await synthIn(ws);
    const before = readTree(ws.out, { modes: true });
    fs.writeFileSync(ws.file, meshYaml({ clusters: THREE_CLUSTERS }));
    const result = await synthIn(ws);
    const after = readTree(ws.out, { modes: true });
    // Manifests stay byte-identical; the README gains only cluster3's remote secret (pending here: no kubeconfig).
    for (const [file, content] of Object.entries(before)) {
      if (file.endsWith('README.md')) {
        const added = after[file].split('\n').filter((l) => !content.split('\n').includes(l));
        expect(added, file).toEqual([
          expect.stringMatching(/^- `istio-remote-secret-cluster3`: not written yet: context "kind-cluster3" /),
          expect.stringMatching(/--field-selector metadata\.name!=istio-remote-secret-cluster[12],metadata\.name!=istio-remote-secret-cluster3$/),
        ]);
      } else {
        expect(after[file], file).toBe(content);
      }
    }
    expect(Object.keys(after).filter((f) => f.startsWith('cluster3/')).length).toBeGreaterThan(0);
    expect(result.meshes[0].clusters.map((c) => [c.name, c.intermediate])).toEqual([
      ['cluster1', 'reused'],
      ['cluster2', 'reused'],
      ['cluster3', 'reused'],
    ]);
  });

  it('removes the folder of a cluster that left the topology, and nothing it did not make', async () => {
    const ws = workspace(meshYaml({ clusters: THREE_CLUSTERS }));
    await synthIn(ws);
    fs.mkdirSync(path.join(ws.out, 'notes'));
    fs.writeFileSync(path.join(ws.out, 'notes', 'x.txt'), 'mine');
    fs.writeFileSync(path.join(ws.out, 'README.md'), 'mine too');
    fs.writeFileSync(ws.file, meshYaml({ clusters: TWO_CLUSTERS }));
    const result = await synthIn(ws);
    expect(result.removed).toEqual(['cluster3']);
    expect(fs.readdirSync(ws.out).sort()).toEqual(['README.md', 'cluster1', 'cluster2', 'notes']);
    expect(fs.readFileSync(path.join(ws.out, 'notes', 'x.txt'), 'utf8')).toBe('mine');
  });

  it('fails without touching the output when the key store is inconsistent', async () => {
    const ws = workspace();
    await synthIn(ws);
    const before = readTree(ws.out, { modes: true });
    fs.copyFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-cert.pem'), path.join(ws.dir, 'pki', 'root-cert.pem'));
    fs.copyFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem'), path.join(ws.dir, 'pki', 'root-key.pem'));
    await expect(synthIn(ws)).rejects.toBeInstanceOf(KeyStoreError);
    expect(readTree(ws.out, { modes: true })).toEqual(before);
    expect(fs.readdirSync(ws.out).sort()).toEqual(['cluster1', 'cluster2']);
  });

  it('fails when a folder of the same name was not made by meshgen, and writes nothing', async () => {
    const ws = workspace();
    fs.mkdirSync(path.join(ws.out, 'cluster2'), { recursive: true });
    fs.writeFileSync(path.join(ws.out, 'cluster2', 'mine.yaml'), 'x: 1\n');
    await expect(synthIn(ws)).rejects.toThrow(/cluster2: it exists and was not made by meshgen/);
    expect(walk(ws.out)).toEqual(['cluster2/mine.yaml']);
  });

  it('fails when the output path is a file', async () => {
    const ws = workspace();
    fs.writeFileSync(ws.out, 'not a folder');
    const err = await synthIn(ws).catch((e) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toMatch(/output path .*dist is a file, not a folder/);
    expect(err.message).toMatch(/fix: pass a folder with -o/);
    expect(fs.readFileSync(ws.out, 'utf8')).toBe('not a folder');
  });

  it('fails when the key store is inside the output folder', async () => {
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, keyStore: 'dist/pki' }));
    const err = await synthIn(ws).catch((e) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toMatch(/mesh\.yaml: spec\.trust\.keyStore: the key store .*dist\/pki and the output folder .*dist overlap/);
    expect(fs.existsSync(ws.out)).toBe(false);
  });

  it('refuses a new root CA when the output was made under another one, unless told to', async () => {
    const ws = workspace();
    await synthIn(ws);
    const before = readTree(ws.out, { modes: true });
    fs.renameSync(path.join(ws.dir, 'pki'), path.join(ws.dir, 'pki-lost'));
    const err = await synthIn(ws).catch((e) => e);
    expect(err).toBeInstanceOf(KeyStoreError);
    expect(err.message).toMatch(/root-cert\.pem: is missing, but .*dist\/cluster1 was made under a root CA \(SHA-256 [0-9A-F:]+\)/);
    expect(err.message).toMatch(/fix: restore the key store from backup.*--new-root/);
    expect(fs.existsSync(path.join(ws.dir, 'pki'))).toBe(false);
    expect(readTree(ws.out, { modes: true })).toEqual(before);

    const replaced = await synthesize(loadTopology(ws.file), { outdir: ws.out, allowNewRoot: true, keyStore: { generateKey: () => generatePrivateKey(2048) } });
    expect(replaced.meshes[0].root).toBe('new');
    expect(readTree(ws.out)['cluster1/secret.istio-system.cacerts.yaml']).not.toBe(before['cluster1/secret.istio-system.cacerts.yaml'].slice(4));
  });

  it("refuses a key store whose root is not the output's root", async () => {
    const ws = workspace();
    await synthIn(ws);
    fs.rmSync(path.join(ws.dir, 'pki'), { recursive: true });
    await synthesize(loadTopology(ws.file), { outdir: path.join(ws.dir, 'other'), keyStore: { generateKey: () => generatePrivateKey(2048) } });
    const err = await synthIn(ws).catch((e) => e);
    expect(err).toBeInstanceOf(KeyStoreError);
    expect(err.message).toMatch(/root-cert\.pem: is not the root CA .*dist\/cluster1 was made under/);
  });

  it('quotes names that YAML 1.1 readers would take for booleans, so kubectl reads them as strings', async () => {
    const ws = workspace(meshYaml({ clusters: [{ name: 'cluster1', network: 'no' }, { name: 'cluster2', network: 'on' }] }));
    await synthIn(ws);
    const ns = fs.readFileSync(path.join(ws.out, 'cluster1', 'namespace.istio-system.yaml'), 'utf8');
    expect(ns).toMatch(/topology\.istio\.io\/network: "no"/);
    // kubectl and istioctl read YAML 1.1, where a bare `no` is false.
    expect(parse(ns, { version: '1.1' }).metadata.labels['topology.istio.io/network']).toBe('no');
    const cp = parse(fs.readFileSync(path.join(ws.out, 'cluster2', 'istiooperator.control-plane.yaml'), 'utf8'), { version: '1.1' });
    expect(cp.spec.values.global.network).toBe('on');
  });

  it("removes a cluster's remote secrets from every other folder when it leaves, and the README says what to delete", async () => {
    const three = [...TWO_CLUSTERS, { name: 'cluster3', network: 'network3' }];
    const withTokens = (clusters: typeof three) => meshYaml({ clusters, extra: '' }).replace('  clusters:', '  credentials: {source: reader-token}\n  clusters:');
    const ws = workspace(withTokens(three));
    for (const c of three) {
      writeReaderCredential(path.join(ws.dir, 'pki'), c.name, { server: `https://${c.name}.example:6443`, certificateAuthorityData: 'Q0E=', token: `t-${c.name}` });
    }
    await synthIn(ws);
    expect(fs.existsSync(path.join(ws.out, 'cluster1', 'secret.istio-system.istio-remote-secret-cluster3.yaml'))).toBe(true);
    fs.writeFileSync(ws.file, withTokens(TWO_CLUSTERS));
    await synthIn(ws);
    for (const c of ['cluster1', 'cluster2']) {
      const files = fs.readdirSync(path.join(ws.out, c));
      expect(files.filter((f) => f.startsWith('secret.istio-system.istio-remote-secret-'))).toEqual([`secret.istio-system.istio-remote-secret-${c === 'cluster1' ? 'cluster2' : 'cluster1'}.yaml`]);
      const readme = fs.readFileSync(path.join(ws.out, c, 'README.md'), 'utf8');
      expect(readme).toMatch(/delete secret -l istio\/multiCluster=true --field-selector metadata\.name!=istio-remote-secret-cluster[12]\n/);
      expect(fs.readFileSync(path.join(ws.out, c, 'kustomization.yaml'), 'utf8')).not.toMatch(/cluster3/);
    }
  });
});
