import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createIntermediateCertificate,
  createRootCertificate,
  generateEcPrivateKey,
  generatePrivateKey,
  newSerial,
} from '../../src/pki/certificates';
import { tmpDir } from '../helpers';

const NOW = new Date('2026-03-04T05:06:07.890Z');

function ext(cert: forge.pki.Certificate, name: string): Record<string, unknown> | undefined {
  return cert.getExtension(name) as Record<string, unknown> | undefined;
}

describe('CA certificates in the tools/certs profile', () => {
  let rootKey: string;
  let interKey: string;
  let rootPem: string;
  let interPem: string;

  beforeAll(async () => {
    [rootKey, interKey] = await Promise.all([generatePrivateKey(), generatePrivateKey()]);
    rootPem = createRootCertificate(rootKey, { now: NOW, serial: Buffer.from('0a0b', 'hex') });
    interPem = createIntermediateCertificate(interKey, { certPem: rootPem, keyPem: rootKey }, 'cluster1', {
      now: new Date(NOW.getTime() + 1000),
      serial: Buffer.from('0c', 'hex'),
    });
  });

  it('makes RSA 4096 keys as PKCS#8', () => {
    expect(rootKey.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    expect(forge.pki.privateKeyFromPem(rootKey).n.bitLength()).toBe(4096);
  });

  it('makes a self-signed root: O=Istio, CN=Root CA, CA without pathlen, critical key usage, SKID, no SAN or AKID', () => {
    const cert = forge.pki.certificateFromPem(rootPem);
    expect(cert.subject.attributes.map((a) => [a.shortName, a.value])).toEqual([
      ['O', 'Istio'],
      ['CN', 'Root CA'],
    ]);
    expect(cert.issuer.hash).toBe(cert.subject.hash);
    expect(cert.siginfo.algorithmOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    expect(cert.serialNumber).toBe('0a0b');
    expect(cert.validity.notBefore.toISOString()).toBe('2026-03-04T05:06:07.000Z');
    expect(cert.validity.notAfter.toISOString()).toBe('2036-03-01T05:06:07.000Z');
    expect(ext(cert, 'basicConstraints')).toMatchObject({ critical: true, cA: true });
    expect(ext(cert, 'basicConstraints')).not.toHaveProperty('pathLenConstraint');
    expect(ext(cert, 'keyUsage')).toMatchObject({
      critical: true,
      digitalSignature: true,
      nonRepudiation: true,
      keyEncipherment: true,
      keyCertSign: true,
      cRLSign: false,
    });
    expect(ext(cert, 'subjectKeyIdentifier')).toBeDefined();
    expect(ext(cert, 'subjectAltName')).toBeFalsy();
    expect(ext(cert, 'authorityKeyIdentifier')).toBeFalsy();
    expect(cert.verify(cert)).toBe(true);
  });

  it('makes an intermediate: O=Istio, CN=Intermediate CA, L=<cluster>, pathlen 0, SAN istiod.istio-system.svc, AKID of the root', () => {
    const root = forge.pki.certificateFromPem(rootPem);
    const cert = forge.pki.certificateFromPem(interPem);
    expect(cert.subject.attributes.map((a) => [a.shortName, a.value])).toEqual([
      ['O', 'Istio'],
      ['CN', 'Intermediate CA'],
      ['L', 'cluster1'],
    ]);
    expect(cert.issuer.hash).toBe(root.subject.hash);
    expect(cert.siginfo.algorithmOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    expect(ext(cert, 'basicConstraints')).toMatchObject({ critical: true, cA: true, pathLenConstraint: 0 });
    expect(ext(cert, 'keyUsage')).toMatchObject({ critical: true, keyCertSign: true, digitalSignature: true });
    expect((ext(cert, 'subjectAltName') as { altNames: unknown[] }).altNames).toEqual([
      { type: 2, value: 'istiod.istio-system.svc' },
    ]);
    const x509 = new X509Certificate(interPem);
    const rootX509 = new X509Certificate(rootPem);
    // AKID keyid of the intermediate equals the root's SKID.
    const rootSkid = (ext(root, 'subjectKeyIdentifier') as { subjectKeyIdentifier: string }).subjectKeyIdentifier;
    const akidDer = (ext(cert, 'authorityKeyIdentifier') as { value: string }).value;
    expect(forge.util.bytesToHex(akidDer)).toContain(rootSkid);
    expect(x509.checkIssued(rootX509)).toBe(true);
    expect(x509.verify(rootX509.publicKey)).toBe(true);
    expect(new Date(x509.validTo).getTime()).toBeLessThanOrEqual(new Date(rootX509.validTo).getTime());
  });

  it('never lets an intermediate outlive its root', () => {
    const pem = createIntermediateCertificate(interKey, { certPem: rootPem, keyPem: rootKey }, 'c', {
      now: new Date(NOW.getTime() + 400 * 24 * 3600 * 1000),
      serial: newSerial(),
    });
    expect(new X509Certificate(pem).validTo).toBe(new X509Certificate(rootPem).validTo);
  });

  it('passes openssl verify, with the extensions openssl reads back', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'root-cert.pem'), rootPem);
    fs.writeFileSync(path.join(dir, 'ca-cert.pem'), interPem);
    const out = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'root-cert.pem'), path.join(dir, 'ca-cert.pem')], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(`${path.join(dir, 'ca-cert.pem')}: OK`);
    const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'ca-cert.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/Public-Key: \(4096 bit\)/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Non Repudiation, Key Encipherment, Certificate Sign/);
    expect(text).toMatch(/X509v3 Subject Alternative Name: \n\s+DNS:istiod\.istio-system\.svc/);
    expect(text).toMatch(/Subject: O = Istio, CN = Intermediate CA, L = cluster1/);
    const rootText = execFileSync('openssl', ['x509', '-in', path.join(dir, 'root-cert.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(rootText).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    expect(rootText).not.toMatch(/Authority Key Identifier/);
  });

  it('makes serials that are positive, minimal DER integers', () => {
    for (let i = 0; i < 200; i++) {
      const s = newSerial();
      expect(s.length).toBe(16);
      expect(s[0]).toBeGreaterThan(0);
      expect(s[0]).toBeLessThan(0x80);
    }
  });
});

describe('mixed chains', () => {
  it('issues an ECDSA intermediate under an RSA root (a corporate RSA root with ECDSA clusters), signed sha256WithRSAEncryption, that openssl verifies', async () => {
    const [rsaRoot, ecInter] = await Promise.all([generatePrivateKey(2048), generateEcPrivateKey('P-256')]);
    const root = createRootCertificate(rsaRoot, { now: NOW, serial: Buffer.from('01', 'hex'), validityDays: 30 });
    const inter = createIntermediateCertificate(ecInter, { certPem: root, keyPem: rsaRoot }, 'cluster1', { now: NOW, serial: Buffer.from('02', 'hex') });
    // Never outlives its root, on this path too.
    expect(new X509Certificate(inter).validTo).toBe(new X509Certificate(root).validTo);
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'root.pem'), root);
    fs.writeFileSync(path.join(dir, 'inter.pem'), inter);
    const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'inter.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/ASN1 OID: prime256v1/);
    const out = execFileSync('openssl', ['verify', '-x509_strict', '-attime', String(Math.floor(NOW.getTime() / 1000) + 60), '-CAfile', path.join(dir, 'root.pem'), path.join(dir, 'inter.pem')], {
      encoding: 'utf8',
    });
    expect(out.trim()).toMatch(/: OK$/);
    // And the other way round: an RSA intermediate under an ECDSA root is signed ecdsa-with-SHA384 on P-384.
    const [ecRoot, rsaInter] = await Promise.all([generateEcPrivateKey('P-384'), generatePrivateKey(2048)]);
    const root2 = createRootCertificate(ecRoot, { now: NOW, serial: Buffer.from('03', 'hex') });
    const inter2 = createIntermediateCertificate(rsaInter, { certPem: root2, keyPem: ecRoot }, 'cluster2', { now: NOW, serial: Buffer.from('04', 'hex') });
    const c2 = new X509Certificate(inter2);
    expect(c2.verify(new X509Certificate(root2).publicKey)).toBe(true);
    expect(c2.checkIssued(new X509Certificate(root2))).toBe(true);
  });
});

describe('serial numbers and signer keys given from outside', () => {
  it('encodes any serial as a positive, minimal DER INTEGER, and refuses zero', async () => {
    const key = await generateEcPrivateKey('P-256');
    const dir = tmpDir();
    for (const [hex, shown] of [
      ['8011', '8011'],
      ['000001', '01'],
    ]) {
      const pem = createRootCertificate(key, { now: NOW, serial: Buffer.from(hex, 'hex') });
      fs.writeFileSync(path.join(dir, 'c.pem'), pem);
      expect(execFileSync('openssl', ['x509', '-in', path.join(dir, 'c.pem'), '-noout', '-serial'], { encoding: 'utf8' }).trim()).toBe(`serial=${shown.toUpperCase()}`);
      expect(execFileSync('openssl', ['asn1parse', '-in', path.join(dir, 'c.pem')], { encoding: 'utf8' })).not.toMatch(/INTEGER\s+:-/);
    }
    expect(() => createRootCertificate(key, { now: NOW, serial: Buffer.from('0000', 'hex') })).toThrow(/must not be zero/);
  });

  it('refuses a signing key that istiod could not use', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => createRootCertificate(k1, { now: NOW, serial: Buffer.from('01', 'hex') })).toThrow(/an EC key on secp256k1 cannot sign Istio CA certificates/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => createRootCertificate(ed, { now: NOW, serial: Buffer.from('01', 'hex') })).toThrow(/a key of type ed25519 cannot sign/);
  });
});

describe('parsing certificates', () => {
  it('parses each PEM text once and gives the same certificate again, and nothing for what is not a certificate', async () => {
    const { parseCertificate } = await import('../../src/pki/inspect');
    const dir = path.join(__dirname, '..', 'fixtures', 'pki');
    const root = fs.readFileSync(path.join(dir, 'root-cert.pem'), 'utf8');
    const intermediate = fs.readFileSync(path.join(dir, 'cluster1', 'ca-cert.pem'), 'utf8');
    const first = parseCertificate(root);
    expect(first?.subject).toBe(new X509Certificate(root).subject);
    expect(parseCertificate(`${root}`)).toBe(first);
    expect(parseCertificate(intermediate)).not.toBe(first);
    expect(parseCertificate(intermediate)?.fingerprint256).toBe(new X509Certificate(intermediate).fingerprint256);
    expect(parseCertificate('not a certificate')).toBeUndefined();
    expect(parseCertificate(root.replace('MII', 'MIJ'))).toBeUndefined();
  });
});

describe('the thread pool for key making', () => {
  it('gets a thread per key about to be made, 4 to 128, unless UV_THREADPOOL_SIZE is set', () => {
    const built = path.join(__dirname, '..', '..', 'lib', 'src', 'pki', 'certificates.js');
    const poolFor = (keys: number, env: Record<string, string> = {}) => {
      const { UV_THREADPOOL_SIZE: _drop, ...rest } = process.env;
      return execFileSync(process.execPath, ['-e', `require(${JSON.stringify(built)}).sizeThreadPoolFor(${keys}); process.stdout.write(process.env.UV_THREADPOOL_SIZE)`], {
        env: { ...rest, ...env },
        encoding: 'utf8',
      });
    };
    expect([poolFor(1), poolFor(10), poolFor(500)]).toEqual(['4', '10', '128']);
    expect(poolFor(10, { UV_THREADPOOL_SIZE: '7' })).toBe('7');
  });
});
