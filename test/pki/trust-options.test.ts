import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { meshYaml, readTree, runCli, tmpDir, TWO_CLUSTERS, walk } from '../helpers';

function topology(trust: string): { dir: string } {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), meshYaml({ clusters: TWO_CLUSTERS }).replace('  trust:\n    keyStore: pki\n', `  trust:\n    keyStore: pki\n${trust}`));
  return { dir };
}

const openssl = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

describe('trust options', () => {
  it('makes keys, names, validities and SANs as the topology says', () => {
    const { dir } = topology(
      [
        '    keyAlgorithm: RSA-2048',
        '    rootValidity: 720h',
        '    intermediateValidity: 10d',
        '    organization: Acme',
        '    rootCommonName: Acme Mesh Root',
        '    intermediateCommonName: Acme Mesh CA',
        '    extraSANs: [istiod.acme.internal]',
        '',
      ].join('\n'),
    );
    const r = runCli(['synth', '-q'], dir);
    expect(r.code, r.stderr).toBe(0);
    const root = path.join(dir, 'pki', 'root-cert.pem');
    const inter = path.join(dir, 'pki', 'cluster1', 'ca-cert.pem');
    const rootText = openssl(['x509', '-in', root, '-noout', '-text']);
    expect(rootText).toMatch(/Public-Key: \(2048 bit\)/);
    expect(rootText).toMatch(/Subject: O = Acme, CN = Acme Mesh Root/);
    const interText = openssl(['x509', '-in', inter, '-noout', '-text']);
    expect(interText).toMatch(/Subject: O = Acme, CN = Acme Mesh CA, L = cluster1/);
    expect(interText).toMatch(/DNS:istiod\.istio-system\.svc, DNS:istiod\.acme\.internal/);
    const span = (file: string) => {
      const dates = openssl(['x509', '-in', file, '-noout', '-startdate', '-enddate']);
      const [start, end] = dates.trim().split('\n').map((l) => new Date(l.split('=')[1]).getTime());
      return (end - start) / 3_600_000;
    };
    expect(span(root)).toBe(720);
    expect(span(inter)).toBe(240);
    expect(openssl(['verify', '-CAfile', root, inter]).trim()).toMatch(/OK$/);
  });
});

describe('ECDSA CAs', () => {
  for (const [algorithm, curve, bits, sig] of [
    ['ECDSA-P256', 'prime256v1', 256, 'ecdsa-with-SHA256'],
    ['ECDSA-P384', 'secp384r1', 384, 'ecdsa-with-SHA384'],
  ] as const) {
    it(`${algorithm}: the curve, Istio's extensions and a chain that openssl verifies`, () => {
      const { dir } = topology(`    keyAlgorithm: ${algorithm}\n    extraSANs: [istiod.acme.internal]\n`);
      const r = runCli(['synth', '-q'], dir);
      expect(r.code, r.stderr).toBe(0);
      const root = path.join(dir, 'pki', 'root-cert.pem');
      const rootText = openssl(['x509', '-in', root, '-noout', '-text']);
      expect(rootText).toMatch(new RegExp(`Public-Key: \\(${bits} bit\\)`));
      expect(rootText).toMatch(new RegExp(`ASN1 OID: ${curve}`));
      expect(rootText).toMatch(new RegExp(`Signature Algorithm: ${sig}`));
      expect(rootText).toMatch(/Subject: O = Istio, CN = Root CA/);
      expect(rootText).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
      expect(rootText).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Non Repudiation, Certificate Sign\n/);
      expect(rootText).toMatch(/X509v3 Subject Key Identifier/);
      expect(rootText).not.toMatch(/Authority Key Identifier|Subject Alternative Name/);
      for (const cluster of ['cluster1', 'cluster2']) {
        const inter = path.join(dir, 'pki', cluster, 'ca-cert.pem');
        const text = openssl(['x509', '-in', inter, '-noout', '-text']);
        expect(text).toMatch(new RegExp(`ASN1 OID: ${curve}`));
        expect(text).toMatch(new RegExp(`Subject: O = Istio, CN = Intermediate CA, L = ${cluster}`));
        expect(text).toMatch(/Issuer: O = Istio, CN = Root CA/);
        expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0/);
        expect(text).toMatch(/DNS:istiod\.istio-system\.svc, DNS:istiod\.acme\.internal/);
        // The AKID of the intermediate is the SKID of the root.
        const skid = /Subject Key Identifier: *\n\s+([0-9A-F:]+)/.exec(rootText)?.[1];
        expect(text).toMatch(new RegExp(`Authority Key Identifier: *\\n\\s+(keyid:)?${skid}`));
        expect(openssl(['verify', '-x509_strict', '-CAfile', root, inter]).trim()).toMatch(/OK$/);
        // The key is PKCS#8 ("PRIVATE KEY", which istiod's ParsePemEncodedKey reads), 0600, and matches the certificate.
        const key = path.join(dir, 'pki', cluster, 'ca-key.pem');
        expect(fs.readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
        expect(fs.statSync(key).mode & 0o777).toBe(0o600);
        expect(openssl(['pkey', '-in', key, '-pubout'])).toBe(openssl(['x509', '-in', inter, '-noout', '-pubkey']));
      }
      // The cacerts chain verifies as istiod and the proxies see it.
      const status = runCli(['certs', 'status'], dir);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`cluster1: .*; EC ${curve}; .*chain ok`));
    });
  }
});

describe('encrypted root key', () => {
  // ECDSA keys, made in milliseconds: the root key is encrypted as PKCS#8 whatever its algorithm.
  const ENCRYPTED = '    keyAlgorithm: ECDSA-P256\n    encryptRootKey: true\n';
  const PASS = { MESHGEN_ROOT_PASS: 'correct horse battery staple' };

  it('writes the root key as encrypted PKCS#8 (AES-256, PBKDF2 with SHA-256) that openssl reads, and reuses it', () => {
    const { dir } = topology(ENCRYPTED + '    passphrase: {env: MESHGEN_ROOT_PASS}\n');
    const r = runCli(['synth', '-q'], dir, PASS);
    expect(r.code, r.stderr).toBe(0);
    const keyFile = path.join(dir, 'pki', 'root-key.pem');
    const pem = fs.readFileSync(keyFile, 'utf8');
    expect(pem.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')).toBe(true);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const asn1 = openssl(['asn1parse', '-in', keyFile]);
    expect(asn1).toMatch(/PBES2/);
    expect(asn1).toMatch(/PBKDF2/);
    expect(asn1).toMatch(/hmacWithSHA256/);
    expect(asn1).toMatch(/aes-256-cbc/);
    const read = spawnSync('openssl', ['pkey', '-in', keyFile, '-passin', 'env:MESHGEN_ROOT_PASS', '-noout'], { env: { ...process.env, ...PASS } });
    expect(read.status).toBe(0);
    // No plaintext copy of the root key anywhere in the key store or the output.
    for (const file of walk(dir)) {
      if (file.endsWith('root-key.pem')) continue;
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(text.includes(pem.slice(40, 100)), file).toBe(false);
    }
    const before = readTree(path.join(dir, 'dist'));
    expect(runCli(['synth', '-q'], dir, PASS).code).toBe(0);
    expect(readTree(path.join(dir, 'dist'))).toEqual(before);
  });

  it('fails clearly without a passphrase or with a wrong one, and leaves nothing behind', () => {
    const { dir } = topology(ENCRYPTED + '    passphrase: {env: MESHGEN_ROOT_PASS}\n');
    let r = runCli(['synth'], dir, { MESHGEN_ROOT_PASS: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the root key of mesh "mesh1" is to be encrypted \(trust\.encryptRootKey\), and no passphrase was given[\s\S]*fix: set the environment variable named in trust\.passphrase\.env/);
    expect(fs.existsSync(path.join(dir, 'pki'))).toBe(false);
    expect(runCli(['synth', '-q'], dir, PASS).code).toBe(0);
    r = runCli(['synth'], dir, { MESHGEN_ROOT_PASS: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot decrypt the root key of mesh "mesh1"[\s\S]*the passphrase does not open it/);
    expect(r.stderr).not.toMatch(/wrong|correct horse/);
  });

  it('reads the passphrase from a file named in the topology', () => {
    const { dir } = topology(ENCRYPTED + '    passphrase: {file: secret/pass.txt}\n');
    fs.mkdirSync(path.join(dir, 'secret'));
    fs.writeFileSync(path.join(dir, 'secret', 'pass.txt'), 'from-a-file\n', { mode: 0o600 });
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    const read = spawnSync('openssl', ['pkey', '-in', path.join(dir, 'pki', 'root-key.pem'), '-passin', 'pass:from-a-file', '-noout']);
    expect(read.status).toBe(0);
  });
});
