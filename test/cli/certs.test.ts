import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/model/load';
import { generatePrivateKey } from '../../src/pki/certificates';
import { ensureMeshPki } from '../../src/pki/key-store';
import { parse } from 'yaml';
import { FIXTURE_TOPOLOGIES, runCli, tmpDir, workspace } from '../helpers';
import { checkIstioOperator } from '../helpers/istio-api';

const DAY = 24 * 60 * 60 * 1000;

describe('meshgen certs status', () => {
  it('exits 0 on a fresh key store and 1 with --warn-days when an intermediate expires in 10 days', async () => {
    const fresh = workspace();
    let r = runCli(['certs', 'status', '--warn-days', '30'], fresh.dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cluster1: O=Istio, CN=Intermediate CA, L=cluster1; RSA 4096; serial \w+; 2026-01-01 → 2035-12-30 \(\d+ days left\); chain ok/);

    const old = workspace();
    // Made 3640 days ago with a 3650-day validity: 10 days left.
    const mesh = loadTopology(old.file).meshes[0];
    const store = path.join(old.dir, 'old-pki');
    await ensureMeshPki({ ...mesh, trust: { ...mesh.trust, keyStore: store } }, { now: () => new Date(Date.now() - 3640 * DAY), generateKey: () => generatePrivateKey(2048) });
    const yaml = (await import('node:fs')).readFileSync(old.file, 'utf8').replace('keyStore: pki', 'keyStore: old-pki');
    (await import('node:fs')).writeFileSync(old.file, yaml);
    r = runCli(['certs', 'status', '--warn-days', '30'], old.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/! cluster1: .*\((9|10) days left\); chain ok/);
    expect(runCli(['certs', 'status', '--warn-days', '5'], old.dir).code).toBe(0);

    const json = JSON.parse(runCli(['certs', 'status', '--json', '--warn-days', '30'], old.dir).stdout);
    expect(json.meshes[0].intermediates.map((c: { name: string; daysLeft: number }) => c.name)).toEqual(['cluster1', 'cluster2']);
    expect(json.attention).toEqual(['old-pki/root-cert.pem', 'old-pki/cluster1/ca-cert.pem', 'old-pki/cluster2/ca-cert.pem']);
    expect(JSON.stringify(json)).not.toMatch(/PRIVATE|BEGIN/);
  });

  it('reports certificates not made yet, and a chain that does not verify', () => {
    const ws = workspace();
    const fs = require('node:fs') as typeof import('node:fs');
    fs.rmSync(path.join(ws.dir, 'pki', 'cluster2'), { recursive: true });
    fs.copyFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-cert.pem'), path.join(ws.dir, 'pki', 'root-cert.pem'));
    const r = runCli(['certs', 'status'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/root: .*FAILS: root-key\.pem is not its key; not self-signed\n/);
    expect(r.stdout).toMatch(/cluster2: not made yet \(pki\/cluster2\/ca-cert\.pem\); meshgen synth makes it/);
  });
});

describe('meshgen certs rotate', () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const small = (dir: string) => {
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('    keyStore: pki\n', '    keyStore: pki\n    keyAlgorithm: RSA-2048\n'));
  };
  const grep = (dir: string, pattern: RegExp) =>
    walkFiles(dir)
      .filter((f) => pattern.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(dir, f));
  function walkFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walkFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  }
  const rootsIn = (out: string, cluster: string) => {
    const secret = fs.readFileSync(path.join(out, cluster, 'secret.istio-system.cacerts.yaml'), 'utf8');
    const b64 = /root-cert\.pem: (\S+)/.exec(secret)?.[1] as string;
    return (Buffer.from(b64, 'base64').toString('utf8').match(/BEGIN CERTIFICATE/g) ?? []).length;
  };

  it('walks a root rotation: each stage needs the previous one in the output, and the output carries multi-root trust and the checks', () => {
    const ws = workspace();
    small(ws.dir);
    expect(runCli(['synth'], ws.dir).code).toBe(0);
    expect(grep(ws.out, /ISTIO_MULTIROOT_MESH/)).toEqual([]);

    let r = runCli(['certs', 'rotate', '--root', '--continue'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no root rotation of pki is under way[\s\S]*fix: run `meshgen certs rotate --root` to start one/);

    r = runCli(['certs', 'rotate', '--root'], ws.dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/root rotation at stage 1 of 3: a new root \(SHA-256 [0-9A-F:]+\)/);
    expect(r.stdout).toMatch(/3\. when every cluster passes those checks: meshgen certs rotate --root --continue/);

    // The output still holds stage 0: moving on now would cut traffic.
    r = runCli(['certs', 'rotate', '--root', '--continue'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not every cluster runs stage 1 \(both roots trusted\) yet/);
    expect(r.stderr).toMatch(/dist\/cluster1\/\.meshgen-output: does not hold stage 1/);

    const synth1 = runCli(['synth'], ws.dir);
    expect(synth1.code).toBe(0);
    expect(synth1.stdout).toMatch(/root rotation at stage 1 of 3: roll this out to every cluster/);
    expect(rootsIn(ws.out, 'cluster1')).toBe(2);
    expect(grep(ws.out, /ISTIO_MULTIROOT_MESH: "true"/).sort()).toEqual(['cluster1/istiooperator.control-plane.yaml', 'cluster2/istiooperator.control-plane.yaml']);
    expect(grep(ws.out, /PROXY_CONFIG_XDS_AGENT: "true"/).length).toBe(2);
    // Both settings sit where Istio's API has them: values.pilot.env and meshConfig.defaultConfig.proxyMetadata.
    const iop = parse(fs.readFileSync(path.join(ws.out, 'cluster1', 'istiooperator.control-plane.yaml'), 'utf8'));
    expect(checkIstioOperator(iop)).toEqual([]);
    expect(iop.spec.values.pilot.env).toEqual({ ISTIO_MULTIROOT_MESH: 'true' });
    expect(iop.spec.meshConfig.defaultConfig.proxyMetadata).toEqual({ PROXY_CONFIG_XDS_AGENT: 'true' });
    const readme1 = fs.readFileSync(path.join(ws.out, 'cluster1', 'README.md'), 'utf8');
    expect(readme1).toMatch(/## Root rotation: stage 1 of 3/);
    expect(readme1).toMatch(/kubectl --context=kind-cluster1 get configmap istio-ca-root-cert -n istio-system .* \| grep -c 'BEGIN CERTIFICATE'/);
    r = runCli(['certs', 'status'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/root rotation \(started \d{4}-\d\d-\d\d\): stage 1 of 3: every cluster trusts both roots/);
    expect(r.stdout).toMatch(/next root: O=Istio, CN=Root CA; RSA 2048; .*chain ok/);

    r = runCli(['certs', 'rotate', '--root', '--continue'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stage 2 of 3: every intermediate re-issued by the new root/);
    expect(runCli(['synth'], ws.dir).code).toBe(0);
    expect(fs.readFileSync(path.join(ws.out, 'cluster2', 'README.md'), 'utf8')).toMatch(/## Root rotation: stage 2 of 3[\s\S]*openssl x509 -noout -fingerprint -sha256/);
    expect(runCli(['certs', 'status'], ws.dir).stdout).toMatch(/cluster2: .*chain ok/);

    r = runCli(['certs', 'rotate', '--root', '--continue'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stage 3 of 3: the new root .* is the root; the old one .* is retired/);
    expect(runCli(['synth'], ws.dir).code).toBe(0);
    expect(rootsIn(ws.out, 'cluster2')).toBe(1);
    expect(fs.readFileSync(path.join(ws.out, 'cluster2', 'README.md'), 'utf8')).toMatch(/## Root rotation: stage 3 of 3/);
    // The multi-root settings stay, so the next rotation needs no extra rollout.
    expect(grep(ws.out, /ISTIO_MULTIROOT_MESH: "true"/).length).toBe(2);
    expect(runCli(['certs', 'rotate', '--root', '--continue'], ws.dir).stderr).toMatch(/is complete \(stage 3\)/);
  });

  it('works from the marker when the cacerts Secret is encrypted, and waits for meshes that trust the rotating root through trust bundles', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(path.join(FIXTURE_TOPOLOGIES, 'federation-trust-bundles.yaml'), 'utf8').replace(/(keyStore: \S+)\n/g, '$1\n    keyAlgorithm: ECDSA-P256\n'),
    );
    const out = path.join(dir, 'dist');
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    let r = runCli(['certs', 'rotate', '--root'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the topology has 2 key stores; name the mesh whose root to rotate with --mesh \(mesh-a, mesh-b\)/);
    expect(runCli(['certs', 'rotate', '--root', '--mesh', 'mesh-a'], dir).code).toBe(0);
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    // Encrypted as the README asks (SOPS writes ENC[...] values): the stage is read from the marker.
    const secretFile = path.join(out, 'cluster-a', 'secret.istio-system.cacerts.yaml');
    fs.writeFileSync(secretFile, fs.readFileSync(secretFile, 'utf8').replace(/(\.pem): \S+/g, '$1: ENC[AES256_GCM,data:xxxx,type:str]'));
    const readmeB = fs.readFileSync(path.join(out, 'cluster-b', 'README.md'), 'utf8');
    expect(readmeB).toMatch(/## Root rotation of a trusted mesh\n\nMesh `mesh-a` is at stage 1 of 3 of a root rotation\. This output trusts its roots through `meshConfig.caCertificates`: `[0-9A-F:]+`, `[0-9A-F:]+`\./);
    // cluster-b's output still trusting only the old root of mesh-a holds the next stage back.
    const markerB = path.join(out, 'cluster-b', '.meshgen-output');
    const good = fs.readFileSync(markerB, 'utf8');
    fs.writeFileSync(markerB, good.replace(/(extraRoots:\n\s+- \S+)\n\s+- \S+\n/, '$1\n'));
    r = runCli(['certs', 'rotate', '--root', '--continue', '--mesh', 'mesh-a'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dist\/cluster-b\/\.meshgen-output: does not trust every root of stage 1 \(both roots trusted\) yet \(missing SHA-256 [0-9A-F:]+\)/);
    expect(r.stderr).toMatch(/roll out cluster "cluster-b" of mesh "mesh-b", which trusts these roots through trust bundles/);
    // Also when mesh-b's file is not given: its folder's marker says it trusts mesh-a's root.
    const docs = fs.readFileSync(file, 'utf8').split(/^---$/m);
    fs.writeFileSync(path.join(dir, 'a.yaml'), docs.find((d) => /name: mesh-a\n/.test(d) && /kind: Mesh\n/.test(d)) as string);
    r = runCli(['certs', 'rotate', '--root', '--continue', '-f', 'a.yaml'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dist\/cluster-b\/\.meshgen-output: does not trust every root of stage 1/);
    expect(r.stderr).toMatch(/mesh "mesh-b" is not in the topology given: pass its file with -f/);
    fs.writeFileSync(markerB, good);
    r = runCli(['certs', 'rotate', '--root', '--continue', '--mesh', 'mesh-a'], dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/stage 2 of 3/);
    // The root guard reads the marker too: a key store with another root is still refused.
    fs.renameSync(path.join(dir, '.meshgen', 'pki-a'), path.join(dir, '.meshgen', 'pki-a.moved'));
    r = runCli(['synth', '-q'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pki-a\/root-cert\.pem: is missing, but dist\/cluster-a was made under a root CA/);
  });

  it('keeps the root guard when output of an older meshgen has an encrypted cacerts', () => {
    const ws = workspace();
    small(ws.dir);
    expect(runCli(['synth', '-q'], ws.dir).code).toBe(0);
    for (const c of ['cluster1', 'cluster2']) {
      const marker = path.join(ws.out, c, '.meshgen-output');
      fs.writeFileSync(marker, fs.readFileSync(marker, 'utf8').replace(/# What this folder trusts[\s\S]*$/, ''));
      const secret = path.join(ws.out, c, 'secret.istio-system.cacerts.yaml');
      fs.writeFileSync(secret, `${fs.readFileSync(secret, 'utf8').replace(/(\.pem): \S+/g, '$1: ENC[AES256_GCM,data:xxxx,type:str]')}sops:\n  version: 3.8.1\n`);
    }
    fs.renameSync(path.join(ws.dir, 'pki'), path.join(ws.dir, 'pki.moved'));
    let r = runCli(['synth', '-q'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pki\/root-cert\.pem: is missing, and dist\/cluster1 was made under a root CA that cannot be told \(its cacerts is encrypted and its marker is from an older meshgen\)/);
    r = runCli(['synth', '-q', '--new-root'], ws.dir);
    expect(r.code, r.stderr).toBe(0);
  });

  it('issues new intermediates for the named clusters only; synth then changes only their cacerts', () => {
    const ws = workspace();
    small(ws.dir);
    expect(runCli(['synth'], ws.dir).code).toBe(0);
    const secret = (c: string) => fs.readFileSync(path.join(ws.out, c, 'secret.istio-system.cacerts.yaml'), 'utf8');
    const [before1, before2] = [secret('cluster1'), secret('cluster2')];
    const r = runCli(['certs', 'rotate', '--cluster', 'cluster2'], ws.dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cluster "cluster2" \(mesh "mesh1"\): new intermediate CA, serial \w+, valid until \d{4}/);
    expect(r.stdout).toMatch(/the old one \(SHA-256 [0-9A-F:]+\) is kept in pki\/_history\/clusters\/cluster2\/\d{8}T\d{6}Z-[0-9a-f]+\//);
    expect(r.stdout).toMatch(/kubectl --context=kind-cluster2 rollout restart deployment -l app=istiod -n istio-system/);
    expect(r.stdout).not.toMatch(/PRIVATE/);
    expect(runCli(['synth'], ws.dir).code).toBe(0);
    expect(secret('cluster1')).toBe(before1);
    expect(secret('cluster2')).not.toBe(before2);

    expect(runCli(['certs', 'rotate', '--cluster', 'cluster9'], ws.dir).stderr).toMatch(/no cluster "cluster9" in the topology \(its clusters: cluster1, cluster2\)/);
    const usage = runCli(['certs', 'rotate'], ws.dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/give either --cluster <name> or --root/);
  });
});
