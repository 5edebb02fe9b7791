import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyStoreError } from '../../src/errors';
import { generatePrivateKey } from '../../src/pki/certificates';
import { ensureMeshPki, KeyStoreOptions } from '../../src/pki/key-store';
import { MANIFEST_FILE } from '../../src/pki/manifest';
import { copyFixturePki, meshModel, meshYaml, readTree, runCli, tmpDir, TWO_CLUSTERS } from '../helpers';

const mesh = (keyStore: string, names?: string[]) => meshModel(keyStore, names);

/** Small keys keep these tests fast; the profile's 4096 bits are tested in certificates.test.ts. */
const fast: KeyStoreOptions = { generateKey: () => generatePrivateKey(2048) };

function keyStoreError(p: Promise<unknown>): Promise<KeyStoreError> {
  return p.then(
    () => {
      throw new Error('expected a KeyStoreError');
    },
    (err) => {
      expect(err).toBeInstanceOf(KeyStoreError);
      return err as KeyStoreError;
    },
  );
}

describe('ensureMeshPki', () => {
  it('makes a root and one intermediate per cluster, keys 0600 in 0700 folders', async () => {
    const store = path.join(tmpDir(), 'pki');
    const pki = await ensureMeshPki(mesh(store), fast);
    expect(pki.root).toBe('new');
    expect([...pki.intermediates]).toEqual([
      ['cluster1', 'new'],
      ['cluster2', 'new'],
    ]);
    expect(Object.keys(readTree(store))).toEqual([
      'cluster1/ca-cert.pem',
      'cluster1/ca-key.pem',
      'cluster2/ca-cert.pem',
      'cluster2/ca-key.pem',
      'meshgen-key-store.json',
      'root-cert.pem',
      'root-key.pem',
    ]);
    const mode = (p: string) => fs.statSync(path.join(store, p)).mode & 0o777;
    expect(mode('root-key.pem')).toBe(0o600);
    expect(mode('cluster1/ca-key.pem')).toBe(0o600);
    expect(mode('root-cert.pem')).toBe(0o644);
    expect(mode('.')).toBe(0o700);
    expect(mode('cluster2')).toBe(0o700);
  });

  it('returns the cacerts files: chain is ca-cert then root, one root for all, a different intermediate per cluster', async () => {
    const store = path.join(tmpDir(), 'pki');
    const pki = await ensureMeshPki(mesh(store), fast);
    const a = pki.cacerts('cluster1');
    const b = pki.cacerts('cluster2');
    expect(a['cert-chain.pem']).toBe(a['ca-cert.pem'] + a['root-cert.pem']);
    expect(a['root-cert.pem']).toBe(b['root-cert.pem']);
    expect(a['root-cert.pem']).toBe(fs.readFileSync(path.join(store, 'root-cert.pem'), 'utf8'));
    expect(a['ca-cert.pem']).not.toBe(b['ca-cert.pem']);
    expect(a['ca-key.pem']).not.toBe(b['ca-key.pem']);
    const root = new X509Certificate(a['root-cert.pem']);
    expect(new X509Certificate(b['ca-cert.pem']).verify(root.publicKey)).toBe(true);
    expect(() => pki.cacerts('cluster9')).toThrow(/no intermediate CA for cluster "cluster9"/);
  });

  it('reuses every key on the next run and makes only what a new cluster needs', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    const before = readTree(store);
    let made = 0;
    const counting: KeyStoreOptions = { generateKey: () => (made++, generatePrivateKey(2048)) };
    const again = await ensureMeshPki(mesh(store), counting);
    expect(made).toBe(0);
    expect(again.root).toBe('reused');
    expect(readTree(store)).toEqual(before);
    const grown = await ensureMeshPki(mesh(store, ['cluster1', 'cluster2', 'cluster3']), counting);
    expect(made).toBe(1);
    expect([...grown.intermediates]).toEqual([
      ['cluster1', 'reused'],
      ['cluster2', 'reused'],
      ['cluster3', 'new'],
    ]);
    const after = readTree(store);
    for (const [file, content] of Object.entries(before)) if (file !== MANIFEST_FILE) expect(after[file]).toBe(content);
  });

  it('makes all missing keys at once, not one after another', async () => {
    const store = path.join(tmpDir(), 'pki');
    let inFlight = 0;
    let peak = 0;
    const tracking: KeyStoreOptions = {
      generateKey: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          return await generatePrivateKey(1024);
        } finally {
          inFlight--;
        }
      },
    };
    await ensureMeshPki(mesh(store, ['a', 'b', 'c', 'd']), tracking);
    expect(peak).toBe(5);
  });

  it('fails when the root does not match the intermediates, and changes nothing', async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    const other = path.join(tmpDir(), 'other');
    await ensureMeshPki(mesh(other, ['x']), fast);
    fs.copyFileSync(path.join(other, 'root-cert.pem'), path.join(store, 'root-cert.pem'));
    fs.copyFileSync(path.join(other, 'root-key.pem'), path.join(store, 'root-key.pem'));
    const before = readTree(store);
    const err = await keyStoreError(ensureMeshPki(mesh(store, ['cluster1', 'cluster2', 'cluster9']), fast));
    expect(err.message).toMatch(/^key store .*pki is inconsistent for mesh "mesh1"/);
    expect(err.message).toMatch(/cluster1\/ca-cert\.pem: was not signed by the root in .*root-cert\.pem/);
    expect(err.message).toMatch(/cluster2\/ca-cert\.pem: was not signed by the root/);
    expect(err.message).toMatch(/fix: restore the root that issued it, or run `meshgen certs rotate --cluster cluster1` to issue a new intermediate under the current root/);
    expect(err.message).not.toMatch(/PRIVATE KEY/);
    expect(readTree(store)).toEqual(before);
  });

  it('fails when intermediates exist without a root', async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    fs.rmSync(path.join(store, 'root-cert.pem'));
    fs.rmSync(path.join(store, 'root-key.pem'));
    const err = await keyStoreError(ensureMeshPki(mesh(store), fast));
    expect(err.message).toMatch(/has intermediates \(cluster1, cluster2\) but no root certificate and key/);
    expect(fs.existsSync(path.join(store, 'root-cert.pem'))).toBe(false);
  });

  it('fails when a key is there without its certificate', async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    fs.rmSync(path.join(store, 'cluster2', 'ca-cert.pem'));
    const err = await keyStoreError(ensureMeshPki(mesh(store), fast));
    expect(err.message).toMatch(/cluster2\/ca-key\.pem: ca-cert\.pem is missing beside it/);
  });

  it('fails when a key does not belong to its certificate', async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    fs.copyFileSync(path.join(store, 'cluster1', 'ca-key.pem'), path.join(store, 'cluster2', 'ca-key.pem'));
    const err = await keyStoreError(ensureMeshPki(mesh(store), fast));
    expect(err.message).toMatch(/cluster2\/ca-key\.pem: is not the private key of ca-cert\.pem/);
  });

  it("fails when a folder holds another cluster's intermediate", async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    fs.rmSync(path.join(store, 'cluster2'), { recursive: true });
    fs.renameSync(path.join(store, 'cluster3'), path.join(store, 'cluster2'));
    const err = await keyStoreError(ensureMeshPki(mesh(store), fast));
    expect(err.message).toMatch(/cluster2\/ca-cert\.pem: is the intermediate of cluster "cluster3", not of "cluster2"/);
  });

  it('fails when a certificate is not PEM', async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    fs.writeFileSync(path.join(store, 'root-cert.pem'), 'garbage\n');
    const err = await keyStoreError(ensureMeshPki(mesh(store), fast));
    expect(err.message).toMatch(/root-cert\.pem: is not a PEM certificate/);
  });

  it('fails when an intermediate has expired', async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    const err = await keyStoreError(ensureMeshPki(mesh(store), { ...fast, now: () => new Date('2040-01-01T00:00:00Z') }));
    expect(err.message).toMatch(/cluster1\/ca-cert\.pem: expired on 2035-12-30/);
    expect(err.message).toMatch(/root-cert\.pem: expired on/);
  });
});

describe('a key store used by two topology files', () => {
  it('refuses a second mesh whose file points at the store of another, naming the mesh, its clusters and the fix, changing nothing', () => {
    const dir = tmpDir();
    copyFixturePki(path.join(dir, 'pki'));
    // Two files, one mesh each, both on ./pki: loaded apart, neither sees the other.
    fs.writeFileSync(path.join(dir, 'a.yaml'), meshYaml({ name: 'mesh-a', clusters: TWO_CLUSTERS }));
    fs.writeFileSync(path.join(dir, 'b.yaml'), meshYaml({ name: 'mesh-b', clusters: [{ name: 'cluster3', network: 'network3' }] }));
    expect(runCli(['synth', '-q', '-f', 'a.yaml', '-o', 'dist-a'], dir).code).toBe(0);
    const store = readTree(path.join(dir, 'pki'), { modes: true });
    const r = runCli(['synth', '-q', '-f', 'b.yaml', '-o', 'dist-b'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('meshgen: key store pki holds the CA of another mesh, not of mesh "mesh-b" alone');
    expect(r.stderr).toContain('pki/meshgen-key-store.json: its intermediates of "cluster1", "cluster2" belong to mesh "mesh-a", which this run does not define');
    expect(r.stderr).toMatch(/fix: give mesh "mesh-b" a key store of its own \(spec\.trust\.keyStore/);
    expect(readTree(path.join(dir, 'pki'), { modes: true })).toEqual(store);
    expect(fs.existsSync(path.join(dir, 'dist-b'))).toBe(false);
    // Both files in one run, without a shared-root federation, are refused by the loader before the store is read.
    const both = runCli(['synth', '-q', '-f', 'a.yaml', '-f', 'b.yaml', '-o', 'dist-ab'], dir);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/invalid topology/);
  });

  it('takes the meshes of one topology that a shared-root federation lets share it', async () => {
    const store = path.join(tmpDir(), 'pki');
    const a = { ...meshModel(store, ['cluster1']), name: 'mesh-a' };
    const b = { ...meshModel(store, ['cluster2']), name: 'mesh-b' };
    await ensureMeshPki({ ...a, trust: { ...a.trust, storeSharedWith: ['mesh-b'] } }, fast);
    await expect(ensureMeshPki(b, fast)).rejects.toThrow(/holds the CA of another mesh, not of mesh "mesh-b" alone/);
    const pki = await ensureMeshPki({ ...b, trust: { ...b.trust, storeSharedWith: ['mesh-a'] } }, fast);
    expect(Object.keys(pki.cacerts('cluster2'))).toContain('ca-cert.pem');
  });
});
