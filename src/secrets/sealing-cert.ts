/**
 * Reads the Sealed Secrets controller certificates a topology names (one
 * per cluster, as `kubeseal --fetch-cert` prints them) and checks that
 * each can seal: a PEM certificate with an RSA key of at least 2048 bits,
 * valid now. Every problem names the topology file, the key that names
 * the certificate, the certificate file and the fix.
 */
import { createHash, KeyObject, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { Problem, TopologyError } from '../errors';
import { MeshModel, Topology } from '../model/types';
import { plural } from '../text';
import { displayPath } from '../paths';
import { shellQuote } from '../shell';

/** The public key a cluster's SealedSecrets are sealed for. */
export interface SealingKey {
  /** Absolute path of the certificate file. */
  readonly file: string;
  /** The controller's RSA public key. */
  readonly publicKey: KeyObject;
  /** SHA-256 of the key's SubjectPublicKeyInfo, hex: tells keys apart without the certificate's validity dates. */
  readonly fingerprint: string;
}

/** Smallest RSA modulus meshgen seals for; the controller makes 4096-bit keys. */
const MIN_RSA_BITS = 2048;

/**
 * The sealing key of every cluster of `mesh` whose Secrets are sealed, by
 * cluster name. Throws one TopologyError listing every unusable certificate.
 */
export function readSealingKeys(mesh: MeshModel, now: Date = new Date()): Map<string, SealingKey> {
  const keys = new Map<string, SealingKey>();
  const problems: Problem[] = [];
  const byFile = new Map<string, SealingKey | string>();
  for (const cluster of mesh.clusters) {
    const s = cluster.secrets;
    if (s.encryption !== 'sealed-secrets') continue;
    let result = byFile.get(s.cert);
    if (result === undefined) {
      result = readSealingKey(s.cert, now);
      byFile.set(s.cert, result);
    }
    if (typeof result !== 'string') {
      keys.set(cluster.name, result);
      continue;
    }
    problems.push({
      file: mesh.source.file,
      path: s.certKey,
      message: `${displayPath(s.cert)}, the Sealed Secrets certificate of cluster "${cluster.name}", ${result}`,
      fix: `save the certificate of the cluster's controller: kubeseal --context=${shellQuote(cluster.context)} --fetch-cert > ${shellQuote(displayPath(s.cert))}`,
    });
  }
  if (problems.length > 0) throw new TopologyError(`cannot seal the Secrets of mesh "${mesh.name}"`, problems);
  return keys;
}

/** The sealing key in `file`, or why there is none (a phrase that follows the file's name). */
function readSealingKey(file: string, now: Date): SealingKey | string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code})`;
  }
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(text)?.[0];
  if (!pem) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return 'holds a certificate that cannot be parsed';
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'rsa') return `holds a ${key.asymmetricKeyType?.toUpperCase() ?? 'non-RSA'} key; the Sealed Secrets controller seals with RSA keys`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return `holds a ${bits}-bit RSA key; meshgen seals for ${MIN_RSA_BITS} bits or more`;
  if (new Date(cert.validTo).getTime() <= now.getTime()) return `expired on ${new Date(cert.validTo).toISOString()}`;
  if (new Date(cert.validFrom).getTime() > now.getTime()) return `is not valid before ${new Date(cert.validFrom).toISOString()}`;
  const spki = key.export({ type: 'spki', format: 'der' });
  return { file, publicKey: key, fingerprint: createHash('sha256').update(spki).digest('hex') };
}

/** The sealing keys of every mesh whose clusters seal their Secrets, by mesh and cluster. */
export function readTopologySealingKeys(topology: Topology): Map<string, ReadonlyMap<string, SealingKey>> {
  const problems: Problem[] = [];
  const keys = new Map<string, ReadonlyMap<string, SealingKey>>();
  for (const mesh of topology.meshes) {
    try {
      keys.set(mesh.name, readSealingKeys(mesh));
    } catch (err) {
      if (!(err instanceof TopologyError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new TopologyError(`cannot seal Secrets for ${plural(problems.length, 'cluster')}: their Sealed Secrets certificates are unusable`, problems);
  return keys;
}
