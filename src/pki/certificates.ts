/**
 * Certificate authority material in the profile of Istio's `tools/certs`
 * Makefile: a root and one intermediate CA per cluster under it, RSA by
 * default or ECDSA (P-256, P-384).
 *
 * Pure functions: keys, clock and serial numbers come in, PEM goes out.
 * node:crypto makes the keys; x509.ts encodes and signs the certificates.
 */
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { DEFAULT_CERTIFICATE_PROFILE } from '../model/types';
import { createCaCertificate } from './x509';

/** RSA modulus length of Istio's `tools/certs` (hard-coded there): the profile's default. */
export const DEFAULT_KEY_BITS = DEFAULT_CERTIFICATE_PROFILE.keyBits;

/** Validity of root and intermediates in `tools/certs`: the profile's default. */
export const DEFAULT_VALIDITY_DAYS = DEFAULT_CERTIFICATE_PROFILE.rootValidityHours / 24;

/** Organization in every subject, as `tools/certs` writes it: the profile's default. */
export const CA_ORGANIZATION = DEFAULT_CERTIFICATE_PROFILE.organization;

/** SAN of every intermediate: the name istiod serves under. */
export const INTERMEDIATE_SAN = 'istiod.istio-system.svc';

const HOUR_MS = 60 * 60 * 1000;

/** A certificate with the private key that signs under it. */
export interface CertificateAuthority {
  /** PEM certificate. */
  readonly certPem: string;
  /** PEM PKCS#8 private key. */
  readonly keyPem: string;
}

/** Clock and serial of one issuance: passed in so output is reproducible in tests. */
export interface IssueOptions {
  /** notBefore of the certificate. */
  readonly now: Date;
  /** Serial number bytes; see newSerial(). */
  readonly serial: Buffer;
  /**
   * Validity in days.
   * @default 3650
   */
  readonly validityDays?: number;
  /**
   * Validity in hours; wins over validityDays.
   * @default - validityDays
   */
  readonly validityHours?: number;
  /**
   * O= of the subject.
   * @default 'Istio'
   */
  readonly organization?: string;
  /**
   * CN= of the subject.
   * @default 'Root CA' or 'Intermediate CA'
   */
  readonly commonName?: string;
  /**
   * DNS names added to an intermediate's subjectAltName after istiod.istio-system.svc.
   * @default - none
   */
  readonly extraSANs?: readonly string[];
}

/** Threads libuv's pool gets at most when keys are made. */
const MAX_KEY_THREADS = 128;

/**
 * Gives libuv's thread pool one thread per key about to be made (4 to 128),
 * unless UV_THREADPOOL_SIZE is set: RSA keys are made on the pool, and with
 * a thread each the OS shares the cores among all keys, so the slowest key
 * does not wait in a queue behind the others. libuv reads the variable when
 * the pool first starts, which in a meshgen run is the first key made;
 * starting 128 threads to make one key cost 20 ms. Once the pool runs,
 * this changes nothing.
 */
export function sizeThreadPoolFor(keys: number): void {
  if (process.env.UV_THREADPOOL_SIZE !== undefined && !poolSizedHere) return;
  process.env.UV_THREADPOOL_SIZE = String(Math.min(MAX_KEY_THREADS, Math.max(4, keys)));
  poolSizedHere = true;
}
let poolSizedHere = false;

/** Makes an RSA private key as PKCS#8 PEM, off the main thread (libuv pool). */
export function generatePrivateKey(bits: number = DEFAULT_KEY_BITS): Promise<string> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    );
  });
}

/** Makes an ECDSA private key on a NIST curve as PKCS#8 PEM (istiod reads PKCS#8 EC keys). */
export function generateEcPrivateKey(curve: 'P-256' | 'P-384'): Promise<string> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'ec',
      { namedCurve: curve, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    );
  });
}

/** Makes a key for a new CA: ECDSA on `curve` when given, else RSA of `keyBits`. */
export function generateCaKey(profile: { readonly keyBits?: number; readonly curve?: 'P-256' | 'P-384' }): Promise<string> {
  return profile.curve ? generateEcPrivateKey(profile.curve) : generatePrivateKey(profile.keyBits ?? DEFAULT_KEY_BITS);
}

/** 16 random bytes forming a positive, minimally encoded DER INTEGER. */
export function newSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = b[0] & 0x7f || 0x01;
  return b;
}

/** Self-signed root: `O=Istio, CN=Root CA`, CA without path length, no SAN or AKID. */
export function createRootCertificate(keyPem: string, opts: IssueOptions): string {
  const { notBefore, notAfter } = validity(opts);
  return createCaCertificate({
    subjectKeyPem: keyPem,
    signerKeyPem: keyPem,
    subject: [
      ['O', opts.organization ?? CA_ORGANIZATION],
      ['CN', opts.commonName ?? DEFAULT_CERTIFICATE_PROFILE.rootCommonName],
    ],
    serial: opts.serial,
    notBefore,
    notAfter,
  });
}

/**
 * Intermediate CA of one cluster: `O=Istio, CN=Intermediate CA, L=<cluster>`,
 * `pathlen:0`, SAN `istiod.istio-system.svc`, AKID of the root. Its validity
 * never outlasts the root's. The issuer may be any root (RSA or ECDSA, made
 * by meshgen or brought along): its subject is copied byte for byte.
 */
export function createIntermediateCertificate(
  keyPem: string,
  issuer: CertificateAuthority,
  clusterName: string,
  opts: IssueOptions,
): string {
  const { notBefore, notAfter } = validity(opts);
  const rootEnd = new Date(new X509Certificate(issuer.certPem).validTo);
  return createCaCertificate({
    subjectKeyPem: keyPem,
    signerKeyPem: issuer.keyPem,
    issuerCertPem: issuer.certPem,
    subject: [
      ['O', opts.organization ?? CA_ORGANIZATION],
      ['CN', opts.commonName ?? DEFAULT_CERTIFICATE_PROFILE.intermediateCommonName],
      ['L', clusterName],
    ],
    serial: opts.serial,
    notBefore,
    notAfter: notAfter > rootEnd ? rootEnd : notAfter,
    pathLen: 0,
    dnsNames: [INTERMEDIATE_SAN, ...(opts.extraSANs ?? [])],
  });
}

/** notBefore (whole seconds) and notAfter of a new certificate. */
function validity(opts: IssueOptions): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Math.floor(opts.now.getTime() / 1000) * 1000);
  const hours = opts.validityHours ?? (opts.validityDays ?? DEFAULT_VALIDITY_DAYS) * 24;
  return { notBefore, notAfter: new Date(notBefore.getTime() + hours * HOUR_MS) };
}
