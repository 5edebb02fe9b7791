/**
 * The key store: with rotate.ts, the only module that reads or writes CA keys on disk.
 *
 * Layout, as Istio's `tools/certs` leaves it:
 *   <keyStore>/root-cert.pem, root-key.pem
 *   <keyStore>/<cluster>/ca-cert.pem, ca-key.pem
 * Keys are made once, in parallel, and reused by every later run. A store
 * whose parts do not fit together is an error, never silently replaced.
 * `rotate.ts` retires material to `_history/` and lets this module issue
 * the replacement; `manifest.ts` records what the store holds.
 * Key files are 0600 and folders 0700; a file is written under a temporary
 * name and renamed, so a crash never leaves half a key.
 *
 * Long because it is the one place that loads, checks and completes a key store, in one transaction per change.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KeyStoreError, Problem } from '../errors';
import { BringYourOwnCA, ClusterModel, MeshModel } from '../model/types';
import { displayPath } from '../paths';
import {
  createIntermediateCertificate,
  createRootCertificate,
  generateCaKey,
  newSerial,
  sizeThreadPoolFor,
} from './certificates';
import { isEncryptedKey, issuedBy, keyMatchesCertificate, parseCertificate } from './inspect';
import { PASSPHRASE_FIX } from './passphrase';
import { checkIntermediate, checkRoot, Pair, rootGuardProblems } from './store-check';
import { checkEntry, emptyManifest, entryFor, KeyStoreManifest, MANIFEST_FILE, readManifest, RootRotation, stageManifest } from './manifest';
import { LockOptions } from '../lock';
import { ensureDir, fsyncDir, StoreTransaction, withStoreLock } from './store-io';

/** The four files of Istio's `cacerts` Secret for one cluster. */
export interface CacertsFiles {
  readonly 'ca-cert.pem': string;
  readonly 'ca-key.pem': string;
  readonly 'root-cert.pem': string;
  readonly 'cert-chain.pem': string;
}

/** Whether a piece of CA material was made by this run or found in the store. */
export type Provenance = 'new' | 'reused' | 'supplied';

/** CA material of one mesh, ready for the constructs. Holds no root key. */
export interface MeshPki {
  /** Absolute path of the key store. */
  readonly keyStore: string;
  /**
   * PEM roots the clusters trust (`root-cert.pem`): the root, or during a
   * root rotation both roots, the one that issues the intermediates first.
   */
  readonly rootCertPem: string;
  /** The root rotation under way or last finished in the key store, if any. */
  readonly rootRotation?: RootRotation;
  /** Whether the root was made by this run. */
  readonly root: Provenance;
  /** Per cluster: whether its intermediate was made by this run. */
  readonly intermediates: ReadonlyMap<string, Provenance>;
  /** The `cacerts` files of a cluster of the mesh. */
  cacerts(cluster: string): CacertsFiles;
}

/** Knobs for tests and benchmarks; production uses the defaults. */
export interface KeyStoreOptions {
  /**
   * Clock for notBefore of new certificates.
   * @default - the current time
   */
  readonly now?: () => Date;
  /**
   * Serial numbers of new certificates.
   * @default - 16 random bytes
   */
  readonly serial?: () => Buffer;
  /**
   * Makes one private key.
   * @default - RSA 4096 through node:crypto
   */
  readonly generateKey?: () => Promise<string>;
  /**
   * The root CA the clusters already run with, read from earlier output:
   * a key store without a root, or with another root, is then an error
   * unless `allowNewRoot` is set, because a new root breaks trust between
   * running clusters.
   * @default - no earlier output
   */
  readonly deployedRoot?: { readonly source: string; readonly fingerprints: readonly string[]; readonly unreadable?: boolean };
  /**
   * Accept a root other than `deployedRoot` (a deliberate CA replacement).
   * @default false
   */
  readonly allowNewRoot?: boolean;
  /**
   * Make missing material in memory only, writing nothing (for `meshgen diff`).
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * Called before keys are made, with how many.
   * @default - nothing
   */
  readonly onMakeKeys?: (count: number) => void;
  /**
   * Gives the passphrase of an encrypted root key (trust.encryptRootKey), or undefined when there is none.
   * @default - none: an encrypted root key is an error
   */
  readonly rootKeyPassphrase?: () => Promise<string | undefined>;
  /**
   * How long to wait for another run's lock of the key store, and where to say what is waited for or recovered.
   * @default - DEFAULT_LOCK_TIMEOUT_MS, nothing said
   */
  readonly lock?: LockOptions;
}

const ROOT_CERT = 'root-cert.pem';
const ROOT_KEY = 'root-key.pem';
const CA_CERT = 'ca-cert.pem';
const CA_KEY = 'ca-key.pem';
/** Folder of the next root during stages 1 and 2 of a root rotation. Not a DNS label, so never a cluster's folder. */
export const NEXT_ROOT_DIR = '_next-root';
/** Folder of retired roots and intermediates. Not a DNS label, so never a cluster's folder. */
export const HISTORY_DIR = '_history';
/** File names of the key store. */
export const KEY_STORE_FILES = { rootCert: ROOT_CERT, rootKey: ROOT_KEY, caCert: CA_CERT, caKey: CA_KEY } as const;


/**
 * Loads a mesh's CA material from its key store, checks that it fits
 * together, and makes what is missing. Throws KeyStoreError listing every
 * inconsistency; makes nothing when there is one. Holds the key store's
 * lock while it reads and writes; what it makes is written as one
 * transaction (store-io.ts), so a kill leaves the store as it was or complete.
 */
export async function ensureMeshPki(mesh: MeshModel, opts: KeyStoreOptions = {}): Promise<MeshPki> {
  const byo = mesh.trust.byo;
  if (byo?.kind === 'cert-manager') return certManagerPki(mesh);
  if (byo?.kind === 'intermediates') return suppliedPki(mesh, byo, (opts.now ?? (() => new Date()))());
  if (opts.dryRun && !fs.existsSync(mesh.trust.keyStore)) return loadOrMake(mesh, opts);
  return withStoreLock(mesh.trust.keyStore, () => loadOrMake(mesh, opts), opts.lock);
}

/**
 * A key store serves one mesh, or the meshes of one topology that share it
 * (trust.storeSharedWith). Intermediates of any other mesh mean that another
 * topology file uses this store: this mesh would take that mesh's root, and
 * each run would rewrite the other's manifest entries.
 */
function checkStoreOwners(store: string, manifest: KeyStoreManifest, mesh: MeshModel): void {
  const allowed = new Set([mesh.name, ...(mesh.trust.storeSharedWith ?? [])]);
  const foreign = new Map<string, string[]>();
  for (const [cluster, entry] of Object.entries(manifest.intermediates)) {
    if (!allowed.has(entry.mesh)) foreign.set(entry.mesh, [...(foreign.get(entry.mesh) ?? []), cluster]);
  }
  if (foreign.size === 0) return;
  const file = displayPath(path.join(store, MANIFEST_FILE));
  throw new KeyStoreError(
    `key store ${displayPath(store)} holds the CA of ${foreign.size === 1 ? 'another mesh' : `${foreign.size} other meshes`}, not of mesh "${mesh.name}" alone`,
    [...foreign].map(([other, clusters]) => ({
      file,
      message: `its intermediates of ${clusters.map((c) => `"${c}"`).join(', ')} belong to mesh "${other}", which this run does not define`,
      fix:
        `give mesh "${mesh.name}" a key store of its own (spec.trust.keyStore, e.g. .meshgen/pki-${mesh.name}); ` +
        `meshes that are to share one root are synthesized together (-f with every file) and joined by a shared-root federation; ` +
        `if mesh "${other}" was renamed to "${mesh.name}", change its "mesh" entries in ${file} to "${mesh.name}"`,
    })),
  );
}

/** ensureMeshPki's work, under the lock: read and check what the store holds, then make what it lacks in one transaction. */
async function loadOrMake(mesh: MeshModel, opts: KeyStoreOptions): Promise<MeshPki> {
  const store = mesh.trust.keyStore;
  const now = opts.now ?? (() => new Date());
  const problems: Problem[] = [];
  const byo = mesh.trust.byo;
  // A root brought along (trust.rootCert and rootKey) replaces the key store's root, which is then never written.
  const rootCertFile = byo?.kind === 'root' ? byo.rootCert : path.join(store, ROOT_CERT);
  const rootKeyFile = byo?.kind === 'root' ? byo.rootKey : path.join(store, ROOT_KEY);
  const manifest = readManifest(store);
  if (manifest) checkStoreOwners(store, manifest, mesh);
  const rotation = byo === undefined ? manifest?.rootRotation : undefined;
  if (byo === undefined) checkNextRootFolder(store, manifest, rotation, opts);

  const { root, next, rootEncrypted, passphrase } = await readRoots(mesh, opts, { rootCertFile, rootKeyFile, rotation }, problems);
  const signing = issuerOf(rotation?.stage, root, next);
  const signingCertFile = issuerOf(rotation?.stage, rootCertFile, path.join(store, NEXT_ROOT_DIR, ROOT_CERT));
  if (byo?.kind === 'root' && !root && problems.length === 0) {
    problems.push({ file: displayPath(rootCertFile), message: 'cannot be read', fix: 'fix trust.rootCert and trust.rootKey' });
  }
  const existing = new Map<string, Pair>();
  for (const cluster of mesh.clusters) {
    const dir = path.join(store, cluster.name);
    const pair = readPair(dir, CA_CERT, CA_KEY, problems);
    if (!pair) continue;
    existing.set(cluster.name, pair);
    problems.push(...checkIntermediate(dir, cluster, pair, signing, signingCertFile, now()));
  }
  if (manifest) problems.push(...manifestProblems(store, manifest, mesh, rotation, problems));
  // The clusters trust every root of the root-cert.pem they run with (two during a root rotation).
  if (!opts.allowNewRoot) problems.push(...rootGuardProblems(rootCertFile, root, opts.deployedRoot));
  if (!root && existing.size > 0 && !problems.some((p) => p.file === displayPath(rootCertFile) || p.file === displayPath(rootKeyFile))) {
    problems.push({
      file: displayPath(path.join(store, ROOT_CERT)),
      message: `the key store has intermediates (${[...existing.keys()].join(', ')}) but no root certificate and key`,
      fix: `restore ${ROOT_CERT} and ${ROOT_KEY} from backup; a new root would not have signed these intermediates`,
    });
  }
  if (problems.length > 0) {
    throw new KeyStoreError(`key store ${displayPath(store)} is inconsistent for mesh "${mesh.name}"`, problems);
  }

  const missing = mesh.clusters.filter((c) => !existing.has(c.name));
  const keyCount = (root ? 0 : 1) + missing.length;
  if (keyCount > 0) opts.onMakeKeys?.(keyCount);
  const write = !opts.dryRun;
  const tx = new StoreTransaction(store);
  try {
    const result = await makeMissing(mesh, opts, { root, rootEncrypted, passphrase, next, existing, missing, manifest, rotation, rootKeyFile, rootCertFile, tx, write });
    if (write) tx.commit();
    return result;
  } finally {
    tx.discard();
  }
}

/**
 * The next root's folder must go with a root rotation at stage 1 or 2. An
 * empty one is what a run of an older meshgen, killed as it started a
 * rotation, left: it holds nothing and is removed. A full one without the
 * manifest's record is an error: the rotation would otherwise end silently,
 * with one root again and no multi-root settings.
 */
function checkNextRootFolder(store: string, manifest: KeyStoreManifest | undefined, rotation: RootRotation | undefined, opts: KeyStoreOptions): void {
  if (rotation && rotation.stage < 3) return;
  const nextRootDir = path.join(store, NEXT_ROOT_DIR);
  if (!opts.dryRun && isEmptyDir(nextRootDir)) {
    fs.rmdirSync(nextRootDir);
    opts.lock?.onNote?.(`removed the empty ${displayPath(nextRootDir)} that an interrupted root rotation left (no rotation is recorded)`);
  }
  if (!fs.existsSync(nextRootDir)) return;
  throw new KeyStoreError(`key store ${displayPath(store)} holds a next root, but its manifest records no root rotation under way`, [
    {
      file: displayPath(path.join(store, MANIFEST_FILE)),
      message: `${manifest ? 'has no rotation at stage 1 or 2' : 'is missing'}, while ${displayPath(nextRootDir)} exists`,
      fix: `restore ${MANIFEST_FILE} from backup; to abandon a rotation that never reached stage 2, move ${NEXT_ROOT_DIR} out of the key store`,
    },
  ]);
}

/**
 * Reads the root, and in stages 1 and 2 of a root rotation the next root
 * beside it, each checked, into `problems`. An encrypted key is decrypted in
 * memory only, with the passphrase asked for once; the plaintext never
 * reaches a file. The passphrase is asked for too when the root is to be
 * encrypted (trust.encryptRootKey), and returned for that.
 */
async function readRoots(
  mesh: MeshModel,
  opts: KeyStoreOptions,
  files: { readonly rootCertFile: string; readonly rootKeyFile: string; readonly rotation?: RootRotation },
  problems: Problem[],
): Promise<{ root?: Pair; next?: Pair; rootEncrypted: boolean; passphrase?: string }> {
  const { rootCertFile, rootKeyFile, rotation } = files;
  const now = opts.now ?? (() => new Date());
  const nextCert = path.join(mesh.trust.keyStore, NEXT_ROOT_DIR, ROOT_CERT);
  const nextKeyFile = path.join(mesh.trust.keyStore, NEXT_ROOT_DIR, ROOT_KEY);
  const rootEncrypted = isEncryptedKey(readIfExists(rootKeyFile, []));
  const nextEncrypted = rotation !== undefined && rotation.stage < 3 && isEncryptedKey(readIfExists(nextKeyFile, []));
  let passphrase: string | undefined;
  if (rootEncrypted || nextEncrypted || mesh.trust.encryptRootKey) {
    passphrase = await opts.rootKeyPassphrase?.();
    if (passphrase === undefined || passphrase === '') {
      const what = rootEncrypted
        ? `the root key of mesh "${mesh.name}" is encrypted`
        : nextEncrypted
          ? `the next root key of mesh "${mesh.name}" (root rotation) is encrypted`
          : `the root key of mesh "${mesh.name}" is to be encrypted (trust.encryptRootKey)`;
      throw new KeyStoreError(`${what}, and no passphrase was given`, [
        { file: displayPath(!rootEncrypted && nextEncrypted ? nextKeyFile : rootKeyFile), message: 'needs a passphrase', fix: PASSPHRASE_FIX },
      ]);
    }
  }
  const decrypt = (file: string) => (pem: string): string => {
    try {
      return createPrivateKey({ key: pem, format: 'pem', passphrase }).export({ type: 'pkcs8', format: 'pem' }).toString();
    } catch {
      throw new KeyStoreError(`cannot decrypt the root key of mesh "${mesh.name}"`, [
        { file: displayPath(file), message: 'the passphrase does not open it', fix: 'give the passphrase the key was encrypted with' },
      ]);
    }
  };
  const root = readPairFiles(rootCertFile, rootKeyFile, problems, rootEncrypted ? decrypt(rootKeyFile) : undefined);
  if (root) problems.push(...checkRoot(rootCertFile, root, now(), 'the mesh needs a new root: run `meshgen certs rotate --root` well before expiry; once expired, move the key store away, synthesize again and roll out every cluster'));
  let next: Pair | undefined;
  if (rotation && rotation.stage < 3) {
    next = readPairFiles(nextCert, nextKeyFile, problems, nextEncrypted ? decrypt(nextKeyFile) : undefined);
    if (next) problems.push(...checkRoot(nextCert, next, now(), 'the next root expired before the rotation finished: restore a backup of the key store from before `meshgen certs rotate --root`, and start again'));
    else if (!problems.some((p) => p.file?.includes(NEXT_ROOT_DIR))) {
      problems.push({ file: displayPath(nextCert), message: `is missing, but the key store is at stage ${rotation.stage} of a root rotation`, fix: 'restore the next root from backup; the clusters already trust it' });
    }
  }
  return { root, next, rootEncrypted, passphrase };
}

/**
 * The manifest says what the store held: a file it lists that is gone or
 * replaced is an error, not something to remake. One cause, one problem: a
 * file already in `found`, or whose partner (cert or key in the same folder)
 * is, is not reported again.
 */
function manifestProblems(store: string, manifest: KeyStoreManifest, mesh: MeshModel, rotation: RootRotation | undefined, found: readonly Problem[]): Problem[] {
  const listed: Problem[] = [];
  if (mesh.trust.byo === undefined && manifest.root) {
    listed.push(...checkEntry(store, manifest.root, 'the root CA', 'restore it from backup; a new root would not have signed the intermediates the clusters run with'));
  }
  if (rotation && rotation.stage < 3 && rotation.nextRoot) {
    listed.push(...checkEntry(store, rotation.nextRoot, 'the next root of the root rotation', 'restore it from backup; the clusters already trust the one recorded'));
  }
  for (const cluster of mesh.clusters) {
    const entry = manifest.intermediates[cluster.name];
    if (entry) {
      listed.push(
        ...checkEntry(store, entry, `the intermediate CA of cluster "${cluster.name}"`, `restore it from backup, or run \`meshgen certs rotate --cluster ${cluster.name}\` to issue a new one`),
      );
    }
  }
  const reported = (file: string | undefined) => found.some((q) => q.file !== undefined && file !== undefined && path.dirname(q.file) === path.dirname(file));
  return listed.filter((p) => !reported(p.file));
}

/** What loadOrMake found in the store, for makeMissing. */
interface Found {
  readonly root?: Pair;
  readonly rootEncrypted: boolean;
  readonly passphrase?: string;
  readonly next?: Pair;
  readonly existing: ReadonlyMap<string, Pair>;
  readonly missing: readonly ClusterModel[];
  readonly manifest?: KeyStoreManifest;
  readonly rotation?: RootRotation;
  readonly rootKeyFile: string;
  readonly rootCertFile: string;
  readonly tx: StoreTransaction;
  readonly write: boolean;
}

/** The root signs the intermediates, except in stage 2 of a root rotation, when the next root does. */
export function issuerOf<T>(stage: RootRotation['stage'] | undefined, root: T, next: T | undefined): T {
  return stage === 2 && next !== undefined ? next : root;
}

/** Makes the keys and certificates the store lacks (into `found.tx`) and returns the mesh's material. */
async function makeMissing(mesh: MeshModel, opts: KeyStoreOptions, found: Found): Promise<MeshPki> {
  const { root, next, existing, missing, manifest, rotation, tx, write } = found;
  const store = mesh.trust.keyStore;
  const byo = mesh.trust.byo;
  const profile = mesh.trust.profile;
  const generateKey = opts.generateKey ?? (() => generateCaKey(profile));
  sizeThreadPoolFor((root ? 0 : 1) + missing.length);
  const keys = await Promise.all([root ? Promise.resolve(undefined) : generateKey(), ...missing.map(() => generateKey())]);
  const [newRootKey, ...newClusterKeys] = keys;

  const { certPem: rootCertPem, keyPem: rootKeyPem } = rootPair(mesh, opts, found, newRootKey);

  const material = new Map<string, { certPem: string; keyPem: string }>();
  const provenance = new Map<string, Provenance>();
  for (const [name, pair] of existing) {
    material.set(name, pair);
    provenance.set(name, 'reused');
  }
  const issuer = issuerFor(mesh, found, { certPem: rootCertPem, keyPem: rootKeyPem });
  missing.forEach((cluster, i) => {
    const keyPem = newClusterKeys[i] as string;
    const certPem = issueIntermediate(mesh, opts, issuer, cluster, keyPem);
    if (write) {
      const dir = path.join(store, cluster.name);
      tx.write(path.join(dir, CA_KEY), keyPem, 0o600);
      tx.write(path.join(dir, CA_CERT), certPem, 0o644);
    }
    material.set(cluster.name, { certPem, keyPem });
    provenance.set(cluster.name, 'new');
  });

  if (write) stageManifest(tx, updatedManifest(manifest ?? emptyManifest(), tx, mesh, byo === undefined ? rootCertPem : undefined, material));

  // cert-chain.pem ends at the root that issued the intermediate; root-cert.pem carries every root the clusters trust.
  const issuingPem = withNewline(issuer.certPem);
  const nextPem = next ? withNewline(next.certPem) : undefined;
  const bundle = nextPem === undefined ? issuingPem : rotation?.stage === 2 ? issuingPem + withNewline(rootCertPem) : withNewline(rootCertPem) + nextPem;
  return {
    keyStore: store,
    rootCertPem: bundle,
    ...(rotation ? { rootRotation: rotation } : {}),
    root: root ? 'reused' : 'new',
    intermediates: provenance,
    cacerts: cacertsOf(mesh, material, bundle, issuingPem),
  };
}

/** The root's certificate and key: the stored ones (their key encrypted if now asked for), or a new root made with `newRootKey`, written into `found.tx`. */
function rootPair(mesh: MeshModel, opts: KeyStoreOptions, found: Found, newRootKey: string | undefined): { certPem: string; keyPem: string } {
  const { root, rootEncrypted, passphrase, rootKeyFile, tx, write } = found;
  const now = opts.now ?? (() => new Date());
  const serial = opts.serial ?? newSerial;
  const profile = mesh.trust.profile;
  if (root) {
    // Asked to encrypt a root key that is stored in plaintext: replace it with the encrypted form.
    if (mesh.trust.encryptRootKey && !rootEncrypted && write && mesh.trust.byo === undefined) tx.write(rootKeyFile, encryptKey(root.keyPem, passphrase as string), 0o600);
    return { certPem: root.certPem, keyPem: root.keyPem };
  }
  const keyPem = newRootKey as string;
  const certPem = createRootCertificate(keyPem, {
    now: now(),
    serial: serial(),
    validityHours: profile.rootValidityHours,
    organization: profile.organization,
    commonName: profile.rootCommonName,
  });
  if (write) {
    tx.write(rootKeyFile, mesh.trust.encryptRootKey ? encryptKey(keyPem, passphrase as string) : keyPem, 0o600);
    tx.write(path.join(mesh.trust.keyStore, ROOT_CERT), certPem, 0o644);
  }
  return { certPem, keyPem };
}

/** A root that issues intermediates, and its certificate's file, for errors. */
interface Issuer {
  readonly certPem: string;
  readonly keyPem: string;
  readonly file: string;
}

/** The root that issues a mesh's new intermediates (the next root from stage 2 of a rotation), and the file to name when it cannot. */
function issuerFor(mesh: MeshModel, found: Found, root: { certPem: string; keyPem: string }): Issuer {
  const { next, rotation, rootCertFile } = found;
  const pair = issuerOf(rotation?.stage, root, next ? { certPem: next.certPem, keyPem: next.keyPem } : undefined);
  return { ...pair, file: issuerOf(rotation?.stage, rootCertFile, next ? path.join(mesh.trust.keyStore, NEXT_ROOT_DIR, ROOT_CERT) : undefined) };
}

/** The intermediate certificate of `cluster` for its new key, issued by `issuer`. */
function issueIntermediate(mesh: MeshModel, opts: KeyStoreOptions, issuer: Issuer, cluster: ClusterModel, keyPem: string): string {
  const now = opts.now ?? (() => new Date());
  const serial = opts.serial ?? newSerial;
  const profile = mesh.trust.profile;
  try {
    return createIntermediateCertificate(keyPem, { certPem: issuer.certPem, keyPem: issuer.keyPem }, cluster.name, {
      now: now(),
      serial: serial(),
      validityHours: profile.intermediateValidityHours,
      organization: profile.organization,
      commonName: profile.intermediateCommonName,
      extraSANs: profile.extraSANs,
    });
  } catch (err) {
    // The root (or its key) cannot issue: say which file, once, instead of a bare encoding error.
    throw new KeyStoreError(`cannot issue the intermediate of cluster "${cluster.name}"`, [
      { file: displayPath(issuer.file), message: (err as Error).message.split('\n')[0], fix: 'use a root certificate and key that openssl reads (RSA, or ECDSA on P-256, P-384 or P-521)' },
    ]);
  }
}

/** The manifest after a run: the store's root (if it holds one) and this mesh's intermediates; other meshes' entries and the history kept. */
function updatedManifest(
  old: KeyStoreManifest,
  tx: StoreTransaction,
  mesh: MeshModel,
  rootCertPem: string | undefined,
  material: ReadonlyMap<string, { certPem: string }>,
): KeyStoreManifest {
  const store = tx.store;
  const intermediates = { ...old.intermediates };
  for (const [cluster, m] of material) {
    const dir = path.join(store, cluster);
    intermediates[cluster] = { mesh: mesh.name, ...entryFor(store, path.join(dir, CA_CERT), path.join(dir, CA_KEY), m.certPem) };
  }
  const rootKeyFile = path.join(store, ROOT_KEY);
  const root =
    rootCertPem === undefined
      ? old.root
      : {
          ...entryFor(store, path.join(store, ROOT_CERT), rootKeyFile, rootCertPem),
          keyEncrypted: isEncryptedKey(tx.written(rootKeyFile) ?? readIfExists(rootKeyFile, [])),
        };
  const sorted = Object.fromEntries(Object.keys(intermediates).sort().map((k) => [k, intermediates[k]]));
  return { ...old, ...(root ? { root } : {}), intermediates: sorted };
}

/** cert-manager makes each intermediate in its cluster: meshgen holds no CA material, only the root if given (for trust bundles). */
function certManagerPki(mesh: MeshModel): MeshPki {
  const byo = mesh.trust.byo as Extract<BringYourOwnCA, { kind: 'cert-manager' }>;
  let rootCertPem = '';
  if (byo.rootCert !== undefined) {
    const pem = readIfExists(byo.rootCert, []);
    if (pem === undefined || !parseCertificate(pem)) {
      throw new KeyStoreError(`cannot read the root certificate of mesh "${mesh.name}"`, [
        { file: displayPath(byo.rootCert), message: 'is not a readable PEM certificate', fix: 'fix trust.rootCert' },
      ]);
    }
    rootCertPem = withNewline(pem);
  }
  return {
    keyStore: mesh.trust.keyStore,
    rootCertPem,
    root: 'supplied',
    intermediates: new Map(mesh.clusters.map((c) => [c.name, 'supplied' as Provenance])),
    cacerts(cluster: string): CacertsFiles {
      throw new KeyStoreError(`cluster "${cluster}" gets its CA from cert-manager; meshgen writes no cacerts for it`);
    },
  };
}

/** Intermediates issued elsewhere (trust.intermediates): checked against the root, never made or written. */
function suppliedPki(mesh: MeshModel, byo: Extract<BringYourOwnCA, { kind: 'intermediates' }>, now: Date): MeshPki {
  const problems: Problem[] = [];
  const rootPem = readIfExists(byo.rootCert, problems);
  const root = rootPem === undefined ? undefined : parseCertificate(rootPem);
  if (rootPem === undefined || !root) {
    problems.push({ file: displayPath(byo.rootCert), message: 'is not a readable PEM certificate', fix: 'fix trust.rootCert' });
  }
  const material = new Map<string, { certPem: string; keyPem: string }>();
  for (const cluster of mesh.clusters) {
    const files = byo.intermediates[cluster.name];
    const pair = readPairFiles(files.cert, files.key, problems);
    if (!pair) {
      if (!fs.existsSync(files.cert) || !fs.existsSync(files.key)) {
        problems.push({ file: displayPath(fs.existsSync(files.cert) ? files.key : files.cert), message: 'cannot be read', fix: `fix trust.intermediates.${cluster.name}` });
      }
      continue;
    }
    if (!pair.cert.ca) problems.push({ file: displayPath(files.cert), message: 'is not a CA certificate', fix: 'give an intermediate CA (basicConstraints CA:TRUE)' });
    if (root && !issuedBy(pair.cert, root)) {
      problems.push({ file: displayPath(files.cert), message: `was not issued by ${displayPath(byo.rootCert)}`, fix: 'give the intermediate issued under that root, or the root it was issued under' });
    }
    if (new Date(pair.cert.validTo) <= now) problems.push({ file: displayPath(files.cert), message: `expired on ${new Date(pair.cert.validTo).toISOString()}`, fix: 'issue a new intermediate' });
    material.set(cluster.name, pair);
  }
  if (problems.length > 0) throw new KeyStoreError(`the CA files of mesh "${mesh.name}" do not fit together`, problems);
  const rootCertPem = withNewline(rootPem as string);
  return {
    keyStore: mesh.trust.keyStore,
    rootCertPem,
    root: 'supplied',
    intermediates: new Map(mesh.clusters.map((c) => [c.name, 'supplied' as Provenance])),
    cacerts: cacertsOf(mesh, material, rootCertPem, rootCertPem),
  };
}

/**
 * The cacerts files of each cluster: its intermediate, `root-cert.pem` with
 * every root the clusters trust, and `cert-chain.pem` ending at the root
 * that issued the intermediate.
 */
function cacertsOf(
  mesh: MeshModel,
  material: ReadonlyMap<string, { certPem: string; keyPem: string }>,
  trustedRoots: string,
  issuingRoot: string,
): (cluster: string) => CacertsFiles {
  return (cluster) => {
    const m = material.get(cluster);
    if (!m) throw new KeyStoreError(`no intermediate CA for cluster "${cluster}" in mesh "${mesh.name}"`);
    const caCert = withNewline(m.certPem);
    return { 'ca-cert.pem': caCert, 'ca-key.pem': withNewline(m.keyPem), 'root-cert.pem': trustedRoots, 'cert-chain.pem': caCert + issuingRoot };
  };
}

/** Encrypted PKCS#8: AES-256-CBC under a PBKDF2 (HMAC-SHA-256) key, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it. */
export function encryptKey(keyPem: string, passphrase: string): string {
  return createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
}

function withNewline(pem: string): string {
  const trimmed = pem.replace(/\r\n/g, '\n').trimEnd();
  return `${trimmed}\n`;
}

/** Reads a cert/key pair; both absent is fine, one without the other is a problem. */
function readPair(dir: string, certName: string, keyName: string, problems: Problem[], decrypt?: (pem: string) => string): Pair | undefined {
  return readPairFiles(path.join(dir, certName), path.join(dir, keyName), problems, decrypt);
}

/** Reads a cert/key pair from two files; see readPair. */
function readPairFiles(certFile: string, keyFile: string, problems: Problem[], decrypt?: (pem: string) => string): Pair | undefined {
  const certName = path.basename(certFile);
  const certPem = readIfExists(certFile, problems);
  const stored = readIfExists(keyFile, problems);
  const keyPem = stored !== undefined && decrypt ? decrypt(stored) : stored;
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    const [have, lack] = certPem === undefined ? [keyFile, certFile] : [certFile, keyFile];
    problems.push({
      file: displayPath(have),
      message: `${path.basename(lack)} is missing beside it`,
      fix: `restore ${displayPath(lack)} from backup; keep ${displayPath(have)}, which may be the only copy of a key the clusters run with`,
    });
    return undefined;
  }
  const cert = parseCertificate(certPem);
  if (!cert) {
    problems.push({ file: displayPath(certFile), message: 'is not a PEM certificate', fix: 'restore the file from backup' });
    return undefined;
  }
  if (!keyMatchesCertificate(keyPem, cert)) {
    problems.push({
      file: displayPath(keyFile),
      message: `is not the private key of ${certName}`,
      fix: 'restore the matching key and certificate from backup',
    });
    return undefined;
  }
  return { certPem, keyPem, cert };
}

function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

function readIfExists(file: string, problems: Problem[]): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    problems.push({ file: displayPath(file), message: `cannot be read (${code})`, fix: 'check its permissions' });
    return undefined;
  }
}

/**
 * Key store file of the key that fingerprints encrypted output (see
 * secrets/encrypt.ts): 32 random bytes as hex, 0600. It tells whether
 * an encrypted file on disk still holds what synth would write, without
 * keeping any plaintext; losing it only means every encrypted file is
 * encrypted anew once.
 */
export const OUTPUT_KEY_FILE = 'output-fingerprint.key';

/**
 * The output fingerprint key of the key store `store`, made on first use.
 * Two runs that make it at once agree on one: the file is linked into
 * place only if it does not exist yet. With `dryRun`, a missing key is
 * made in memory only.
 */
export function outputFingerprintKey(store: string, opts: { readonly dryRun?: boolean } = {}): Buffer {
  const file = path.join(store, OUTPUT_KEY_FILE);
  const read = (): Buffer | undefined => {
    const text = readIfExists(file, []);
    if (text === undefined) return undefined;
    if (!/^[0-9a-f]{64}\n?$/.test(text)) {
      throw new KeyStoreError(`the output fingerprint key of key store ${displayPath(store)} is damaged`, [
        { file: displayPath(file), message: 'does not hold 64 hexadecimal digits', fix: 'remove it: the next synth makes a new one and encrypts every Secret anew once' },
      ]);
    }
    return Buffer.from(text.trim(), 'hex');
  };
  const found = read();
  if (found) return found;
  const key = randomBytes(32);
  if (opts.dryRun) return key;
  ensureDir(store);
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, `${key.toString('hex')}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(tmp, file);
    fsyncDir(store);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read() as Buffer;
    throw new KeyStoreError(`cannot write ${displayPath(file)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
