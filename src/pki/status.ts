/**
 * What the key store holds, certificate by certificate: subject, key,
 * serial, validity, days left and whether the chain verifies. Reads only;
 * never reads or reports key material beyond whether a key matches.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MeshModel } from '../model/types';
import { displayPath } from '../paths';
import { isEncryptedKey, issuedBy, keyMatchesCertificate, parseCertificate } from './inspect';
import { KEY_STORE_FILES, NEXT_ROOT_DIR } from './key-store';
import { readManifest } from './manifest';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The state of one certificate of the key store. */
export interface CertificateStatus {
  /** `root`, or the cluster name. */
  readonly name: string;
  /** File of the certificate, as shown to the user. */
  readonly file: string;
  /** False when the file does not exist yet (synth makes it). */
  readonly present: boolean;
  readonly subject?: string;
  /** e.g. `RSA 4096`. */
  readonly key?: string;
  readonly serial?: string;
  readonly notBefore?: string;
  readonly notAfter?: string;
  /** Whole days until notAfter (negative once expired). */
  readonly daysLeft?: number;
  /** The chain verifies: the root is self-signed with its key; an intermediate was issued by the root and matches its key. */
  readonly verifies?: boolean;
  /** Why it does not verify, if it does not. */
  readonly problem?: string;
  /** Made and renewed outside meshgen (`cert-manager`, in the cluster): nothing to read here. */
  readonly managedBy?: string;
}

/** The status of a mesh's key store. */
export interface MeshCertificatesStatus {
  readonly mesh: string;
  readonly keyStore: string;
  readonly root: CertificateStatus;
  readonly intermediates: readonly CertificateStatus[];
  /** The key store's root rotation, if one was ever made. */
  readonly rootRotation?: {
    readonly stage: 1 | 2 | 3;
    /** What the stage means and what comes next. */
    readonly description: string;
    readonly started: string;
    readonly stageStarted: string;
    /** The next root, in stages 1 and 2. */
    readonly nextRoot?: CertificateStatus;
  };
}

const STAGES: Record<1 | 2 | 3, string> = {
  1: 'stage 1 of 3: every cluster trusts both roots; next: roll it out, then `meshgen certs rotate --root --continue --mesh <mesh>`',
  2: 'stage 2 of 3: intermediates issued by the new root, both roots trusted; next: roll it out, then `meshgen certs rotate --root --continue --mesh <mesh>`',
  3: 'stage 3 of 3: old root removed; the rotation is complete once every cluster runs this output',
};

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function describeCert(name: string, certFile: string, keyFile: string | undefined, now: Date, issuer?: string): CertificateStatus {
  const pem = read(certFile);
  const base = { name, file: displayPath(certFile) };
  if (pem === undefined) return { ...base, present: false };
  const cert = parseCertificate(pem);
  if (!cert) return { ...base, present: true, verifies: false, problem: 'not a PEM certificate' };
  const details = cert.publicKey.asymmetricKeyDetails;
  const key = `${(cert.publicKey.asymmetricKeyType ?? 'unknown').toUpperCase()} ${details?.modulusLength ?? details?.namedCurve ?? ''}`.trim();
  const notAfter = new Date(cert.validTo);
  const problems: string[] = [];
  const keyPem = keyFile === undefined ? undefined : read(keyFile);
  if (keyFile === undefined) {
    // The key is held elsewhere (a root brought without its key): only the certificate is checked.
  } else if (keyPem === undefined) problems.push(`${path.basename(keyFile)} is missing`);
  else if (!isEncryptedKey(keyPem) && !keyMatchesCertificate(keyPem, cert)) problems.push(`${path.basename(keyFile)} is not its key`);
  if (issuer === undefined && !issuedBy(cert, cert)) problems.push('not self-signed');
  if (issuer !== undefined) {
    const root = parseCertificate(issuer);
    if (!root || !issuedBy(cert, root)) problems.push('not issued by the root');
  }
  if (notAfter <= now) problems.push('expired');
  const problem = problems.length > 0 ? problems.join('; ') : undefined;
  return {
    ...base,
    present: true,
    subject: cert.subject.split('\n').join(', '),
    key,
    serial: cert.serialNumber,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    verifies: problem === undefined,
    problem,
  };
}

/** Reads the status of every certificate `mesh` needs, from its key store or the files brought along (trust.rootCert…). */
export function meshCertificatesStatus(mesh: MeshModel, now: Date = new Date()): MeshCertificatesStatus {
  const store = mesh.trust.keyStore;
  const byo = mesh.trust.byo;
  let rootCert = path.join(store, KEY_STORE_FILES.rootCert);
  let rootKey: string | undefined = path.join(store, KEY_STORE_FILES.rootKey);
  if (byo) {
    rootCert = byo.rootCert ?? '';
    rootKey = byo.kind === 'root' ? byo.rootKey : undefined;
  }
  const root: CertificateStatus =
    byo?.kind === 'cert-manager' && byo.rootCert === undefined
      ? { name: 'root', file: `${byo.issuerRef.kind} ${byo.issuerRef.name}`, present: false, managedBy: 'cert-manager' }
      : describeCert('root', rootCert, rootKey, now);
  const rootPem = byo?.kind === 'cert-manager' && byo.rootCert === undefined ? undefined : read(rootCert);
  const rotation = byo === undefined ? readManifest(store)?.rootRotation : undefined;
  const nextCert = path.join(store, NEXT_ROOT_DIR, KEY_STORE_FILES.rootCert);
  const nextRoot = rotation && rotation.stage < 3 ? describeCert('next root', nextCert, path.join(store, NEXT_ROOT_DIR, KEY_STORE_FILES.rootKey), now) : undefined;
  // In stage 2 the intermediates are issued by the next root.
  const issuerPem = rotation?.stage === 2 ? read(nextCert) : rootPem;
  const intermediates = mesh.clusters.map((c): CertificateStatus => {
    if (byo?.kind === 'cert-manager') {
      return { name: c.name, file: `${c.name}: Certificate istio-system/cacerts`, present: false, managedBy: 'cert-manager' };
    }
    const files = byo?.kind === 'intermediates' ? byo.intermediates[c.name] : { cert: path.join(store, c.name, KEY_STORE_FILES.caCert), key: path.join(store, c.name, KEY_STORE_FILES.caKey) };
    return describeCert(c.name, files.cert, files.key, now, issuerPem ?? '');
  });
  return {
    mesh: mesh.name,
    keyStore: displayPath(store),
    root,
    intermediates,
    ...(rotation
      ? {
          rootRotation: {
            stage: rotation.stage,
            description: STAGES[rotation.stage].replace('<mesh>', mesh.name),
            started: rotation.started,
            stageStarted: rotation.stageStarted,
            ...(nextRoot ? { nextRoot } : {}),
          },
        }
      : {}),
  };
}
