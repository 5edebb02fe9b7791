/**
 * The key store's manifest, `meshgen-key-store.json`: what each file is,
 * for which mesh and cluster, with the SHA-256 fingerprint of each
 * certificate and the intermediates retired by `certs rotate`. Versioned, so
 * a later meshgen can read an older store; a store whose files no longer
 * match it (replaced, truncated, lost) is an error that names the file.
 * Holds no key material.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KeyStoreError, Problem } from '../errors';
import { displayPath } from '../paths';
import type { StoreTransaction } from './store-io';
import { parseCertificate } from './inspect';

/** File name of the manifest in the key store. */
export const MANIFEST_FILE = 'meshgen-key-store.json';
/** The manifest version this meshgen writes and the newest it reads. */
export const MANIFEST_VERSION = 1;
const FORMAT = 'meshgen-key-store';

/** A certificate and its key, as files relative to the key store. */
export interface ManifestEntry {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint of the certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly sha256: string;
  readonly notAfter: string;
}

/** An intermediate retired by `certs rotate`, kept for audits and rollback. */
export interface HistoryEntry extends ManifestEntry {
  readonly cluster: string;
  readonly mesh: string;
  /** When it was retired. */
  readonly retired: string;
  /** Its files were gone when it was retired (the entry keeps what the manifest knew). */
  readonly lost?: boolean;
  /** Only part of its pair was there to keep. */
  readonly incomplete?: boolean;
}

/** A root retired by a root rotation. */
export interface RetiredRoot extends ManifestEntry {
  readonly retired: string;
}

/**
 * A staged root rotation (`certs rotate --root`). Stage 1: the clusters trust
 * the current root and the next one; stage 2: intermediates are issued by
 * the next root, both still trusted; stage 3: the next root is the root and
 * the old one is retired. The record stays after stage 3, so the output keeps
 * Istio's multi-root settings and a later rotation needs no extra rollout.
 */
export interface RootRotation {
  readonly stage: 1 | 2 | 3;
  /** When stage 1 began. */
  readonly started: string;
  /** When the current stage began. */
  readonly stageStarted: string;
  /** The next root, in `_next-root/` (stages 1 and 2). */
  readonly nextRoot?: ManifestEntry;
  /** The root that was replaced, moved to the history (stage 3). */
  readonly retiredRoot?: RetiredRoot;
}

/** The manifest. */
export interface KeyStoreManifest {
  readonly format: typeof FORMAT;
  readonly version: number;
  readonly root?: ManifestEntry & { readonly keyEncrypted: boolean };
  readonly intermediates: Readonly<Record<string, ManifestEntry & { readonly mesh: string }>>;
  readonly history: readonly HistoryEntry[];
  readonly rootRotation?: RootRotation;
  /** Roots replaced by root rotations, oldest first. */
  readonly retiredRoots?: readonly RetiredRoot[];
}

/** An empty manifest. */
export function emptyManifest(): KeyStoreManifest {
  return { format: FORMAT, version: MANIFEST_VERSION, intermediates: {}, history: [] };
}

/** Reads the manifest of `store`; undefined for a store made before manifests (it gets one on the next write). */
export function readManifest(store: string): KeyStoreManifest | undefined {
  const file = path.join(store, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyStoreError(`cannot read ${displayPath(file)}: ${(err as Error).message}`);
  }
  const bad = (message: string, fix = 'restore the file from backup; if it is lost, remove it and meshgen writes a new one from the files beside it') =>
    new KeyStoreError(`the key store manifest ${displayPath(file)} cannot be used`, [{ file: displayPath(file), message, fix }]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(`is not JSON (${(err as Error).message})`);
  }
  const m = value as Partial<KeyStoreManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== FORMAT) throw bad(`is not a meshgen key store manifest (format is not "${FORMAT}")`);
  if (typeof m.version !== 'number' || !Number.isInteger(m.version) || m.version < 1) throw bad('has no valid version');
  if (m.version > MANIFEST_VERSION) {
    throw bad(`was written by a newer meshgen (manifest version ${m.version}; this one reads up to ${MANIFEST_VERSION})`, 'upgrade meshgen before using this key store');
  }
  const entryOk = (e: unknown): boolean => {
    const x = e as Partial<ManifestEntry> | null;
    return !!x && typeof x.cert === 'string' && typeof x.key === 'string' && typeof x.sha256 === 'string';
  };
  if (m.root !== undefined && !entryOk(m.root)) throw bad('has a root entry without cert, key and sha256');
  if (typeof m.intermediates !== 'object' || m.intermediates === null || !Object.values(m.intermediates).every(entryOk)) {
    throw bad('has intermediates without cert, key and sha256');
  }
  if (!Array.isArray(m.history) || !m.history.every(entryOk)) throw bad('has a history that is not a list of entries');
  const r = m.rootRotation;
  if (r !== undefined) {
    if (typeof r !== 'object' || r === null || ![1, 2, 3].includes(r.stage as number)) throw bad('has a rootRotation whose stage is not 1, 2 or 3');
    if (r.stage < 3 && !entryOk(r.nextRoot)) throw bad(`has a rootRotation at stage ${r.stage} without its nextRoot entry`);
  }
  return m as KeyStoreManifest;
}

/** Problems with the files a manifest entry lists: missing, or not the certificate it recorded. */
export function checkEntry(store: string, entry: ManifestEntry, what: string, fix: string): Problem[] {
  const problems: Problem[] = [];
  const certFile = path.join(store, entry.cert);
  const keyFile = path.join(store, entry.key);
  for (const f of [certFile, keyFile]) {
    if (!fs.existsSync(f)) {
      problems.push({ file: displayPath(f), message: `is missing, but the key store manifest lists it as ${what}`, fix });
    }
  }
  if (fs.existsSync(certFile)) {
    const cert = parseCertificate(fs.readFileSync(certFile, 'utf8'));
    if (cert && cert.fingerprint256 !== entry.sha256) {
      problems.push({
        file: displayPath(certFile),
        message: `is not the certificate the key store manifest recorded for ${what} (SHA-256 ${entry.sha256}): it was replaced`,
        fix: `restore it from backup; if it was replaced on purpose, remove its entry from ${MANIFEST_FILE}`,
      });
    }
  }
  return problems;
}

/** An entry for a certificate file of the store. */
export function entryFor(store: string, certFile: string, keyFile: string, certPem: string): ManifestEntry {
  const cert = parseCertificate(certPem);
  if (!cert) throw new KeyStoreError(`not a certificate: ${displayPath(certFile)}`);
  return {
    cert: path.relative(store, certFile).split(path.sep).join('/'),
    key: path.relative(store, keyFile).split(path.sep).join('/'),
    sha256: cert.fingerprint256,
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

/** Writes the manifest with `tx`'s other files, if it changed. */
export function stageManifest(tx: StoreTransaction, manifest: KeyStoreManifest): void {
  const file = path.join(tx.store, MANIFEST_FILE);
  // A fixed key order keeps the file diffable from run to run.
  const ordered = {
    format: manifest.format,
    version: MANIFEST_VERSION,
    ...(manifest.root ? { root: manifest.root } : {}),
    ...(manifest.rootRotation ? { rootRotation: manifest.rootRotation } : {}),
    intermediates: manifest.intermediates,
    history: manifest.history,
    ...(manifest.retiredRoots ? { retiredRoots: manifest.retiredRoots } : {}),
  };
  const text = `${JSON.stringify(ordered, null, 2)}\n`;
  let old: string | undefined;
  try {
    old = fs.readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old !== text) tx.write(file, text, 0o644);
}
