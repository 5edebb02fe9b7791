/**
 * What the output folder says a cluster should hold, for `meshgen status`:
 * the fingerprints of its `cacerts` (from the Secret in plaintext, else from
 * the folder marker's trust facts when it is encrypted or sealed), and its
 * remote secrets with a SHA-256 of the kubeconfig each carries. Reads the
 * folder only; keeps fingerprints, never values.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CACERTS_SECRET_NAME, remoteSecretName } from '../model/istio-names';
import { compareStrings } from '../order';
import { fingerprintsOf, TrustFacts } from '../pki/trust-facts';
import { MARKER_FILE, markerTrust } from '../synth/marker';
import { ownerOf } from '../synth/write';

/** How a Secret is held in the output. */
export type OutputForm = 'plaintext' | 'sops' | 'sealed' | 'external' | 'cert-manager';

/** The `cacerts` of a folder, as fingerprints. */
export interface ExpectedCacerts {
  readonly form: OutputForm;
  /** Fingerprint of `ca-cert.pem`, the cluster's intermediate; known only in plaintext. */
  readonly intermediate?: string;
  /** Fingerprints of `root-cert.pem`, in order. */
  readonly roots: readonly string[];
  /** The root that issued the intermediate (the end of `cert-chain.pem`). */
  readonly issuer?: string;
}

/** One remote secret of a folder. */
export interface ExpectedRemoteSecret {
  readonly form: OutputForm;
  /** SHA-256 (hex) of the kubeconfig it carries; known only in plaintext. */
  readonly kubeconfigSha256?: string;
}

/** What one cluster folder of the output holds. */
export interface ExpectedFolder {
  /** The folder, as found (it may not exist). */
  readonly dir: string;
  /** The folder exists and its marker names the mesh. */
  readonly present: boolean;
  /** Trust facts of the marker, if it records them. */
  readonly trust?: TrustFacts;
  readonly cacerts?: ExpectedCacerts;
  /** Remote secrets in the folder, by the cluster each one opens. */
  readonly remoteSecrets: ReadonlyMap<string, ExpectedRemoteSecret>;
}

/** SHA-256 in hex of a text; for comparing values without keeping them. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface Doc {
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  sops?: unknown;
}

/** Every YAML document under `dir`, sub-folders included. */
function documentsIn(dir: string): Doc[] {
  const docs: Doc[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareStrings(a.name, b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) docs.push(...documentsIn(full));
    else if (entry.isFile() && entry.name.endsWith('.yaml')) {
      try {
        for (const d of parseAllDocuments(fs.readFileSync(full, 'utf8'))) {
          const js = d.toJS() as unknown;
          if (js && typeof js === 'object') docs.push(js as Doc);
        }
      } catch {
        // Not YAML meshgen wrote: not part of what the folder says.
      }
    }
  }
  return docs;
}

/** The form of a document that stands for a Secret. */
function formOf(doc: Doc): OutputForm | undefined {
  if (doc.kind === 'Secret') return doc.sops !== undefined ? 'sops' : 'plaintext';
  if (doc.kind === 'SealedSecret') return 'sealed';
  if (doc.kind === 'ExternalSecret') return 'external';
  if (doc.kind === 'Certificate') return 'cert-manager';
  return undefined;
}

/** A plaintext Secret value, from `stringData` or base64 `data`. */
function plainValue(doc: Doc, key: string): string | undefined {
  if (typeof doc.stringData?.[key] === 'string') return doc.stringData[key];
  if (typeof doc.data?.[key] === 'string') return Buffer.from(doc.data[key], 'base64').toString('utf8');
  return undefined;
}

/** What `<outdir>/<cluster>` holds for `mesh`; `present: false` when the folder is missing or not that mesh's. */
export function readExpectedFolder(outdir: string, mesh: string, cluster: string, readsFrom: readonly string[]): ExpectedFolder {
  const dir = path.join(outdir, cluster);
  if (ownerOf(dir) !== mesh) return { dir, present: false, remoteSecrets: new Map() };
  const trust = markerTrust(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8'));
  const docs = documentsIn(dir);
  let cacerts: ExpectedCacerts | undefined;
  const remoteSecrets = new Map<string, ExpectedRemoteSecret>();
  for (const doc of docs) {
    const name = doc.metadata?.name;
    const form = formOf(doc);
    if (!name || !form) continue;
    if (name === CACERTS_SECRET_NAME) {
      cacerts = form === 'plaintext' ? plaintextCacerts(doc) : { form, roots: trust?.roots ?? [], ...(trust?.issuer ? { issuer: trust.issuer } : {}) };
      continue;
    }
    const target = readsFrom.find((c) => remoteSecretName(c) === name);
    if (target === undefined) continue;
    const kubeconfig = form === 'plaintext' ? plainValue(doc, target) : undefined;
    remoteSecrets.set(target, { form, ...(kubeconfig !== undefined ? { kubeconfigSha256: sha256(kubeconfig) } : {}) });
  }
  return { dir, present: true, ...(trust ? { trust } : {}), ...(cacerts ? { cacerts } : {}), remoteSecrets };
}

function plaintextCacerts(doc: Doc): ExpectedCacerts {
  const intermediate = fingerprintsOf(plainValue(doc, 'ca-cert.pem') ?? plainValue(doc, 'tls.crt') ?? '')[0];
  const chain = fingerprintsOf(plainValue(doc, 'cert-chain.pem') ?? '');
  return {
    form: 'plaintext',
    ...(intermediate ? { intermediate } : {}),
    roots: fingerprintsOf(plainValue(doc, 'root-cert.pem') ?? plainValue(doc, 'ca.crt') ?? ''),
    ...(chain.length > 0 ? { issuer: chain[chain.length - 1] } : {}),
  };
}

/** Fingerprints of the certificates that a base64 Secret or ConfigMap value holds. */
export function certFingerprints(value: string | undefined, base64: boolean): string[] {
  if (value === undefined) return [];
  return fingerprintsOf(base64 ? Buffer.from(value, 'base64').toString('utf8') : value);
}
