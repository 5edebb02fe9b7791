/**
 * CA certificates for ECDSA keys, which node-forge cannot encode or sign:
 * `@peculiar/asn1-x509` builds the certificate from its RFC 5280 schema and
 * node:crypto signs it (ECDSA with SHA-256 for P-256, SHA-384 for P-384;
 * SHA-256 with RSA when an RSA root signs an ECDSA intermediate). Same
 * profile as the RSA path: subject, SKI/AKID, basicConstraints, keyUsage
 * (without keyEncipherment, which an EC key cannot do) and the SAN.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, sign } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/asn1-x509';

const OID = {
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  locality: '2.5.4.7',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
} as const;

/** What goes into one certificate. */
export interface CertificateFields {
  readonly subjectKeyPem: string;
  readonly signerKeyPem: string;
  /** The issuer's certificate; undefined for a self-signed root. */
  readonly issuerCertPem?: string;
  readonly subject: ReadonlyArray<readonly [keyof typeof NAME_OIDS, string]>;
  readonly serial: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** `pathlen:0` for an intermediate; none for a root. */
  readonly pathLen?: number;
  readonly dnsNames?: readonly string[];
}

const NAME_OIDS = { O: OID.organization, CN: OID.commonName, L: OID.locality } as const;

/** True when a PEM private key is an EC key. */
export function isEcKey(keyPem: string): boolean {
  return createPrivateKey(keyPem).asymmetricKeyType === 'ec';
}

function derOf(pem: string): ArrayBuffer {
  const b = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function toPem(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The signature algorithm and hash a key signs with. */
function signatureOf(key: KeyObject): { algorithm: x509.AlgorithmIdentifier; hash: string } {
  if (key.asymmetricKeyType === 'ec') {
    const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    return { algorithm: new x509.AlgorithmIdentifier({ algorithm: p384 ? OID.ecdsaWithSHA384 : OID.ecdsaWithSHA256 }), hash: p384 ? 'sha384' : 'sha256' };
  }
  // RSA: parameters NULL, as RFC 4055 asks.
  return { algorithm: new x509.AlgorithmIdentifier({ algorithm: OID.sha256WithRSA, parameters: new Uint8Array([0x05, 0x00]).buffer }), hash: 'sha256' };
}

/** RFC 5280 key identifier, method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: x509.SubjectPublicKeyInfo): ArrayBuffer {
  const digest = createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();
  return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength) as ArrayBuffer;
}

function extension(id: string, critical: boolean, value: unknown): x509.Extension {
  return new x509.Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** Builds and signs one CA certificate; returns PEM. */
export function createCaCertificate(f: CertificateFields): string {
  const spkiDer = createPublicKey(f.subjectKeyPem).export({ type: 'spki', format: 'der' });
  const spki = AsnConvert.parse(spkiDer, x509.SubjectPublicKeyInfo);
  const subject = new x509.Name(
    f.subject.map(
      ([type, value]) => new x509.RelativeDistinguishedName([new x509.AttributeTypeAndValue({ type: NAME_OIDS[type], value: new x509.AttributeValue({ utf8String: value }) })]),
    ),
  );
  // The issuer name is the issuer certificate's subject, byte for byte, so chain building matches it.
  const issuerCert = f.issuerCertPem === undefined ? undefined : AsnConvert.parse(derOf(f.issuerCertPem), x509.Certificate);
  const issuerName = issuerCert ? issuerCert.tbsCertificate.subject : subject;
  const issuerKeyId = issuerCert ? keyIdentifier(issuerCert.tbsCertificate.subjectPublicKeyInfo) : undefined;
  const signer = createPrivateKey(f.signerKeyPem);
  const { algorithm, hash } = signatureOf(signer);
  const usage =
    x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation | x509.KeyUsageFlags.keyCertSign | (isEcKey(f.subjectKeyPem) ? 0 : x509.KeyUsageFlags.keyEncipherment);
  const extensions = [
    extension(x509.id_ce_subjectKeyIdentifier, false, new x509.SubjectKeyIdentifier(keyIdentifier(spki))),
    ...(issuerKeyId ? [extension(x509.id_ce_authorityKeyIdentifier, false, new x509.AuthorityKeyIdentifier({ keyIdentifier: new x509.KeyIdentifier(issuerKeyId) }))] : []),
    extension(x509.id_ce_basicConstraints, true, new x509.BasicConstraints({ cA: true, ...(f.pathLen !== undefined ? { pathLenConstraint: f.pathLen } : {}) })),
    extension(x509.id_ce_keyUsage, true, new x509.KeyUsage(usage)),
    ...(f.dnsNames && f.dnsNames.length > 0
      ? [extension(x509.id_ce_subjectAltName, false, new x509.SubjectAlternativeName(f.dnsNames.map((dNSName) => new x509.GeneralName({ dNSName }))))]
      : []),
  ];
  const tbs = new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: f.serial.buffer.slice(f.serial.byteOffset, f.serial.byteOffset + f.serial.byteLength) as ArrayBuffer,
    signature: algorithm,
    issuer: issuerName,
    validity: new x509.Validity({ notBefore: f.notBefore, notAfter: f.notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new x509.Extensions(extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign(hash, tbsDer, signer);
  const cert = new x509.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer,
  });
  return toPem(AsnConvert.serialize(cert));
}
