import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkAgainstCrd } from '../helpers/istio-api';
import { meshYaml, readTree, runCli, tmpDir, TWO_CLUSTERS, walk } from '../helpers';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A CA made by openssl, as a corporate PKI would hand it over. */
function opensslRoot(dir: string, name = 'corp-root', extra: string[] = []): void {
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`, ...extra], dir);
  openssl(
    [
      'req', '-x509', '-new', '-key', `${name}.key`, '-days', '3650', '-subj', `/O=Corp/CN=${name}`, '-out', `${name}.pem`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', ...(extra.length ? ['-passin', 'pass:s3cret'] : []),
    ],
    dir,
  );
}

/** An intermediate for `cluster` under `root`, issued by openssl outside meshgen. */
function opensslIntermediate(dir: string, root: string, cluster: string): void {
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${cluster}.key`], dir);
  openssl(['req', '-new', '-key', `${cluster}.key`, '-subj', `/O=Corp/CN=Intermediate CA/L=${cluster}`, '-out', `${cluster}.csr`], dir);
  fs.writeFileSync(
    path.join(dir, `${cluster}.ext`),
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment,keyCertSign\nsubjectAltName=DNS:istiod.istio-system.svc\n',
  );
  openssl(['x509', '-req', '-in', `${cluster}.csr`, '-CA', `${root}.pem`, '-CAkey', `${root}.key`, '-CAcreateserial', '-days', '730', '-extfile', `${cluster}.ext`, '-out', `${cluster}.pem`], dir);
}

/**
 * A two-cluster mesh with `trust` lines added. The keys meshgen makes are RSA-2048 unless `trust` names an
 * algorithm: these tests are about the CA the user brings, and RSA-4096 keys would take seconds each.
 */
function topology(trust: string): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'ca'));
  const algorithm = trust.includes('keyAlgorithm:') ? '' : '    keyAlgorithm: RSA-2048\n';
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), meshYaml({ clusters: TWO_CLUSTERS }).replace('  trust:\n    keyStore: pki\n', `  trust:\n    keyStore: pki\n${algorithm}${trust}`));
  return dir;
}

/** The cacerts files of a cluster folder, decoded, written to `into`. */
function cacerts(dir: string, cluster: string, into: string): Record<string, string> {
  const docs = parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', cluster, 'secret.istio-system.cacerts.yaml'), 'utf8')).map((d) => d.toJSON());
  const data = docs[0].data as Record<string, string>;
  const files: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    files[k] = Buffer.from(v, 'base64').toString('utf8');
    fs.writeFileSync(path.join(into, `${cluster}-${k}`), files[k]);
  }
  return files;
}

describe('bring your own CA: (a) a root certificate and key', () => {
  it('names the root file when its key is of a kind istiod cannot use', () => {
    const dir = topology('    rootCert: ca/corp-root.pem\n    rootKey: ca/corp-root.key\n');
    const ca = path.join(dir, 'ca');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1', '-out', 'corp-root.key'], ca);
    openssl(['req', '-x509', '-new', '-key', 'corp-root.key', '-days', '30', '-subj', '/CN=k1', '-out', 'corp-root.pem', '-addext', 'basicConstraints=critical,CA:TRUE'], ca);
    const r = runCli(['synth', '-q'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot issue the intermediate of cluster "cluster1"\n\s+ca\/corp-root\.pem: an EC key on secp256k1 cannot sign Istio CA certificates/);
    expect(r.stderr).toMatch(/fix: use a root certificate and key that openssl reads \(RSA, or ECDSA on P-256, P-384 or P-521\)/);
  });

  it('chains under a root whose subject has several values in one part and non-ASCII text, and whose key identifier is not SHA-1', () => {
    const dir = topology('    rootCert: ca/corp-root.pem\n    rootKey: ca/corp-root.key\n    organization: Acme_Corp@Zürich\n');
    const ca = path.join(dir, 'ca');
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'corp-root.key'], ca);
    openssl(
      [
        'req', '-x509', '-new', '-key', 'corp-root.key', '-days', '3650', '-utf8', '-multivalue-rdn',
        '-subj', '/DC=example/DC=com/O=Société Générale+OU=PKI/CN=Corp Root', '-out', 'corp-root.pem',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-addext', 'subjectKeyIdentifier=0102030405060708090A0B0C0D0E0F1011121314', '-addext', 'authorityKeyIdentifier=none',
      ],
      ca,
    );
    // As `openssl pkcs12 -nokeys` exports it: attribute text before the PEM block.
    const pem = fs.readFileSync(path.join(ca, 'corp-root.pem'), 'utf8');
    fs.writeFileSync(path.join(ca, 'corp-root.pem'), `Bag Attributes\n    friendlyName: corp\nsubject=/CN=Corp Root\n${pem}`);
    const r = runCli(['synth', '-q'], dir);
    expect(r.code, r.stderr).toBe(0);
    for (const cluster of ['cluster1', 'cluster2']) {
      const files = cacerts(dir, cluster, ca);
      expect(files['ca-cert.pem']).toBeTruthy();
      expect(openssl(['verify', '-x509_strict', '-CAfile', `${cluster}-root-cert.pem`, `${cluster}-ca-cert.pem`], ca)).toMatch(/OK/);
      const text = openssl(['x509', '-in', `${cluster}-ca-cert.pem`, '-noout', '-text', '-nameopt', 'utf8'], ca);
      expect(text).toMatch(/Authority Key Identifier: *\n\s+(keyid:)?01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14/);
      // Names are UTF8String, never a PrintableString holding characters it may not hold.
      const asn1 = openssl(['asn1parse', '-in', `${cluster}-ca-cert.pem`], ca);
      expect(asn1).toMatch(/UTF8STRING\s+:Acme_Corp@Z/);
      expect(asn1).not.toMatch(/PRINTABLESTRING\s+:Acme/);
    }
    // The next run reuses the intermediates: meshgen accepts what it issued.
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
  });

  it('issues the intermediates under the given root and never copies the root into the key store', () => {
    const dir = topology('    rootCert: ca/corp-root.pem\n    rootKey: ca/corp-root.key\n');
    opensslRoot(path.join(dir, 'ca'));
    const r = runCli(['synth', '-q'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'pki', 'root-cert.pem'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'pki', 'root-key.pem'))).toBe(false);
    const rootPem = fs.readFileSync(path.join(dir, 'ca', 'corp-root.pem'), 'utf8');
    for (const cluster of ['cluster1', 'cluster2']) {
      const files = cacerts(dir, cluster, dir);
      expect(files['root-cert.pem'].trim()).toBe(rootPem.trim());
      expect(openssl(['verify', '-CAfile', 'ca/corp-root.pem', `${cluster}-ca-cert.pem`], dir).trim()).toMatch(/OK$/);
      expect(fs.statSync(path.join(dir, 'pki', cluster, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    }
    // The root key appears nowhere but where the user keeps it.
    const rootKey = fs.readFileSync(path.join(dir, 'ca', 'corp-root.key'), 'utf8');
    for (const file of walk(dir)) {
      if (file === path.join('ca', 'corp-root.key')) continue;
      expect(fs.readFileSync(path.join(dir, file), 'utf8').includes(rootKey.slice(40, 120)), file).toBe(false);
    }
    // A second run reuses the intermediates: the output does not change.
    const before = readTree(path.join(dir, 'dist'));
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    expect(readTree(path.join(dir, 'dist'))).toEqual(before);
  });

  it('reads an encrypted root key with the passphrase from the environment', () => {
    const dir = topology('    rootCert: ca/corp-root.pem\n    rootKey: ca/corp-root.key\n    passphrase: {env: CORP_CA_PASS}\n');
    opensslRoot(path.join(dir, 'ca'), 'corp-root', ['-aes-256-cbc', '-pass', 'pass:s3cret']);
    expect(fs.readFileSync(path.join(dir, 'ca', 'corp-root.key'), 'utf8')).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
    const wrong = runCli(['synth', '-q'], dir, { CORP_CA_PASS: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/ca\/corp-root\.key.*the passphrase does not open it/s);
    expect(fs.existsSync(path.join(dir, 'dist'))).toBe(false);
    const r = runCli(['synth', '-q'], dir, { CORP_CA_PASS: 's3cret' });
    expect(r.code, r.stderr).toBe(0);
    cacerts(dir, 'cluster1', dir);
    expect(openssl(['verify', '-CAfile', 'ca/corp-root.pem', 'cluster1-ca-cert.pem'], dir).trim()).toMatch(/OK$/);
  });

  it('refuses a root that is not a CA, naming the file', () => {
    const dir = topology('    rootCert: ca/leaf.pem\n    rootKey: ca/leaf.key\n');
    const ca = path.join(dir, 'ca');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-days', '30', '-subj', '/CN=leaf', '-addext', 'basicConstraints=CA:FALSE', '-out', 'leaf.pem'], ca);
    const r = runCli(['synth', '-q'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ca\/leaf\.pem/);
    expect(r.stderr).not.toMatch(/PRIVATE KEY/);
    expect(fs.existsSync(path.join(dir, 'pki'))).toBe(false);
  });
});

describe('bring your own CA: (b) a root certificate and each cluster\'s intermediate', () => {
  const trust = [
    '    rootCert: ca/corp-root.pem',
    '    intermediates:',
    '      cluster1: {cert: ca/cluster1.pem, key: ca/cluster1.key}',
    '      cluster2: {cert: ca/cluster2.pem, key: ca/cluster2.key}',
    '',
  ].join('\n');

  it('ships exactly the given intermediates, chained to the root, and writes no CA material of its own', () => {
    const dir = topology(trust);
    const ca = path.join(dir, 'ca');
    opensslRoot(ca);
    opensslIntermediate(ca, 'corp-root', 'cluster1');
    opensslIntermediate(ca, 'corp-root', 'cluster2');
    fs.rmSync(path.join(ca, 'corp-root.key'));
    const r = runCli(['synth', '-q'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'pki'))).toBe(false);
    for (const cluster of ['cluster1', 'cluster2']) {
      const files = cacerts(dir, cluster, dir);
      expect(files['ca-cert.pem'].trim()).toBe(fs.readFileSync(path.join(ca, `${cluster}.pem`), 'utf8').trim());
      expect(files['ca-key.pem'].trim()).toBe(fs.readFileSync(path.join(ca, `${cluster}.key`), 'utf8').trim());
      expect(files['cert-chain.pem']).toBe(files['ca-cert.pem'] + files['root-cert.pem']);
      expect(openssl(['verify', '-CAfile', `${cluster}-root-cert.pem`, `${cluster}-ca-cert.pem`], dir).trim()).toMatch(/OK$/);
    }
    const status = runCli(['certs', 'status', '--json'], dir);
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout).meshes;
    expect(parsed[0].root.file).toBe(path.join('ca', 'corp-root.pem'));
    expect(parsed[0].intermediates.map((c: { verifies: boolean }) => c.verifies)).toEqual([true, true]);
  });

  it('refuses an intermediate issued under another root, naming its file, and writes nothing', () => {
    const dir = topology(trust);
    const ca = path.join(dir, 'ca');
    opensslRoot(ca);
    opensslRoot(ca, 'other-root');
    opensslIntermediate(ca, 'corp-root', 'cluster1');
    opensslIntermediate(ca, 'other-root', 'cluster2');
    const r = runCli(['synth', '-q'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ca\/cluster2\.pem.*was not issued by ca\/corp-root\.pem/s);
    expect(r.stderr).not.toMatch(/ca\/cluster1\.pem/);
    expect(fs.existsSync(path.join(dir, 'dist'))).toBe(false);
  });

  it('refuses a key that does not belong to its certificate', () => {
    const dir = topology(trust.replace('cluster2: {cert: ca/cluster2.pem, key: ca/cluster2.key}', 'cluster2: {cert: ca/cluster2.pem, key: ca/cluster1.key}'));
    const ca = path.join(dir, 'ca');
    opensslRoot(ca);
    opensslIntermediate(ca, 'corp-root', 'cluster1');
    opensslIntermediate(ca, 'corp-root', 'cluster2');
    const r = runCli(['synth', '-q'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ca\/cluster1\.key.*is not the private key of cluster2\.pem/s);
  });

  it('names the cluster without an intermediate, before reading any file', () => {
    const dir = topology(trust.replace('      cluster2: {cert: ca/cluster2.pem, key: ca/cluster2.key}\n', ''));
    const r = runCli(['validate'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.trust\.intermediates.*no intermediate for "cluster2"/s);
  });

  it('rejects rootKey and intermediates together', () => {
    const dir = topology(`${trust}    rootKey: ca/corp-root.key\n`);
    const r = runCli(['validate'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/give either rootKey .* or intermediates/);
  });
});

describe('bring your own CA: (c) cert-manager', () => {
  it('asks cert-manager for an ECDSA key on the curve of keyAlgorithm, without key encipherment', () => {
    const dir = topology('    keyAlgorithm: ECDSA-P384\n    certManager:\n      issuerRef: {name: vault-istio, kind: ClusterIssuer}\n');
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    const cert = parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', 'cluster1', 'certificate.istio-system.cacerts.yaml'), 'utf8'))[0].toJSON();
    expect(cert.spec.privateKey).toEqual({ algorithm: 'ECDSA', size: 384, rotationPolicy: 'Always' });
    expect(cert.spec.usages).toEqual(['cert sign', 'crl sign', 'digital signature']);
    expect(checkAgainstCrd(cert)).toEqual([]);
  });

  it('writes a cert-manager Certificate into cacerts instead of any CA key, and waits for it before istiod', () => {
    const dir = topology('    certManager:\n      issuerRef: {name: vault-istio, kind: ClusterIssuer}\n      duration: 2160h\n');
    const r = runCli(['synth', '-q'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'pki'))).toBe(false);
    const out = path.join(dir, 'dist', 'cluster1');
    expect(fs.existsSync(path.join(out, 'secret.istio-system.cacerts.yaml'))).toBe(false);
    const cert = parseAllDocuments(fs.readFileSync(path.join(out, 'certificate.istio-system.cacerts.yaml'), 'utf8'))[0].toJSON();
    expect(cert).toMatchObject({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'cacerts', namespace: 'istio-system' },
      spec: {
        secretName: 'cacerts',
        isCA: true,
        subject: { localities: ['cluster1'] },
        dnsNames: ['istiod.istio-system.svc'],
        duration: '2160h',
        renewBefore: '720h',
        issuerRef: { name: 'vault-istio', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    });
    expect(cert.spec.usages).toContain('cert sign');
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    const wait = readme.indexOf('wait --for=condition=Ready certificate/cacerts -n istio-system');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThan(readme.indexOf('istioctl install --context'));
    for (const file of walk(path.join(dir, 'dist'))) {
      expect(fs.readFileSync(path.join(dir, 'dist', file), 'utf8'), file).not.toMatch(/PRIVATE KEY|ca-key\.pem/);
    }
    const status = runCli(['certs', 'status'], dir);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/cluster1: made in the cluster by cert-manager/);
  });

  it('rejects cert-manager together with a root key', () => {
    const dir = topology('    rootCert: ca/r.pem\n    rootKey: ca/r.key\n    certManager:\n      issuerRef: {name: x}\n');
    const r = runCli(['validate'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.trust\.certManager.*cannot be given too/s);
  });
});
