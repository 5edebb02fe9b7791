import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyStoreError } from '../../src/errors';
import { DEFAULT_CERTIFICATE_PROFILE, MeshModel } from '../../src/model/types';
import { generatePrivateKey } from '../../src/pki/certificates';
import { pemCertificates } from '../../src/pki/inspect';
import { ensureMeshPki, MeshPki } from '../../src/pki/key-store';
import { KeyStoreManifest, MANIFEST_FILE } from '../../src/pki/manifest';
import { advanceRootRotation, DeployedCacerts, rotateIntermediates } from '../../src/pki/rotate';
import { meshCertificatesStatus } from '../../src/pki/status';
import { fingerprintsOf, trustFactsOf } from '../../src/pki/trust-facts';
import { meshModel, readTree, tmpDir } from '../helpers';

const mesh = (keyStore: string, trust: Partial<MeshModel['trust']> = {}) => meshModel(keyStore, undefined, trust);

const fast = { generateKey: () => generatePrivateKey(2048) };
const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function manifestOf(store: string): KeyStoreManifest {
  return JSON.parse(fs.readFileSync(path.join(store, MANIFEST_FILE), 'utf8')) as KeyStoreManifest;
}

/** What the output folder would hold after synth of this material: per cluster, its cacerts. */
function deployedOf(m: MeshModel, pki: MeshPki): Map<string, DeployedCacerts> {
  return new Map(m.clusters.map((c) => [c.name, { source: `dist/${c.name}`, ...trustFactsOf(pki.rootCertPem, pki.cacerts(c.name)['cert-chain.pem'], []) }]));
}

function fingerprints(bundle: string): string[] {
  return pemCertificates(bundle).map((p) => new X509Certificate(p).fingerprint256);
}

/** Writes a cluster's cacerts files into a folder and returns it. */
function cacertsDir(pki: MeshPki, cluster: string, name: string): string {
  const dir = path.join(tmpDir(), name);
  fs.mkdirSync(dir);
  for (const [file, content] of Object.entries(pki.cacerts(cluster))) fs.writeFileSync(path.join(dir, file), content);
  return dir;
}

/** A workload certificate issued by a cluster's intermediate, as istiod would issue it (SPIFFE URI SAN). */
function workloadCert(dir: string, name: string): string {
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=URI:spiffe://cluster.local/ns/default/sa/sleep\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-subj', '/O=cluster.local', '-out', `${name}.csr`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-set_serial', '7', '-days', '1', '-extfile', 'ext.cnf', '-out', `${name}.pem`], dir);
  return path.join(dir, `${name}.pem`);
}

/** True when `openssl verify` accepts a workload certificate with its cluster's chain against a trust bundle. */
function verifies(bundleDir: string, leaf: string, leafDir: string): boolean {
  try {
    openssl(['verify', '-CAfile', path.join(bundleDir, 'root-cert.pem'), '-untrusted', path.join(leafDir, 'cert-chain.pem'), leaf], bundleDir);
    return true;
  } catch {
    return false;
  }
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KeyStoreError);
    expect((err as Error).message).not.toMatch(/PRIVATE KEY/);
    return (err as Error).message;
  }
  throw new Error('expected a KeyStoreError');
}


/** `m` as the topology loads it when `others` use its key store too (shared-root federation). */
function shares(m: MeshModel, ...others: string[]): MeshModel {
  return { ...m, trust: { ...m.trust, storeSharedWith: others } };
}
describe('certs rotate --cluster', () => {
  it('issues a new intermediate under the same root and keeps the old one in the history', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    const before = await ensureMeshPki(m, fast);
    const old = before.cacerts('cluster2');
    const other = before.cacerts('cluster1');
    const [result] = await rotateIntermediates(m, ['cluster2'], fast);
    const now = result.pki.cacerts('cluster2');
    expect(now['ca-cert.pem']).not.toBe(old['ca-cert.pem']);
    expect(now['ca-key.pem']).not.toBe(old['ca-key.pem']);
    expect(now['root-cert.pem']).toBe(old['root-cert.pem']);
    expect(result.pki.cacerts('cluster1')).toEqual(other);
    expect(result.pki.intermediates.get('cluster2')).toBe('new');
    // The old pair is in the history, key still 0600, and recorded in the manifest.
    const historyCert = path.join(store, result.retired.cert);
    expect(result.retired.cert).toMatch(/^_history\/clusters\/cluster2\/\d{8}T\d{6}Z-[0-9a-f]+\/ca-cert\.pem$/);
    expect(fs.readFileSync(historyCert, 'utf8')).toBe(old['ca-cert.pem']);
    expect(fs.statSync(path.join(store, result.retired.key)).mode & 0o777).toBe(0o600);
    const manifest = manifestOf(store);
    expect(manifest.history).toEqual([result.retired]);
    expect(manifest.intermediates.cluster2.sha256).toBe(new X509Certificate(now['ca-cert.pem']).fingerprint256);
    // The new chain verifies against the unchanged root, and a later synth reuses it.
    const dir = cacertsDir(result.pki, 'cluster2', 'c2');
    expect(openssl(['verify', '-CAfile', 'root-cert.pem', 'ca-cert.pem'], dir)).toMatch(/ca-cert\.pem: OK/);
    const again = await ensureMeshPki(m, fast);
    expect(again.cacerts('cluster2')).toEqual(now);
  });

  it('replaces an expired intermediate, which synth refuses to use', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store, { profile: { ...DEFAULT_CERTIFICATE_PROFILE, intermediateValidityHours: 1 } });
    await ensureMeshPki(m, fast);
    const later = { ...fast, now: () => new Date(Date.now() + 2 * 3600 * 1000) };
    expect(await failure(ensureMeshPki(m, later))).toMatch(/cluster1\/ca-cert\.pem: expired on .*\n.*fix: run `meshgen certs rotate --cluster cluster1`/);
    // Every intermediate has expired, so one rotation must replace them all.
    expect(await failure(rotateIntermediates(m, ['cluster1'], later))).toMatch(/cluster2\/ca-cert\.pem: expired/);
    const results = await rotateIntermediates(m, ['cluster1', 'cluster2'], later);
    expect(results.map((r) => r.cluster)).toEqual(['cluster1', 'cluster2']);
    for (const c of ['cluster1', 'cluster2']) {
      expect(new Date(new X509Certificate(results[0].pki.cacerts(c)['ca-cert.pem']).validTo).getTime()).toBeGreaterThan(Date.now() + 2 * 3600 * 1000);
    }
  });

  it('puts everything back when the new intermediate cannot be made', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    await ensureMeshPki(m, fast);
    const before = readTree(store, { modes: true });
    const broken = { generateKey: () => Promise.reject(new KeyStoreError('no entropy today')) };
    expect(await failure(rotateIntermediates(m, ['cluster1'], broken))).toMatch(/no entropy today/);
    expect(readTree(store, { modes: true })).toEqual(before);
    expect(fs.existsSync(path.join(store, '_history'))).toBe(false);
  });

  it('puts every moved file back when the store turns out inconsistent after the move', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    await ensureMeshPki(m, fast);
    // cluster1's key no longer matches: the rotation of cluster2 moves its files, then the check fails.
    const other = path.join(tmpDir(), 'other');
    await ensureMeshPki(mesh(other), fast);
    fs.copyFileSync(path.join(other, 'cluster1', 'ca-key.pem'), path.join(store, 'cluster1', 'ca-key.pem'));
    const before = readTree(store, { modes: true });
    expect(await failure(rotateIntermediates(m, ['cluster2'], fast))).toMatch(/cluster1\/ca-key\.pem: is not the private key of ca-cert\.pem/);
    expect(readTree(store, { modes: true })).toEqual(before);
    expect(fs.existsSync(path.join(store, '_history'))).toBe(false);
  });

  it('replaces an intermediate the manifest lists whose files are gone, recording it as lost', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    const before = await ensureMeshPki(m, fast);
    const lostSha = new X509Certificate(before.cacerts('cluster2')['ca-cert.pem']).fingerprint256;
    fs.rmSync(path.join(store, 'cluster2'), { recursive: true });
    expect(await failure(ensureMeshPki(m, fast))).toMatch(/meshgen certs rotate --cluster cluster2/);
    const [r] = await rotateIntermediates(m, ['cluster2'], fast);
    expect(r.retired).toMatchObject({ cluster: 'cluster2', sha256: lostSha, lost: true });
    // Nothing was kept, so the entry points at no file (not at the replacement's path).
    expect([r.retired.cert, r.retired.key]).toEqual(['', '']);
    expect(r.pki.intermediates.get('cluster2')).toBe('new');
    expect((await ensureMeshPki(m, fast)).cacerts('cluster2')).toEqual(r.pki.cacerts('cluster2'));
  });

  it('refuses a cluster that is not in the mesh, or has no intermediate yet', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    expect(await failure(rotateIntermediates(m, ['cluster9'], fast))).toMatch(/mesh "mesh1" has no cluster "cluster9" \(its clusters: cluster1, cluster2\)/);
    expect(await failure(rotateIntermediates(m, ['cluster1'], fast))).toMatch(/cluster "cluster1" has no intermediate .* yet[\s\S]*fix: run `meshgen synth`/);
  });

  it('refuses meshes whose intermediates meshgen does not hold', async () => {
    const store = path.join(tmpDir(), 'pki');
    const certManager = mesh(store, { byo: { kind: 'cert-manager', issuerRef: { name: 'vault', kind: 'ClusterIssuer', group: 'cert-manager.io' } } as MeshModel['trust']['byo'] });
    expect(await failure(rotateIntermediates(certManager, ['cluster1'], fast))).toMatch(/gets its intermediates from cert-manager[\s\S]*cmctl renew/);
    const supplied = mesh(store, { byo: { kind: 'intermediates', rootCert: 'root.pem', intermediates: {} } });
    expect(await failure(rotateIntermediates(supplied, ['cluster1'], fast))).toMatch(/brings its own intermediates[\s\S]*spec\.trust\.intermediates/);
  });
});

describe('certs rotate --root', () => {
  it('walks the three stages; at each, every cacerts verifies against the bundle it ships, and in stages 1 and 2 workloads under either root verify each other', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    const stage0 = await ensureMeshPki(m, fast);
    const rootA = new X509Certificate(stage0.rootCertPem).fingerprint256;
    expect(await failure(advanceRootRotation([m], deployedOf(m, stage0), { ...fast, start: false }))).toMatch(/no root rotation of .* is under way/);

    // Stage 1: both roots trusted, intermediates unchanged.
    const s1 = (await advanceRootRotation([m], deployedOf(m, stage0), { ...fast, start: true })).pkis.get('mesh1') as MeshPki;
    const rootB = manifestOf(store).rootRotation?.nextRoot?.sha256 as string;
    expect(fingerprints(s1.rootCertPem)).toEqual([rootA, rootB]);
    expect(s1.rootRotation?.stage).toBe(1);
    for (const c of ['cluster1', 'cluster2']) {
      expect(s1.cacerts(c)['ca-cert.pem']).toBe(stage0.cacerts(c)['ca-cert.pem']);
      expect(fingerprints(s1.cacerts(c)['cert-chain.pem'])[1]).toBe(rootA);
      expect(openssl(['verify', '-CAfile', 'root-cert.pem', 'ca-cert.pem'], cacertsDir(s1, c, `s1-${c}`))).toMatch(/OK/);
    }
    expect(fs.statSync(path.join(store, '_next-root', 'root-key.pem')).mode & 0o777).toBe(0o600);
    expect(meshCertificatesStatus(m).rootRotation).toMatchObject({ stage: 1, nextRoot: { name: 'next root', verifies: true } });
    expect(await failure(advanceRootRotation([m], deployedOf(m, s1), { ...fast, start: true }))).toMatch(/is at stage 1[\s\S]*--root --continue/);

    // Not yet rolled out: the output still holds stage 0, so stage 2 would cut traffic.
    const beforeRefusal = readTree(store);
    const refused = await failure(advanceRootRotation([m], deployedOf(m, stage0), { ...fast, start: false }));
    expect(refused).toMatch(/not every cluster runs stage 1 \(both roots trusted\) yet/);
    expect(refused).toMatch(/dist\/cluster1: does not hold stage 1/);
    expect(readTree(store)).toEqual(beforeRefusal);
    const partial = deployedOf(m, s1);
    partial.delete('cluster2');
    expect(await failure(advanceRootRotation([m], partial, { ...fast, start: false }))).toMatch(/cluster "cluster2" of mesh "mesh1" has no folder in the output that shows what it trusts/);

    // Stage 2: intermediates from the new root, both roots trusted, new first.
    const s2 = (await advanceRootRotation([m], deployedOf(m, s1), { ...fast, start: false })).pkis.get('mesh1') as MeshPki;
    expect(fingerprints(s2.rootCertPem)).toEqual([rootB, rootA]);
    for (const c of ['cluster1', 'cluster2']) {
      expect(s2.cacerts(c)['ca-cert.pem']).not.toBe(s1.cacerts(c)['ca-cert.pem']);
      expect(fingerprints(s2.cacerts(c)['cert-chain.pem'])[1]).toBe(rootB);
      expect(openssl(['verify', '-CAfile', 'root-cert.pem', 'ca-cert.pem'], cacertsDir(s2, c, `s2-${c}`))).toMatch(/OK/);
    }
    expect(manifestOf(store).history.map((h) => h.cluster)).toEqual(['cluster1', 'cluster2']);
    expect(meshCertificatesStatus(m).intermediates.every((c) => c.verifies)).toBe(true);

    // Workloads: cluster1 still on its stage-1 intermediate (root A), cluster2 already on stage 2 (root B).
    const w1 = cacertsDir(s1, 'cluster1', 'w1');
    const w2 = cacertsDir(s2, 'cluster2', 'w2');
    const leafA = workloadCert(w1, 'sleep-a');
    const leafB = workloadCert(w2, 'sleep-b');
    for (const bundle of [cacertsDir(s1, 'cluster2', 'b1'), cacertsDir(s2, 'cluster1', 'b2')]) {
      expect(verifies(bundle, leafA, w1)).toBe(true);
      expect(verifies(bundle, leafB, w2)).toBe(true);
    }

    // Stage 3: the old root removed; a workload still under it would fail, which is why stage 2 is checked first.
    const s3 = (await advanceRootRotation([m], deployedOf(m, s2), { ...fast, start: false })).pkis.get('mesh1') as MeshPki;
    expect(fingerprints(s3.rootCertPem)).toEqual([rootB]);
    const b3 = cacertsDir(s3, 'cluster1', 'b3');
    expect(verifies(b3, leafB, w2)).toBe(true);
    expect(verifies(b3, leafA, w1)).toBe(false);
    for (const c of ['cluster1', 'cluster2']) {
      expect(s3.cacerts(c)['ca-cert.pem']).toBe(s2.cacerts(c)['ca-cert.pem']);
      expect(openssl(['verify', '-CAfile', 'root-cert.pem', 'ca-cert.pem'], cacertsDir(s3, c, `s3-${c}`))).toMatch(/OK/);
    }
    const manifest = manifestOf(store);
    expect(manifest.root?.sha256).toBe(rootB);
    expect(manifest.rootRotation).toMatchObject({ stage: 3, retiredRoot: { sha256: rootA } });
    expect(fs.existsSync(path.join(store, '_next-root'))).toBe(false);
    expect(new X509Certificate(fs.readFileSync(path.join(store, manifest.retiredRoots?.[0].cert as string))).fingerprint256).toBe(rootA);
    expect(meshCertificatesStatus(m).rootRotation).toMatchObject({ stage: 3 });
    expect(meshCertificatesStatus(m).root.verifies).toBe(true);
    expect(await failure(advanceRootRotation([m], deployedOf(m, s3), { ...fast, start: false }))).toMatch(/last root rotation .* is complete \(stage 3\)/);

    // A later synth reuses everything, and a new rotation may start from stage 3.
    const later = await ensureMeshPki(m, { ...fast, deployedRoot: { source: 'dist/cluster1', fingerprints: fingerprintsOf(s3.rootCertPem) } });
    expect(later.cacerts('cluster1')).toEqual(s3.cacerts('cluster1'));
    const next = await advanceRootRotation([m], deployedOf(m, s3), { ...fast, start: true });
    expect(next.stage).toBe(1);
    expect(next.oldRoot).toBe(rootB);
  });

  it('keeps the new root key encrypted like the old one, and needs the passphrase for it', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store, { encryptRootKey: true });
    const withPass = { ...fast, rootKeyPassphrase: async () => 'correct horse' };
    const s0 = await ensureMeshPki(m, withPass);
    expect(await failure(advanceRootRotation([m], deployedOf(m, s0), { ...fast, start: true }))).toMatch(/no passphrase was given/);
    expect(fs.existsSync(path.join(store, '_next-root'))).toBe(false);
    await advanceRootRotation([m], deployedOf(m, s0), { ...withPass, start: true });
    const keyFile = path.join(store, '_next-root', 'root-key.pem');
    expect(fs.readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(openssl(['pkey', '-in', keyFile, '-passin', 'pass:correct horse', '-noout', '-text_pub'], store)).toMatch(/Public-Key: \(2048 bit\)/);
  });

  it('refuses a next root that is not the one the clusters were given, and a rotation whose record is lost', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    const s0 = await ensureMeshPki(m, fast);
    await advanceRootRotation([m], deployedOf(m, s0), { ...fast, start: true });
    const manifestText = fs.readFileSync(path.join(store, MANIFEST_FILE), 'utf8');
    const nextDir = path.join(store, '_next-root');
    const saved = readTree(nextDir);
    // Another self-signed pair in its place.
    const other = path.join(tmpDir(), 'other');
    await ensureMeshPki(mesh(other), fast);
    fs.copyFileSync(path.join(other, 'root-cert.pem'), path.join(nextDir, 'root-cert.pem'));
    fs.copyFileSync(path.join(other, 'root-key.pem'), path.join(nextDir, 'root-key.pem'));
    expect(await failure(ensureMeshPki(m, fast))).toMatch(/_next-root\/root-cert\.pem: is not the certificate the key store manifest recorded for the next root/);
    for (const [f, content] of Object.entries(saved)) fs.writeFileSync(path.join(nextDir, f), content);
    // Without the manifest, the rotation would end silently: refused instead.
    fs.rmSync(path.join(store, MANIFEST_FILE));
    expect(await failure(ensureMeshPki(m, fast))).toMatch(/holds a next root, but its manifest records no root rotation under way[\s\S]*meshgen-key-store\.json: is missing[\s\S]*fix: restore meshgen-key-store\.json from backup/);
    fs.writeFileSync(path.join(store, MANIFEST_FILE), manifestText);
    expect((await ensureMeshPki(m, fast)).rootRotation?.stage).toBe(1);
  });

  it('names the next root key when the passphrase does not open it, and asks for one when only the next root is encrypted', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store, { encryptRootKey: true });
    const pass = { ...fast, rootKeyPassphrase: async () => 'correct horse' };
    const s0 = await ensureMeshPki(m, pass);
    await advanceRootRotation([m], deployedOf(m, s0), { ...pass, start: true });
    // The current root decrypted by hand; the next one still encrypted.
    const plain = createPrivateKey({ key: fs.readFileSync(path.join(store, 'root-key.pem'), 'utf8'), passphrase: 'correct horse' }).export({ type: 'pkcs8', format: 'pem' }).toString();
    fs.writeFileSync(path.join(store, 'root-key.pem'), plain);
    const plainMesh = mesh(store);
    expect(await failure(ensureMeshPki(plainMesh, fast))).toMatch(/_next-root\/root-key\.pem: needs a passphrase/);
    expect(await failure(ensureMeshPki(plainMesh, { ...fast, rootKeyPassphrase: async () => 'wrong' }))).toMatch(/_next-root\/root-key\.pem: the passphrase does not open it/);
    expect((await ensureMeshPki(plainMesh, pass)).rootRotation?.stage).toBe(1);
  });

  it('will not finish stage 3 over files it did not put in the next root folder', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    const s0 = await ensureMeshPki(m, fast);
    const s1 = (await advanceRootRotation([m], deployedOf(m, s0), { ...fast, start: true })).pkis.get('mesh1') as MeshPki;
    const s2 = (await advanceRootRotation([m], deployedOf(m, s1), { ...fast, start: false })).pkis.get('mesh1') as MeshPki;
    fs.writeFileSync(path.join(store, '_next-root', 'NOTES.txt'), 'backup taken\n');
    const before = readTree(store);
    expect(await failure(advanceRootRotation([m], deployedOf(m, s2), { ...fast, start: false }))).toMatch(/_next-root: holds NOTES\.txt[\s\S]*fix: move them out of the key store/);
    expect(readTree(store)).toEqual(before);
  });

  it('re-issues each mesh of a shared key store with its own key algorithm, and refuses when a mesh of the store is left out', async () => {
    const store = path.join(tmpDir(), 'pki');
    const ec = shares(mesh(store, { profile: { ...DEFAULT_CERTIFICATE_PROFILE, curve: 'P-256' } }), 'mesh2');
    const rsa = shares({ ...meshModel(store, ['cluster3'], { profile: { ...DEFAULT_CERTIFICATE_PROFILE, keyBits: 2048 } }), name: 'mesh2' }, 'mesh1');
    const p1 = await ensureMeshPki(ec);
    const p2 = await ensureMeshPki(rsa);
    const deployed = new Map([...deployedOf(ec, p1), ...deployedOf(rsa, p2)]);
    expect(await failure(advanceRootRotation([ec], deployedOf(ec, p1), { start: true }))).toMatch(/also holds intermediates of mesh "mesh2", which the topology given does not define/);
    const s1 = await advanceRootRotation([ec, rsa], deployed, { start: true });
    const d1 = new Map([...deployedOf(ec, s1.pkis.get('mesh1') as MeshPki), ...deployedOf(rsa, s1.pkis.get('mesh2') as MeshPki)]);
    const s2 = await advanceRootRotation([ec, rsa], d1, { start: false });
    const keyType = (pki: MeshPki, c: string) => createPrivateKey(pki.cacerts(c)['ca-key.pem']).asymmetricKeyType;
    expect(keyType(s2.pkis.get('mesh1') as MeshPki, 'cluster1')).toBe('ec');
    expect(keyType(s2.pkis.get('mesh2') as MeshPki, 'cluster3')).toBe('rsa');
  });

  it('refuses a store without a manifest whose folders hold clusters of meshes not given', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m1 = shares(mesh(store), 'mesh2');
    const m2 = shares({ ...meshModel(store, ['cluster3']), name: 'mesh2' }, 'mesh1');
    const p1 = await ensureMeshPki(m1, fast);
    await ensureMeshPki(m2, fast);
    fs.rmSync(path.join(store, MANIFEST_FILE));
    expect(await failure(advanceRootRotation([m1], deployedOf(m1, p1), { ...fast, start: true }))).toMatch(/holds intermediates of clusters that are in none of the meshes given[\s\S]*holds cluster3\//);
    expect(fs.existsSync(path.join(store, '_next-root'))).toBe(false);
  });

  it('refuses a root brought along, which meshgen does not keep', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store, { byo: { kind: 'root', rootCert: 'corp.pem', rootKey: 'corp.key' } });
    expect(await failure(advanceRootRotation([m], new Map(), { ...fast, start: true }))).toMatch(/brings its own root[\s\S]*spec\.trust\.rootCert/);
  });

  it('fails, naming the file, when the next root of a rotation under way is gone', async () => {
    const store = path.join(tmpDir(), 'pki');
    const m = mesh(store);
    const s0 = await ensureMeshPki(m, fast);
    await advanceRootRotation([m], deployedOf(m, s0), { ...fast, start: true });
    fs.rmSync(path.join(store, '_next-root'), { recursive: true });
    expect(await failure(ensureMeshPki(m, fast))).toMatch(/_next-root\/root-cert\.pem: is missing, but the key store is at stage 1 of a root rotation/);
  });
});
