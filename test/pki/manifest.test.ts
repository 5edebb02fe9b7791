import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyStoreError } from '../../src/errors';
import { generatePrivateKey } from '../../src/pki/certificates';
import { ensureMeshPki, KeyStoreOptions } from '../../src/pki/key-store';
import { KeyStoreManifest, MANIFEST_FILE, MANIFEST_VERSION } from '../../src/pki/manifest';
import { copyFixturePki, meshModel, tmpDir } from '../helpers';

const mesh = (keyStore: string, names?: string[]) => meshModel(keyStore, names);

const fast: KeyStoreOptions = { generateKey: () => generatePrivateKey(2048) };

function manifestOf(store: string): KeyStoreManifest {
  return JSON.parse(fs.readFileSync(path.join(store, MANIFEST_FILE), 'utf8')) as KeyStoreManifest;
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KeyStoreError);
    return (err as Error).message;
  }
  throw new Error('expected a KeyStoreError');
}

describe('key store manifest', () => {
  it('records every file with its mesh, cluster and the fingerprint openssl prints, and holds no key material', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    const m = manifestOf(store);
    expect(m.format).toBe('meshgen-key-store');
    expect(m.version).toBe(MANIFEST_VERSION);
    expect(Object.keys(m)).toEqual(['format', 'version', 'root', 'intermediates', 'history']);
    expect(m.root).toMatchObject({ cert: 'root-cert.pem', key: 'root-key.pem', keyEncrypted: false });
    expect(Object.keys(m.intermediates)).toEqual(['cluster1', 'cluster2']);
    expect(m.intermediates.cluster2).toMatchObject({ mesh: 'mesh1', cert: 'cluster2/ca-cert.pem', key: 'cluster2/ca-key.pem' });
    const cert = new X509Certificate(fs.readFileSync(path.join(store, 'cluster2', 'ca-cert.pem')));
    expect(m.intermediates.cluster2.sha256).toBe(cert.fingerprint256);
    expect(m.intermediates.cluster2.notAfter).toBe(new Date(cert.validTo).toISOString());
    expect(m.history).toEqual([]);
    expect(fs.readFileSync(path.join(store, MANIFEST_FILE), 'utf8')).not.toMatch(/PRIVATE KEY|BEGIN/);
  });

  it('gives a store made before manifests one, without touching its keys', async () => {
    const store = path.join(tmpDir(), 'pki');
    copyFixturePki(store);
    expect(fs.existsSync(path.join(store, MANIFEST_FILE))).toBe(false);
    const key = fs.readFileSync(path.join(store, 'cluster1', 'ca-key.pem'), 'utf8');
    const pki = await ensureMeshPki(mesh(store), fast);
    expect(pki.root).toBe('reused');
    expect(Object.keys(manifestOf(store).intermediates)).toEqual(['cluster1', 'cluster2']);
    expect(fs.readFileSync(path.join(store, 'cluster1', 'ca-key.pem'), 'utf8')).toBe(key);
  });

  it('does not rewrite an unchanged manifest', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    const file = path.join(store, MANIFEST_FILE);
    const old = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(file, old, old);
    await ensureMeshPki(mesh(store), fast);
    expect(fs.statSync(file).mtime.getTime()).toBe(old.getTime());
  });

  it('keeps the entries of clusters that left the topology', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store, ['cluster1', 'cluster2', 'cluster3']), fast);
    await ensureMeshPki(mesh(store, ['cluster1']), fast);
    expect(Object.keys(manifestOf(store).intermediates)).toEqual(['cluster1', 'cluster2', 'cluster3']);
  });

  it('names the manifest when it is not JSON', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    fs.writeFileSync(path.join(store, MANIFEST_FILE), '{"format": "meshgen-key-store", "vers');
    const message = await failure(ensureMeshPki(mesh(store), fast));
    expect(message).toMatch(/meshgen-key-store\.json: is not JSON/);
    expect(message).toMatch(/fix: restore the file from backup/);
  });

  it('refuses a manifest written by a newer meshgen', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    const m = manifestOf(store);
    fs.writeFileSync(path.join(store, MANIFEST_FILE), JSON.stringify({ ...m, version: MANIFEST_VERSION + 1 }));
    const message = await failure(ensureMeshPki(mesh(store), fast));
    expect(message).toMatch(new RegExp(`written by a newer meshgen \\(manifest version ${MANIFEST_VERSION + 1}; this one reads up to ${MANIFEST_VERSION}\\)`));
    expect(message).toMatch(/fix: upgrade meshgen/);
  });

  it('refuses a file that is not a key store manifest, or has broken entries', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    const m = manifestOf(store);
    fs.writeFileSync(path.join(store, MANIFEST_FILE), JSON.stringify({ hello: 'world' }));
    expect(await failure(ensureMeshPki(mesh(store), fast))).toMatch(/is not a meshgen key store manifest/);
    fs.writeFileSync(path.join(store, MANIFEST_FILE), JSON.stringify({ ...m, intermediates: { cluster1: { cert: 'x' } } }));
    expect(await failure(ensureMeshPki(mesh(store), fast))).toMatch(/has intermediates without cert, key and sha256/);
    fs.writeFileSync(path.join(store, MANIFEST_FILE), JSON.stringify({ ...m, rootRotation: { stage: 7 } }));
    expect(await failure(ensureMeshPki(mesh(store), fast))).toMatch(/rootRotation whose stage is not 1, 2 or 3/);
  });

  it('fails, naming the files, when an intermediate it lists is gone, instead of quietly issuing a new one', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    fs.rmSync(path.join(store, 'cluster2'), { recursive: true });
    const message = await failure(ensureMeshPki(mesh(store), fast));
    expect(message).toMatch(/cluster2\/ca-cert\.pem: is missing, but the key store manifest lists it as the intermediate CA of cluster "cluster2"/);
    expect(message).toMatch(/cluster2\/ca-key\.pem: is missing/);
    expect(message).toMatch(/meshgen certs rotate --cluster cluster2/);
    expect(fs.existsSync(path.join(store, 'cluster2'))).toBe(false);
  });

  it('fails when a certificate was replaced by another that fits together', async () => {
    const store = path.join(tmpDir(), 'pki');
    await ensureMeshPki(mesh(store), fast);
    const other = path.join(tmpDir(), 'other');
    await ensureMeshPki(mesh(other), fast);
    for (const f of ['root-cert.pem', 'root-key.pem', 'cluster1/ca-cert.pem', 'cluster1/ca-key.pem', 'cluster2/ca-cert.pem', 'cluster2/ca-key.pem']) {
      fs.copyFileSync(path.join(other, f), path.join(store, f));
    }
    const message = await failure(ensureMeshPki(mesh(store), fast));
    expect(message).toMatch(/root-cert\.pem: is not the certificate the key store manifest recorded for the root CA \(SHA-256 [0-9A-F:]+\): it was replaced/);
    expect(message).toMatch(/cluster1\/ca-cert\.pem: is not the certificate/);
  });
});
