/**
 * Encodes and signs CA certificates: `@peculiar/asn1-x509` builds the
 * certificate from its RFC 5280 schema, node:crypto signs it.
 *
 * - Names are UTF8String, as openssl (and so Istio's `tools/certs`) writes
 *   them. An intermediate's issuer is the root's subject copied byte for
 *   byte, and its authority key identifier is the root's subject key
 *   identifier as the root states it, so chains build under any root,
 *   including one made by another CA with another key-identifier method.
 * - Signatures: SHA-256 with RSA (PKCS#1 v1.5, NULL parameters), ECDSA with
 *   SHA-256 on P-256, SHA-384 on P-384, SHA-512 on P-521 (a root brought along).
 * - keyUsage as `tools/certs`: digitalSignature, nonRepudiation,
 *   keyEncipherment, keyCertSign; an EC key leaves keyEncipherment out, as it
 *   cannot encipher keys.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, sign, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as X509 from '@peculiar/asn1-x509';
import { KeyStoreError } from '../errors';

/**
 * The ASN.1 libraries, loaded when the first certificate is made: a run that
 * only reads its certificates (every run after the first) does not pay the
 * tenth of a second they take to load.
 */
let asn1: { readonly x509: typeof X509; readonly schema: typeof Asn1Schema } | undefined;
function libraries(): NonNullable<typeof asn1> {
  if (asn1 === undefined) {
    const load = createRequire(__filename);
    asn1 = { x509: load('@peculiar/asn1-x509') as typeof X509, schema: load('@peculiar/asn1-schema') as typeof Asn1Schema };
  }
  return asn1;
}

const OID = {
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  locality: '2.5.4.7',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
} as const;

const NAME_OIDS = { O: OID.organization, CN: OID.commonName, L: OID.locality } as const;

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

/** True when a PEM private key is an EC key. */
export function isEcKey(keyPem: string): boolean {
  return createPrivateKey(keyPem).asymmetricKeyType === 'ec';
}

function arrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function toPem(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The signature algorithm and hash a key signs with. */
function signatureOf(key: KeyObject): { algorithm: X509.AlgorithmIdentifier; hash: string } {
  const { x509 } = libraries();
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const byCurve: Record<string, [string, string]> = {
      prime256v1: [OID.ecdsaWithSHA256, 'sha256'],
      secp384r1: [OID.ecdsaWithSHA384, 'sha384'],
      secp521r1: [OID.ecdsaWithSHA512, 'sha512'],
    };
    const pick = byCurve[curve];
    if (!pick) throw unsupported(`an EC key on ${curve || 'an unnamed curve'}`);
    return { algorithm: new x509.AlgorithmIdentifier({ algorithm: pick[0] }), hash: pick[1] };
  }
  if (key.asymmetricKeyType === 'rsa') {
    return { algorithm: new x509.AlgorithmIdentifier({ algorithm: OID.sha256WithRSA, parameters: new Uint8Array([0x05, 0x00]).buffer }), hash: 'sha256' };
  }
  throw unsupported(`a key of type ${key.asymmetricKeyType}`);
}

function unsupported(what: string): KeyStoreError {
  return new KeyStoreError(`${what} cannot sign Istio CA certificates (Go's x509, and so istiod, reads RSA and ECDSA on NIST curves)`, [
    { message: `the signing key is ${what}`, fix: 'use an RSA root key, or ECDSA on P-256, P-384 or P-521 (trust.rootKey, or the key store root)' },
  ]);
}

/** A serial as a positive, minimal DER INTEGER: leading zero bytes dropped, one added before a high bit; 1 to 20 octets, not zero. */
function serialInteger(serial: Buffer): ArrayBuffer {
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  let bytes = serial.subarray(start);
  if (bytes.length === 0 || bytes.every((b) => b === 0)) throw new KeyStoreError('a certificate serial number must not be zero (RFC 5280)');
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  if (bytes.length > 20) throw new KeyStoreError('a certificate serial number must fit in 20 octets (RFC 5280)');
  return arrayBuffer(Buffer.from(bytes));
}

/** RFC 5280 key identifier, method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: X509.SubjectPublicKeyInfo): ArrayBuffer {
  return arrayBuffer(createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest());
}

/** The subject key identifier a certificate states, else one computed from its key. */
function statedKeyIdentifier(cert: X509.Certificate): ArrayBuffer {
  const { x509, schema: { AsnConvert } } = libraries();
  const ext = cert.tbsCertificate.extensions?.find((e) => e.extnID === x509.id_ce_subjectKeyIdentifier);
  if (ext) return AsnConvert.parse(ext.extnValue.buffer, x509.SubjectKeyIdentifier).buffer;
  return keyIdentifier(cert.tbsCertificate.subjectPublicKeyInfo);
}

function extension(id: string, critical: boolean, value: unknown): X509.Extension {
  const { x509, schema: { AsnConvert, OctetString } } = libraries();
  return new x509.Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** Parses the first certificate of a PEM text (text around the block is fine, as openssl allows). */
function parseIssuer(pem: string): X509.Certificate {
  const { x509, schema: { AsnConvert } } = libraries();
  try {
    return AsnConvert.parse(arrayBuffer(new X509Certificate(pem).raw), x509.Certificate);
  } catch (err) {
    throw new KeyStoreError(`the issuing root is not a certificate meshgen can read (${(err as Error).message})`);
  }
}

/** Builds and signs one CA certificate; returns PEM. */
export function createCaCertificate(f: CertificateFields): string {
  const { x509, schema: { AsnConvert } } = libraries();
  const spki = AsnConvert.parse(createPublicKey(f.subjectKeyPem).export({ type: 'spki', format: 'der' }), x509.SubjectPublicKeyInfo);
  const subject = new x509.Name(
    f.subject.map(
      ([type, value]) => new x509.RelativeDistinguishedName([new x509.AttributeTypeAndValue({ type: NAME_OIDS[type], value: new x509.AttributeValue({ utf8String: value }) })]),
    ),
  );
  const issuerCert = f.issuerCertPem === undefined ? undefined : parseIssuer(f.issuerCertPem);
  const signer = createPrivateKey(f.signerKeyPem);
  const { algorithm, hash } = signatureOf(signer);
  const usage =
    x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation | x509.KeyUsageFlags.keyCertSign | (isEcKey(f.subjectKeyPem) ? 0 : x509.KeyUsageFlags.keyEncipherment);
  const extensions = [
    extension(x509.id_ce_subjectKeyIdentifier, false, new x509.SubjectKeyIdentifier(keyIdentifier(spki))),
    ...(issuerCert ? [extension(x509.id_ce_authorityKeyIdentifier, false, new x509.AuthorityKeyIdentifier({ keyIdentifier: new x509.KeyIdentifier(statedKeyIdentifier(issuerCert)) }))] : []),
    extension(x509.id_ce_basicConstraints, true, new x509.BasicConstraints({ cA: true, ...(f.pathLen !== undefined ? { pathLenConstraint: f.pathLen } : {}) })),
    extension(x509.id_ce_keyUsage, true, new x509.KeyUsage(usage)),
    ...(f.dnsNames && f.dnsNames.length > 0
      ? [extension(x509.id_ce_subjectAltName, false, new x509.SubjectAlternativeName(f.dnsNames.map((dNSName) => new x509.GeneralName({ dNSName }))))]
      : []),
  ];
  const tbs = new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: serialInteger(f.serial),
    signature: algorithm,
    // The issuer's subject as it is encoded in the issuer, so that chain building matches it.
    issuer: issuerCert ? issuerCert.tbsCertificate.subject : subject,
    validity: new x509.Validity({ notBefore: f.notBefore, notAfter: f.notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new x509.Extensions(extensions),
  });
  const signature = sign(hash, Buffer.from(AsnConvert.serialize(tbs)), signer);
  return toPem(AsnConvert.serialize(new x509.Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: arrayBuffer(signature) })));
}
