/**
 * Rotation of the CA material in a key store.
 *
 * - `rotateIntermediates`: a cluster's intermediate is retired to
 *   `_history/clusters/<cluster>/<time>-<serial>/` and a new one is issued
 *   under the same root (the root that issues in the current stage).
 * - `advanceRootRotation`: the staged root rotation of Istio's multi-root
 *   trust. Each stage is a separate synth output, committed and rolled out
 *   before the next one starts:
 *     1. every cluster trusts both roots (root-cert.pem holds old + new);
 *     2. intermediates are re-issued by the new root (root-cert.pem new + old);
 *     3. the new root is the root, the old one retired (root-cert.pem new).
 *   A stage starts only when the output folder holds the previous stage for
 *   every cluster, so a stage cannot be skipped by running the command twice.
 *
 * Nothing is deleted: retired files move to `_history/`, and a failure
 * while issuing the replacement moves them back and restores the manifest.
 *
 * Long because each stage of a root rotation and each intermediate rotation is checked and written here, in one transaction each.
 */
import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KeyStoreError, Problem } from '../errors';
import { MeshModel } from '../model/types';
import { displayPath } from '../paths';
import { createRootCertificate, generateCaKey, newSerial } from './certificates';
import { isEncryptedKey, parseCertificate } from './inspect';
import { PASSPHRASE_FIX } from './passphrase';
import { encryptKey, ensureMeshPki, HISTORY_DIR, KEY_STORE_FILES, KeyStoreOptions, MeshPki, NEXT_ROOT_DIR } from './key-store';
import { StoreTransaction, withStoreLock } from './store-io';
import { fingerprintsOf, TrustFacts } from './trust-facts';
import { emptyManifest, entryFor, HistoryEntry, KeyStoreManifest, MANIFEST_FILE, readManifest, RetiredRoot, RootRotation, stageManifest } from './manifest';

const { rootCert: ROOT_CERT, rootKey: ROOT_KEY, caCert: CA_CERT, caKey: CA_KEY } = KEY_STORE_FILES;

/** What a cluster runs with, read from the output folder: the fingerprints of the roots it trusts. */
export interface DeployedCacerts extends TrustFacts {
  /** File the facts were read from, as shown to the user. */
  readonly source: string;
  /** The folder holds an encrypted or sealed cacerts and a marker of an older meshgen: made under a root that cannot be told. */
  readonly unreadable?: boolean;
}

/** Options of a rotation. */
export interface RotateOptions extends Omit<KeyStoreOptions, 'deployedRoot' | 'allowNewRoot' | 'dryRun'> {
  /** Clock for history folder names and the manifest. */
  readonly now?: () => Date;
}

/** The result of `rotateIntermediates`, per cluster. */
export interface IntermediateRotation {
  readonly cluster: string;
  /** The retired intermediate, as recorded in the history. */
  readonly retired: HistoryEntry;
  /** The key store's material after the rotation. */
  readonly pki: MeshPki;
}

/** The result of `advanceRootRotation`. */
export interface RootRotationStep {
  /** The stage the key store is now at. */
  readonly stage: 1 | 2 | 3;
  /** SHA-256 fingerprints of the root being replaced and the one replacing it. */
  readonly oldRoot: string;
  readonly newRoot: string;
  /** Per mesh sharing the key store, its material after the step. */
  readonly pkis: ReadonlyMap<string, MeshPki>;
}

/** What `root-cert.pem` and the issuing root of `cert-chain.pem` hold at a stage (0: no rotation under way). */
export interface StageTrust {
  /** SHA-256 fingerprints of the roots in root-cert.pem, in order. */
  readonly roots: readonly string[];
  /** SHA-256 fingerprint of the root that issues the intermediates. */
  readonly issuer: string;
}

/** Meshes whose CA material meshgen does not hold cannot be rotated by it. */
function assertRotatable(mesh: MeshModel, what: string): void {
  const byo = mesh.trust.byo;
  if (byo?.kind === 'cert-manager') {
    throw new KeyStoreError(`mesh "${mesh.name}" gets its intermediates from cert-manager, which renews them in the cluster`, [
      { file: mesh.source.file, path: 'spec.trust.certManager', message: `meshgen holds no CA material to ${what}`, fix: 'renew with cert-manager: `cmctl renew cacerts -n istio-system` on the cluster' },
    ]);
  }
  if (byo?.kind === 'intermediates') {
    throw new KeyStoreError(`mesh "${mesh.name}" brings its own intermediates (trust.intermediates)`, [
      { file: mesh.source.file, path: 'spec.trust.intermediates', message: `meshgen holds no root key to ${what}`, fix: 'issue the new intermediate with your CA and point trust.intermediates at its files' },
    ]);
  }
}

/** `20261125T140000Z`: a timestamp that sorts and is a valid file name. */
function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The certificate's serial for a folder name; `unreadable` when the file is not a certificate. */
function serialOf(pem: string | undefined): string {
  const cert = pem === undefined ? undefined : parseCertificate(pem);
  return cert ? cert.serialNumber.toLowerCase().slice(0, 16) : 'unreadable';
}

/**
 * The files a rotation step changes, as one key store transaction
 * (store-io.ts), and how to undo it: if issuing the replacements fails
 * after the commit, the undo is committed the same way.
 */
class RotationPlan {
  public readonly tx: StoreTransaction;
  private readonly moves: Array<[string, string]> = [];
  private readonly written: string[] = [];
  private readonly madeDirs: string[] = [];
  private readonly manifestFile: string;
  private readonly manifestBefore: string | undefined;

  constructor(store: string) {
    this.tx = new StoreTransaction(store);
    this.manifestFile = path.join(store, MANIFEST_FILE);
    this.manifestBefore = fs.existsSync(this.manifestFile) ? fs.readFileSync(this.manifestFile, 'utf8') : undefined;
  }

  /** A folder that must not exist yet; the commit makes it when something moves into it, the undo removes it. */
  dir(dir: string): string {
    if (fs.existsSync(dir)) throw new KeyStoreError(`${displayPath(dir)} already exists; remove it or try again in a second`);
    for (let d = dir; !fs.existsSync(d) && d !== path.dirname(d); d = path.dirname(d)) this.madeDirs.push(d);
    return dir;
  }

  /** Moves `from` to `to` at the commit; false when there is no `from`. */
  move(from: string, to: string): boolean {
    if (!fs.existsSync(from)) return false;
    this.tx.move(from, to);
    this.moves.push([from, to]);
    return true;
  }

  /** Writes a new file at the commit. */
  write(file: string, content: string, mode: 0o600 | 0o644): void {
    this.tx.write(file, content, mode);
    this.written.push(file);
  }

  /** Puts every moved file back, removes what was written and restores the manifest, as one transaction. */
  undo(): Problem[] {
    const back = new StoreTransaction(this.tx.store);
    try {
      // A replacement issued before the failure is in the way of a file moving back: it was never used.
      for (const [from, to] of [...this.moves].reverse()) {
        back.remove(from);
        back.move(to, from);
      }
      for (const file of this.written) back.remove(file);
      for (const dir of [...new Set(this.madeDirs)].sort((a, b) => b.length - a.length)) back.removeDir(dir);
      if (this.manifestBefore === undefined) back.remove(this.manifestFile);
      else back.write(this.manifestFile, this.manifestBefore, 0o644);
      back.commit();
      return [];
    } catch (err) {
      back.discard();
      return [{ file: displayPath(this.tx.store), message: `could not be put back as it was (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, fix: 'run the command again: the next run finishes what the journal records, then check the store with `meshgen certs status`' }];
    }
  }
}

/**
 * Runs `body`, which stages its changes in `plan` and commits them; if it
 * throws before the commit nothing changed, after it the undo is committed.
 */
async function atomically<T>(plan: RotationPlan, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const stuck = plan.tx.committed ? plan.undo() : [];
    if (stuck.length > 0) {
      const cause = (err as Error).message.split('\n')[0];
      throw new KeyStoreError(`${cause}; and the key store could not be put back as it was`, [...((err as KeyStoreError).problems ?? []), ...stuck]);
    }
    throw err;
  } finally {
    plan.tx.discard();
  }
}

/**
 * Options whose slow or interactive parts (the passphrase, new keys) are
 * done before any file moves, so that an interrupt cannot leave the store
 * half-changed while a person types or a key is made.
 */
async function prepared(meshes: readonly MeshModel[], opts: RotateOptions, keyCount: (mesh: MeshModel) => number): Promise<(mesh: MeshModel) => RotateOptions> {
  const first = meshes[0];
  const store = first.trust.keyStore;
  const keyFiles = [path.join(store, ROOT_KEY), path.join(store, NEXT_ROOT_DIR, ROOT_KEY), ...(first.trust.byo?.kind === 'root' ? [first.trust.byo.rootKey] : [])];
  const encryptedFiles = keyFiles.filter((f) => isEncryptedKey(readText(f)));
  let passphrase: string | undefined;
  if (encryptedFiles.length > 0 || meshes.some((m) => m.trust.encryptRootKey)) {
    passphrase = await opts.rootKeyPassphrase?.();
    // A wrong passphrase is found here, before any file moves.
    for (const file of encryptedFiles) {
      try {
        createPrivateKey({ key: readText(file), format: 'pem', passphrase: passphrase ?? '' });
      } catch {
        throw new KeyStoreError(`cannot decrypt the root key of ${displayPath(store)}`, [
          { file: displayPath(file), message: passphrase ? 'the passphrase does not open it' : 'needs a passphrase', fix: 'give the passphrase the key was encrypted with (trust.passphrase, or a terminal)' },
        ]);
      }
    }
  }
  // Each mesh's keys in its own algorithm: meshes sharing a key store may differ.
  const total = meshes.reduce((n, m) => n + keyCount(m), 0);
  if (total > 0) opts.onMakeKeys?.(total);
  const queues = new Map<MeshModel, string[]>();
  await Promise.all(
    meshes.map(async (m) => {
      const make = opts.generateKey ?? (() => generateCaKey(m.trust.profile));
      queues.set(m, await Promise.all(Array.from({ length: keyCount(m) }, () => make())));
    }),
  );
  return (mesh) => ({
    ...opts,
    onMakeKeys: undefined,
    rootKeyPassphrase: async () => passphrase,
    generateKey: async () => queues.get(mesh)?.shift() ?? (opts.generateKey ?? (() => generateCaKey(mesh.trust.profile)))(),
  });
}

/** Checks a key store through ensureMeshPki without making anything: every cluster must already have its intermediate. */
async function checkStore(mesh: MeshModel, opts: RotateOptions, before: string): Promise<MeshPki> {
  return ensureMeshPki(mesh, {
    ...opts,
    onMakeKeys: () => {
      throw new KeyStoreError(`the key store ${displayPath(mesh.trust.keyStore)} of mesh "${mesh.name}" is not complete`, [
        { file: displayPath(mesh.trust.keyStore), message: `has no root or not every cluster's intermediate yet, so there is nothing to ${before}`, fix: 'run `meshgen synth` first and roll out its output' },
      ]);
    },
  });
}

/** Moves an intermediate to the history (at the plan's commit); returns its history entry. */
function retireIntermediate(plan: RotationPlan, store: string, mesh: MeshModel, cluster: string, now: Date): HistoryEntry | undefined {
  const dir = path.join(store, cluster);
  const certFile = path.join(dir, CA_CERT);
  const keyFile = path.join(dir, CA_KEY);
  if (!fs.existsSync(certFile) && !fs.existsSync(keyFile)) return undefined;
  const certPem = fs.existsSync(certFile) ? fs.readFileSync(certFile, 'utf8') : undefined;
  const target = plan.dir(path.join(store, HISTORY_DIR, 'clusters', cluster, `${stamp(now)}-${serialOf(certPem)}`));
  const movedCert = plan.move(certFile, path.join(target, CA_CERT));
  const movedKey = plan.move(keyFile, path.join(target, CA_KEY));
  const cert = certPem === undefined ? undefined : parseCertificate(certPem);
  const rel = (f: string) => path.relative(store, f).split(path.sep).join('/');
  const whole = movedCert && movedKey && cert !== undefined;
  return {
    cluster,
    mesh: mesh.name,
    cert: movedCert ? rel(path.join(target, CA_CERT)) : '',
    key: movedKey ? rel(path.join(target, CA_KEY)) : '',
    sha256: cert?.fingerprint256 ?? '',
    notAfter: cert ? new Date(cert.validTo).toISOString() : '',
    retired: now.toISOString(),
    ...(whole ? {} : { incomplete: true }),
  };
}

/**
 * Issues a new intermediate for each of `clusters` of `mesh` under the root
 * that issues in the current stage, keeping the old ones in the key store's
 * history. Works when an old one is expired, under another root or for
 * another cluster: that is when it is needed. All or nothing.
 */
export async function rotateIntermediates(mesh: MeshModel, clusters: readonly string[], opts: RotateOptions = {}): Promise<IntermediateRotation[]> {
  assertRotatable(mesh, 'issue a new intermediate with');
  return withStoreLock(mesh.trust.keyStore, () => rotateIntermediatesLocked(mesh, clusters, opts), opts.lock);
}

async function rotateIntermediatesLocked(mesh: MeshModel, clusters: readonly string[], opts: RotateOptions): Promise<IntermediateRotation[]> {
  for (const cluster of clusters) {
    if (!mesh.clusters.some((c) => c.name === cluster)) {
      const names = mesh.clusters.map((c) => c.name).join(', ');
      throw new KeyStoreError(`mesh "${mesh.name}" has no cluster "${cluster}" (its clusters: ${names})`);
    }
  }
  const store = mesh.trust.keyStore;
  const now = (opts.now ?? (() => new Date()))();
  const names = [...new Set(clusters)];
  const before = readManifest(store) ?? emptyManifest();
  for (const cluster of names) {
    const dir = path.join(store, cluster);
    if (!fs.existsSync(path.join(dir, CA_CERT)) && !fs.existsSync(path.join(dir, CA_KEY)) && !before.intermediates[cluster]) {
      throw new KeyStoreError(`cluster "${cluster}" has no intermediate in ${displayPath(store)} yet`, [
        { file: displayPath(path.join(dir, CA_CERT)), message: 'does not exist', fix: 'run `meshgen synth`, which issues it' },
      ]);
    }
  }
  const ready = (await prepared([mesh], opts, () => names.length))(mesh);
  const plan = new RotationPlan(store);
  return atomically(plan, async () => {
    const manifest = readManifest(store) ?? emptyManifest();
    const intermediates = { ...manifest.intermediates };
    const retired: HistoryEntry[] = [];
    for (const cluster of names) {
      // An intermediate the manifest lists but whose files are gone is recorded as lost, and replaced.
      const recorded = manifest.intermediates[cluster];
      const entry =
        retireIntermediate(plan, store, mesh, cluster, now) ??
        (recorded ? { ...recorded, cert: '', key: '', cluster, mesh: mesh.name, retired: now.toISOString(), lost: true } : undefined);
      if (entry) retired.push(entry);
      delete intermediates[cluster];
    }
    // Retiring is one transaction and issuing another: killed between them, the store is whole, with no intermediate
    // for these clusters, and the next synth (which certs status names) issues them.
    stageManifest(plan.tx, { ...manifest, intermediates, history: [...manifest.history, ...retired] });
    plan.tx.commit();
    const pki = await ensureMeshPki(mesh, ready);
    return retired.map((r) => ({ cluster: r.cluster, retired: r, pki }));
  });
}

/** Fingerprint of the first certificate of a PEM file, or undefined. */
function fingerprintOf(file: string): string | undefined {
  return fingerprintsOf(readText(file))[0];
}

/** What the output of `stage` holds, for the key store `store` (whose manifest is `m`). */
export function stageTrust(store: string, m: KeyStoreManifest | undefined): StageTrust {
  const current = fingerprintOf(path.join(store, ROOT_CERT)) ?? '';
  const rotation = m?.rootRotation;
  if (!rotation || rotation.stage === 3) return { roots: [current], issuer: current };
  const next = rotation.nextRoot?.sha256 ?? '';
  return rotation.stage === 1 ? { roots: [current, next], issuer: current } : { roots: [next, current], issuer: next };
}

const STAGE_NAMES: Record<0 | 1 | 2 | 3, string> = {
  0: 'the current root only',
  1: 'stage 1 (both roots trusted)',
  2: 'stage 2 (intermediates from the new root)',
  3: 'stage 3 (old root removed)',
};

/** Problems with the output: a cluster whose cacerts is not the one of the store's current stage. */
function checkDeployed(meshes: readonly MeshModel[], deployed: ReadonlyMap<string, DeployedCacerts>, want: StageTrust, stage: 0 | 1 | 2 | 3): Problem[] {
  const problems: Problem[] = [];
  for (const mesh of meshes) {
    for (const cluster of mesh.clusters) {
      const d = deployed.get(cluster.name);
      const fix = `run \`meshgen synth\`, commit the output and roll it out to cluster "${cluster.name}" (its README says what to check); then run this again`;
      if (!d) {
        problems.push({ message: `cluster "${cluster.name}" of mesh "${mesh.name}" has no folder in the output that shows what it trusts, so nothing shows it runs ${STAGE_NAMES[stage]}`, fix });
        continue;
      }
      if (d.roots.join(',') !== want.roots.join(',') || d.issuer !== want.issuer) {
        problems.push({ file: d.source, message: `does not hold ${STAGE_NAMES[stage]} yet`, fix });
      }
    }
  }
  return problems;
}

/** A cluster of another mesh that trusts the rotating roots through trust bundles. */
export interface PeerCluster {
  readonly mesh: string;
  readonly cluster: string;
  /** What its output trusts; undefined when the output folder has nothing for it. */
  readonly deployed?: DeployedCacerts;
  /** Its mesh is not in the topology given (found by its folder's marker): synth cannot update it from here. */
  readonly outside?: boolean;
}

/** Problems with peers whose output does not trust every root of the current stage yet. */
function checkPeers(peers: readonly PeerCluster[], want: StageTrust, stage: 0 | 1 | 2 | 3): Problem[] {
  return peers.flatMap((p): Problem[] => {
    const fix = p.outside
      ? `mesh "${p.mesh}" is not in the topology given: pass its file with -f, then run \`meshgen synth\` and roll out cluster "${p.cluster}", which trusts these roots through trust bundles`
      : `run \`meshgen synth\` and roll out cluster "${p.cluster}" of mesh "${p.mesh}", which trusts these roots through trust bundles; then run this again`;
    if (!p.deployed) return [{ message: `cluster "${p.cluster}" of mesh "${p.mesh}" has nothing in the output folder that shows it trusts ${STAGE_NAMES[stage]}`, fix }];
    const lacking = want.roots.filter((r) => !p.deployed?.extraRoots.includes(r));
    return lacking.length > 0 ? [{ file: p.deployed.source, message: `does not trust every root of ${STAGE_NAMES[stage]} yet (missing SHA-256 ${lacking.join(', ')})`, fix }] : [];
  });
}

/**
 * Starts a root rotation, or moves it one stage on. `meshes` are the meshes
 * that share the key store (a shared-root federation rotates together);
 * `deployed` is what the output folder holds per cluster, which must be the
 * current stage for every cluster before the next one starts.
 */
export async function advanceRootRotation(
  meshes: readonly MeshModel[],
  deployed: ReadonlyMap<string, DeployedCacerts>,
  opts: RotateOptions & {
    readonly start: boolean;
    /**
     * Clusters of other meshes that trust these meshes' roots (trust bundles),
     * with what their output trusts: they must hold the current stage's roots too.
     * @default - none
     */
    readonly peers?: readonly PeerCluster[];
  },
): Promise<RootRotationStep> {
  return withStoreLock(meshes[0].trust.keyStore, () => advanceRootRotationLocked(meshes, deployed, opts), opts.lock);
}

/** The work of advanceRootRotation, under the key store's lock. */
async function advanceRootRotationLocked(
  meshes: readonly MeshModel[],
  deployed: ReadonlyMap<string, DeployedCacerts>,
  opts: RotateOptions & { readonly start: boolean; readonly peers?: readonly PeerCluster[] },
): Promise<RootRotationStep> {
  const store = meshes[0].trust.keyStore;
  assertRootsRotatable(meshes);
  const now = (opts.now ?? (() => new Date()))();
  assertNoStrangers(store, meshes);
  // The store must be whole and consistent, and gets a manifest if it is older than manifests.
  for (const mesh of meshes) await checkStore(mesh, opts, 'rotate');
  const manifest = readManifest(store) ?? emptyManifest();
  const rotation = manifest.rootRotation;
  assertAllMeshesGiven(store, meshes, manifest);
  const stage: 0 | 1 | 2 | 3 = rotation?.stage ?? 0;
  assertStageFits(store, opts.start, stage, rotation);
  const want = stageTrust(store, manifest);
  const notThere = [...checkDeployed(meshes, deployed, want, stage), ...checkPeers(opts.peers ?? [], want, stage)];
  if (notThere.length > 0) {
    throw new KeyStoreError(`not every cluster runs ${STAGE_NAMES[stage]} yet, so the next stage would cut traffic`, notThere);
  }

  const oldRoot = fingerprintOf(path.join(store, ROOT_CERT)) ?? '';
  if (stage === 2) assertNextRootOnly(store);
  // Stage 2 makes a key per cluster: made, and the passphrase asked, before any file moves.
  const readyFor = await prepared(meshes, opts, (m) => (stage === 1 && !opts.start ? m.clusters.length : 0));
  const ready = readyFor(meshes[0]);
  const plan = new RotationPlan(store);
  return atomically(plan, async () => {
    let next: KeyStoreManifest;
    if (opts.start) next = await startRotation(plan, store, meshes, manifest, now, ready);
    else if (stage === 1) next = retireAllIntermediates(plan, store, meshes, manifest, now);
    else next = promoteNextRoot(plan, store, manifest, now);
    // The stage's files and the manifest that records it are one transaction: a kill leaves the previous stage or this one.
    stageManifest(plan.tx, next);
    plan.tx.commit();
    // Issues what the stage needs (stage 2: every intermediate, from the new root) and checks the result.
    const pkis = new Map<string, MeshPki>();
    for (const mesh of meshes) pkis.set(mesh.name, await ensureMeshPki(mesh, readyFor(mesh)));
    const newRoot = next.rootRotation?.nextRoot?.sha256 ?? next.root?.sha256 ?? '';
    return { stage: next.rootRotation?.stage ?? 1, oldRoot, newRoot, pkis };
  });
}

/** Throws unless every mesh can have its root rotated here: meshgen keeps the root, not the user's own CA. */
function assertRootsRotatable(meshes: readonly MeshModel[]): void {
  for (const mesh of meshes) {
    assertRotatable(mesh, 'rotate the root with');
    if (mesh.trust.byo?.kind === 'root') {
      throw new KeyStoreError(`mesh "${mesh.name}" brings its own root (trust.rootCert, trust.rootKey)`, [
        {
          file: mesh.source.file,
          path: 'spec.trust.rootCert',
          message: 'meshgen rotates only a root it keeps in its key store',
          fix: 'make the new root with your CA, then point trust.rootCert and trust.rootKey at it and roll out every cluster, or move the root into the key store',
        },
      ]);
    }
  }
}

/** Throws when a store without a manifest holds intermediates of clusters in none of the meshes given. */
function assertNoStrangers(store: string, meshes: readonly MeshModel[]): void {
  // A store older than manifests: the meshes given are all it can be checked against, so a folder of any other cluster stops the rotation
  // (it would miss every stage). With a manifest, assertAllMeshesGiven names the meshes it records.
  const before = readManifest(store);
  const known = new Set(meshes.flatMap((m) => m.clusters.map((c) => c.name)));
  const strangers = fs
    .readdirSync(store, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('_') && fs.existsSync(path.join(store, e.name, CA_CERT)))
    .map((e) => e.name)
    .filter((name) => before === undefined && !known.has(name))
    .sort();
  if (strangers.length > 0) {
    throw new KeyStoreError(`the key store ${displayPath(store)} holds intermediates of clusters that are in none of the meshes given`, [
      {
        file: displayPath(store),
        message: `holds ${strangers.map((c) => `${c}/`).join(', ')}`,
        fix: 'pass every topology file that uses this key store with -f, so all its meshes rotate together; move a folder out of the key store only if its cluster is gone for good',
      },
    ]);
  }
}

/** A mesh the store issued for but that is not here would miss every stage and be cut off at stage 3. */
function assertAllMeshesGiven(store: string, meshes: readonly MeshModel[], manifest: KeyStoreManifest): void {
  const given = new Set(meshes.map((m) => m.name));
  const missing = [...new Set(Object.values(manifest.intermediates).map((e) => e.mesh))].filter((m) => !given.has(m)).sort();
  if (missing.length > 0) {
    throw new KeyStoreError(`the key store ${displayPath(store)} also holds intermediates of ${missing.map((m) => `mesh "${m}"`).join(', ')}, which the topology given does not define`, [
      {
        file: displayPath(path.join(store, MANIFEST_FILE)),
        message: `lists intermediates of ${missing.join(', ')}`,
        fix: 'pass every topology file that uses this key store with -f, so all its meshes rotate together; if a mesh is gone for good, remove its entries from the manifest',
      },
    ]);
  }
}

/** Throws when a rotation is to start while one runs, or to continue while none does. */
function assertStageFits(store: string, start: boolean, stage: 0 | 1 | 2 | 3, rotation: RootRotation | undefined): void {
  const running = stage === 1 || stage === 2;
  if (start && running) {
    throw new KeyStoreError(`a root rotation of ${displayPath(store)} is at ${STAGE_NAMES[stage]}`, [
      { file: displayPath(path.join(store, MANIFEST_FILE)), message: `records a root rotation started ${rotation?.started}`, fix: 'roll out the current stage, then run `meshgen certs rotate --root --continue`' },
    ]);
  }
  if (!start && !running) {
    throw new KeyStoreError(
      stage === 3 ? `the last root rotation of ${displayPath(store)} is complete (stage 3)` : `no root rotation of ${displayPath(store)} is under way`,
      [{ file: displayPath(path.join(store, MANIFEST_FILE)), message: 'has no stage to continue', fix: 'run `meshgen certs rotate --root` to start one' }],
    );
  }
}

/** Throws when the next root's folder holds anything but the next root, before stage 3 moves it into place and removes the folder. */
function assertNextRootOnly(store: string): void {
  const nextDir = path.join(store, NEXT_ROOT_DIR);
  const extra = fs.readdirSync(nextDir).filter((f) => f !== ROOT_CERT && f !== ROOT_KEY);
  if (extra.length > 0) {
    throw new KeyStoreError(`${displayPath(nextDir)} holds files that are not the next root`, [
      { file: displayPath(nextDir), message: `holds ${extra.join(', ')}`, fix: 'move them out of the key store; stage 3 moves the next root into place and removes the folder' },
    ]);
  }
}

/** Stage 1: a new root in `_next-root/`, encrypted like the current one. */
async function startRotation(
  plan: RotationPlan,
  store: string,
  meshes: readonly MeshModel[],
  manifest: KeyStoreManifest,
  now: Date,
  opts: RotateOptions,
): Promise<KeyStoreManifest> {
  const profile = meshes[0].trust.profile;
  const encrypted = meshes.some((m) => m.trust.encryptRootKey) || manifest.root?.keyEncrypted === true || isEncryptedKey(readText(path.join(store, ROOT_KEY)));
  let passphrase: string | undefined;
  if (encrypted) {
    passphrase = await opts.rootKeyPassphrase?.();
    if (!passphrase) {
      throw new KeyStoreError('the new root key is to be encrypted like the current one, and no passphrase was given', [
        { file: displayPath(path.join(store, ROOT_KEY)), message: 'is encrypted', fix: PASSPHRASE_FIX },
      ]);
    }
  }
  const keyPem = await (opts.generateKey ?? (() => generateCaKey(profile)))();
  const certPem = createRootCertificate(keyPem, {
    now,
    serial: (opts.serial ?? newSerial)(),
    validityHours: profile.rootValidityHours,
    organization: profile.organization,
    commonName: profile.rootCommonName,
  });
  const dir = plan.dir(path.join(store, NEXT_ROOT_DIR));
  plan.write(path.join(dir, ROOT_KEY), passphrase ? encryptKey(keyPem, passphrase) : keyPem, 0o600);
  plan.write(path.join(dir, ROOT_CERT), certPem, 0o644);
  return {
    ...manifest,
    rootRotation: {
      stage: 1,
      started: now.toISOString(),
      stageStarted: now.toISOString(),
      nextRoot: entryFor(store, path.join(dir, ROOT_CERT), path.join(dir, ROOT_KEY), certPem),
    },
  };
}

/** Stage 2: every intermediate retired; ensureMeshPki then issues each again, from the new root. */
function retireAllIntermediates(plan: RotationPlan, store: string, meshes: readonly MeshModel[], manifest: KeyStoreManifest, now: Date): KeyStoreManifest {
  const intermediates = { ...manifest.intermediates };
  const history = [...manifest.history];
  for (const mesh of meshes) {
    for (const cluster of mesh.clusters) {
      const retired = retireIntermediate(plan, store, mesh, cluster.name, now);
      if (retired) history.push(retired);
      delete intermediates[cluster.name];
    }
  }
  const rotation = manifest.rootRotation as NonNullable<KeyStoreManifest['rootRotation']>;
  return { ...manifest, intermediates, history, rootRotation: { ...rotation, stage: 2, stageStarted: now.toISOString() } };
}

/** Stage 3: the old root retired to `_history/root/`, the new one in its place. */
function promoteNextRoot(plan: RotationPlan, store: string, manifest: KeyStoreManifest, now: Date): KeyStoreManifest {
  const rotation = manifest.rootRotation as NonNullable<KeyStoreManifest['rootRotation']>;
  const oldPem = readText(path.join(store, ROOT_CERT));
  const target = plan.dir(path.join(store, HISTORY_DIR, 'root', `${stamp(now)}-${serialOf(oldPem)}`));
  const nextDir = path.join(store, NEXT_ROOT_DIR);
  const newPem = readText(path.join(nextDir, ROOT_CERT));
  const newKeyEncrypted = isEncryptedKey(readText(path.join(nextDir, ROOT_KEY)));
  plan.move(path.join(store, ROOT_CERT), path.join(target, ROOT_CERT));
  plan.move(path.join(store, ROOT_KEY), path.join(target, ROOT_KEY));
  plan.move(path.join(nextDir, ROOT_CERT), path.join(store, ROOT_CERT));
  plan.move(path.join(nextDir, ROOT_KEY), path.join(store, ROOT_KEY));
  plan.tx.removeDir(nextDir);
  const retiredRoot: RetiredRoot = {
    ...entryFor(store, path.join(target, ROOT_CERT), path.join(target, ROOT_KEY), oldPem),
    retired: now.toISOString(),
  };
  return {
    ...manifest,
    root: { ...entryFor(store, path.join(store, ROOT_CERT), path.join(store, ROOT_KEY), newPem), keyEncrypted: newKeyEncrypted },
    rootRotation: { stage: 3, started: rotation.started, stageStarted: now.toISOString(), retiredRoot },
    retiredRoots: [...(manifest.retiredRoots ?? []), retiredRoot],
  };
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
