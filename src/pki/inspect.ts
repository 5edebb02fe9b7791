/**
 * Checks over PEM material, with node:crypto's X509 parser: does a key
 * belong to a certificate, did a CA issue a certificate, what does a
 * certificate say. Pure; never returns or prints key material.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';

/**
 * Certificates parsed in this process, by their PEM text. A synth reads
 * each intermediate several times (key store check, manifest check, README):
 * in a fleet, parsing them again cost a tenth of a second. X509Certificate
 * objects cannot be changed, so one can be shared.
 */
const parsed = new Map<string, X509Certificate>();
/** Certificates the cache holds at most; past it, it starts over. */
const PARSED_MAX = 4096;

/** Parses a PEM certificate; undefined when it is not one. */
export function parseCertificate(pem: string): X509Certificate | undefined {
  const known = parsed.get(pem);
  if (known) return known;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return undefined;
  }
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(pem, cert);
  return cert;
}

/** True when `keyPem` is a private key whose public half is in `cert`. */
export function keyMatchesCertificate(keyPem: string, cert: X509Certificate): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** True when `child` names `issuer` as its issuer and carries a valid signature by it. */
export function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

/** The value of one attribute (e.g. `L`) in a certificate's subject. */
export function subjectAttribute(cert: X509Certificate, name: string): string | undefined {
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(0, eq) === name) return line.slice(eq + 1);
  }
  return undefined;
}

/** The PEM certificate blocks of a bundle, in order, each ending with a newline. */
export function pemCertificates(bundle: string): string[] {
  return (bundle.replace(/\r\n/g, '\n').match(/-----BEGIN CERTIFICATE-----\n[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => `${b}\n`);
}

/** True when a PEM private key is encrypted (PKCS#8 or legacy PEM); false for no key. */
export function isEncryptedKey(keyPem: string | undefined): boolean {
  return /BEGIN ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(keyPem ?? '');
}
