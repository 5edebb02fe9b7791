/**
 * Sealed Secrets for tests: controller key pairs made with openssl, as the
 * controller makes its own (a self-signed RSA certificate), and the
 * controller's unsealing (bitnami-labs/sealed-secrets v0.36
 * `pkg/crypto` HybridDecrypt, `SealedSecret.Unseal`), written from its
 * source and sharing no code with meshgen's sealing.
 */
import { execFileSync } from 'node:child_process';
import { constants, createDecipheriv, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as forge from 'node-forge';

/** A controller's key pair: the certificate file kubeseal --fetch-cert would print, and the private key. */
export interface ControllerKey {
  readonly cert: string;
  readonly keyPem: string;
}

/**
 * Makes a controller key pair in `dir` with openssl; `algorithm` 'ec' makes one the controller could not use,
 * `expired` one whose certificate (made with node-forge) ended in 2021.
 */
export function controllerKey(dir: string, name: string, opts: { bits?: number; algorithm?: 'rsa' | 'ec'; expired?: boolean } = {}): ControllerKey {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  if (opts.expired) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const c = forge.pki.createCertificate();
    c.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    c.serialNumber = '01';
    c.validity.notBefore = new Date('2020-01-01T00:00:00Z');
    c.validity.notAfter = new Date('2021-01-01T00:00:00Z');
    const subject = [{ name: 'organizationName', value: 'sealed-secret' }, { name: 'commonName', value: 'sealed-secret' }];
    c.setSubject(subject);
    c.setIssuer(subject);
    c.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
    fs.writeFileSync(cert, forge.pki.certificateToPem(c));
    return { cert, keyPem };
  }
  const newkey = opts.algorithm === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', `rsa:${opts.bits ?? 2048}`];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-days', '3650', '-subj', '/O=sealed-secret/CN=sealed-secret'], {
    stdio: 'ignore',
  });
  return { cert, keyPem: fs.readFileSync(key, 'utf8') };
}

/** The label the controller unseals with, from the SealedSecret's own metadata (`EncryptionLabel`). */
function labelOf(metadata: { name: string; namespace?: string; annotations?: Record<string, string> }): string {
  const a = metadata.annotations ?? {};
  if (a['sealedsecrets.bitnami.com/cluster-wide'] === 'true') return '';
  if (a['sealedsecrets.bitnami.com/namespace-wide'] === 'true') return metadata.namespace ?? '';
  return `${metadata.namespace ?? ''}/${metadata.name}`;
}

/** The values (as bytes) the controller holding `keyPem` unseals from `sealed`; throws when it cannot. */
export function unseal(sealed: { metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec: { encryptedData: Record<string, string> } }, keyPem: string): Record<string, Buffer> {
  const label = Buffer.from(labelOf(sealed.metadata), 'utf8');
  const out: Record<string, Buffer> = {};
  for (const [k, b64] of Object.entries(sealed.spec.encryptedData)) {
    const bytes = Buffer.from(b64, 'base64');
    const n = bytes.readUInt16BE(0);
    const sessionKey = privateDecrypt({ key: keyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, bytes.subarray(2, 2 + n));
    const sealedValue = bytes.subarray(2 + n);
    const d = createDecipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
    d.setAuthTag(sealedValue.subarray(sealedValue.length - 16));
    out[k] = Buffer.concat([d.update(sealedValue.subarray(0, sealedValue.length - 16)), d.final()]);
  }
  return out;
}
