/**
 * One synth run: check paths → load or make CA material → build the
 * construct tree → render every cluster folder → swap them into place.
 * Nothing in the output folder changes unless every step before the swap
 * succeeded.
 *
 * Long because it is the one orchestrator of synth and diff: inputs, locks, rendering and the summary.
 */
import * as path from 'node:path';
import { App } from 'cdk8s';
import { clusterChartProps } from '../charts/mesh';
import { ClusterChart } from '../charts/cluster-chart';
import { MeshCredentials } from '../credentials/resolve';
import { Problem, OutputError } from '../errors';
import { installOrder } from '../model/plan';
import { MeshModel, Topology } from '../model/types';
import { rootKeyPassphrase } from '../pki/passphrase';
import { displayPath, isInside } from '../paths';
import { ensureMeshPki, KeyStoreOptions, MeshPki, Provenance } from '../pki/key-store';
import { renderCluster, RenderedFolder } from './render';
import { awaitingOf, incompleteOutputError, MeshAwaiting, MeshPending, pendingOf, plaintextError, plaintextSecretsOf, resolveTopologyCredentials } from './pending';

import type { SynthRun } from './readme';
import { readDeployedRoot, readOutputDataplanes } from './deployed';
import { ensureOutputFolder, OutputPlanner, OutputWrite, removeIfEmpty, withOutputLock } from './write';
import type { SealingKey } from '../secrets/sealing-cert';
import * as fs from 'node:fs';
import { LockOptions } from '../lock';
import { withStoreLock } from '../pki/store-io';
import { folderEncryptor } from './encrypt';
import { FolderReadAhead, READ_AHEAD_FROM } from './disk-compare';
import { readTopologySealingKeys } from '../secrets/sealing-cert';

/** Options of synthesize(). */
export interface SynthOptions {
  /** Output folder; one sub-folder per cluster. */
  readonly outdir: string;
  /**
   * Clock, serials and key maker of the key store.
   * @default - the real clock, random serials, RSA 4096 keys
   */
  readonly keyStore?: KeyStoreOptions;
  /**
   * Accept a root CA other than the one the existing output was made under.
   * @default false
   */
  readonly allowNewRoot?: boolean;
  /**
   * Accept a mesh whose existing output was made for the other data plane
   * (sidecar to ambient or back), which breaks calls between clusters until
   * every workload has moved.
   * @default false
   */
  readonly allowDataplaneChange?: boolean;
  /**
   * Environment for $KUBECONFIG and root key passphrases.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Asks for a root key's passphrase when no variable or file gives it.
   * @default - nobody asks: an encrypted root key without a passphrase is an error
   */
  readonly askPassphrase?: (mesh: MeshModel) => Promise<string | undefined>;
  /**
   * For CI: refuse, before anything is written, to write Secrets in plaintext (`secrets.encryption: none`) or to leave any remote secret pending.
   * @default false
   */
  readonly strict?: boolean;
  /**
   * How long to wait for other runs' locks of the key stores and the output, and where to say what is waited for or recovered.
   * @default - DEFAULT_LOCK_TIMEOUT_MS, nothing said
   */
  readonly lock?: LockOptions;
}

/** What one cluster folder got. */
export interface ClusterSummary {
  readonly name: string;
  readonly role: 'primary' | 'remote';
  readonly files: number;
  readonly intermediate: Provenance;
}

/** What one synth run did. */
export interface SynthResult {
  readonly outdir: string;
  readonly meshes: readonly {
    readonly name: string;
    readonly keyStore: string;
    readonly root: Provenance;
    /** Stage of the key store's root rotation, if one was ever made. */
    readonly rootRotationStage?: 1 | 2 | 3;
    readonly clusters: readonly ClusterSummary[];
  }[];
  /** Cluster folders removed because their cluster left the topology. */
  readonly removed: readonly string[];
  /** meshgen folders of meshes not in this topology, left alone. */
  readonly foreign: readonly string[];
  /** Clusters whose remote secrets could not be written yet, with why and what to do. */
  readonly pending: readonly MeshPending[];
  /** Remotes whose control plane waits for their primary's east-west gateway address. */
  readonly awaiting: readonly MeshAwaiting[];
  /** Files that hold private keys or tokens in plaintext (`secrets.encryption: none`), relative to the output folder. */
  readonly plaintextSecrets: readonly string[];
  /** Encrypted files written anew, relative to the output folder. */
  readonly encrypted: readonly string[];
  /** Encrypted files kept byte for byte, their Secrets unchanged. */
  readonly keptEncrypted: readonly string[];
}

/**
 * A synth run whose CA material is ready: its folders are rendered and
 * encrypted one cluster at a time, so a fleet's output is never held in
 * memory whole; the summary is complete once every folder was produced.
 */
export interface PreparedSynthesis {
  readonly outdir: string;
  /** Name → mesh of every folder the run produces. */
  readonly names: ReadonlyMap<string, string>;
  /** Each cluster's folder, rendered and encrypted, in topology order. */
  folders(): AsyncGenerator<RenderedFolder>;
  /** A fleet's folders on disk, read ahead in the order folders() gives them, for OutputPlanner; its close() stops the worker once the folders are compared. */
  readonly readAhead?: FolderReadAhead;
  /** What the run made, once folders() is done (removed and foreign folders are the write's to tell). */
  summary(): Omit<SynthResult, 'removed' | 'foreign'>;
}

/** What a synth reads before it takes any lock or touches any file: each problem here stops it before anything is made. */
interface SynthInputs {
  readonly credentials: ReadonlyMap<string, MeshCredentials>;
  readonly sealingKeys: ReadonlyMap<string, ReadonlyMap<string, SealingKey>>;
  /** Clusters whose Secrets are written in plaintext. */
  readonly plaintext: readonly string[];
  /** Clusters whose remote secrets stay pending, and parts of the output that wait for a gateway address. */
  readonly pending: readonly MeshPending[];
  readonly awaiting: readonly MeshAwaiting[];
}

/** Checks paths, reads credentials and sealing certificates, applies --strict: reads only, writes nothing. */
function readInputs(topology: Topology, opts: SynthOptions): SynthInputs {
  checkPaths(topology, path.resolve(opts.outdir));
  const credentials = resolveTopologyCredentials(topology, opts.env);
  const sealingKeys = readTopologySealingKeys(topology);
  const plaintext = plaintextSecretsOf(topology);
  const pending = pendingOf(topology, credentials);
  const awaiting = awaitingOf(topology);
  if (opts.strict) {
    const errors = [plaintext.length > 0 ? plaintextError(topology, plaintext) : undefined, incompleteOutputError(topology, pending, awaiting)].filter((e) => e !== undefined);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new OutputError(errors.map((e) => e.summary).join('; '), errors.flatMap((e) => e.problems));
  }
  return { credentials, sealingKeys, plaintext, pending, awaiting };
}

/**
 * Prepares a synth of `topology` for `opts.outdir`: loads or makes the CA
 * material (in memory only with `keyStore.dryRun`), and gives the folders
 * one at a time. Call it under withTopologyLocks (synthesize() does), and
 * call `readAhead?.close()` on what it gives once done with it.
 */
export async function prepareSynthesis(topology: Topology, opts: SynthOptions, inputs: SynthInputs = readInputs(topology, opts)): Promise<PreparedSynthesis> {
  const outdir = path.resolve(opts.outdir);
  if (!opts.keyStore?.dryRun && !opts.allowDataplaneChange) checkDataplanes(topology, outdir);
  const names = new Map(topology.meshes.flatMap((m) => m.clusters.map((c) => [c.name, m.name] as const)));
  // From here on the run holds the output's lock: a fleet's folders are read on a worker while the key store loads and the folders render.
  const readAhead = names.size >= READ_AHEAD_FROM && fs.existsSync(outdir) ? FolderReadAhead.start([...names.keys()].map((n) => path.join(outdir, n))) : undefined;
  try {
    return await prepared(topology, opts, inputs, { outdir, names, readAhead });
  } catch (err) {
    readAhead?.close();
    throw err;
  }
}

/** prepareSynthesis() once the folders' reading has started. */
async function prepared(
  topology: Topology,
  opts: SynthOptions,
  inputs: SynthInputs,
  run: { readonly outdir: string; readonly names: ReadonlyMap<string, string>; readonly readAhead?: FolderReadAhead },
): Promise<PreparedSynthesis> {
  const { outdir, names, readAhead } = run;
  const { credentials, sealingKeys, plaintext, pending, awaiting } = inputs;
  const pkis = new Map<string, MeshPki>();
  for (const mesh of topology.meshes) {
    const deployedRoot = readDeployedRoot(outdir, mesh.name);
    pkis.set(
      mesh.name,
      await ensureMeshPki(mesh, {
        rootKeyPassphrase: () => rootKeyPassphrase(mesh, opts.env ?? process.env, opts.askPassphrase),
        lock: opts.lock,
        ...opts.keyStore,
        deployedRoot,
        allowNewRoot: opts.allowNewRoot,
      }),
    );
  }
  const fileCount = new Map<string, number>();
  const plaintextFiles: string[] = [];
  const encrypted: string[] = [];
  const kept: string[] = [];
  const encrypt = folderEncryptor(outdir, topology.meshes, { dryRun: opts.keyStore?.dryRun, sealingKeys });
  return {
    outdir,
    names,
    readAhead,
    async *folders() {
      for (const rendered of renderFolders(topology, pkis, credentials, { files: topology.files, outdir: opts.outdir })) {
        const done = await encrypt(rendered);
        const folder = done.folders[0];
        encrypted.push(...done.encrypted);
        kept.push(...done.kept);
        fileCount.set(folder.name, folder.files.length);
        if (plaintext.includes(folder.name)) plaintextFiles.push(...folder.files.filter((f) => f.mode === 0o600).map((f) => `${folder.name}/${f.path}`));
        yield folder;
      }
    },
    summary: () => ({
      outdir,
      meshes: topology.meshes.map((mesh) => {
        const pki = pkis.get(mesh.name) as MeshPki;
        return {
          name: mesh.name,
          keyStore: mesh.trust.keyStore,
          root: pki.root,
          ...(pki.rootRotation ? { rootRotationStage: pki.rootRotation.stage } : {}),
          clusters: installOrder(mesh).map((c) => ({
            name: c.name,
            role: c.role,
            files: fileCount.get(c.name) ?? 0,
            intermediate: pki.intermediates.get(c.name) ?? 'reused',
          })),
        };
      }),
      pending,
      awaiting,
      plaintextSecrets: [...plaintextFiles],
      encrypted: [...encrypted].sort(),
      keptEncrypted: [...kept].sort(),
    }),
  };
}

/**
 * Refuses a mesh whose folders in `outdir` were made for the other data
 * plane. Moving a running mesh between sidecar and ambient is a migration
 * Istio has no safe path for yet: services stay reachable across clusters
 * only once marked global, and sidecars and ztunnel disagree on what other
 * networks hold (istio/istio#61713, #61746).
 */
function checkDataplanes(topology: Topology, outdir: string): void {
  const problems: Problem[] = [];
  for (const mesh of topology.meshes) {
    const changed = readOutputDataplanes(outdir, mesh.name).filter((f) => f.dataplane !== mesh.dataplane);
    if (changed.length === 0) continue;
    const was = changed[0].dataplane;
    problems.push({
      file: displayPath(path.join(outdir, changed[0].folder)),
      message: `mesh "${mesh.name}" is now ${mesh.dataplane}, and its output (${changed.map((f) => f.folder).join(', ')}) was made for ${was}: applied to running clusters, this stops calls between clusters until every workload has moved (${mesh.dataplane === 'ambient' ? 'ambient services are cluster-local unless global' : 'sidecars do not reach ambient workloads of other networks'})`,
      fix: `read the README's "Ambient meshes" section, then synthesize with --allow-dataplane-change; or keep spec.dataplane: ${was}`,
    });
  }
  if (problems.length > 0) throw new OutputError(`the data plane of ${problems.length === 1 ? 'a mesh' : `${problems.length} meshes`} would change`, problems);
}

/**
 * Synthesizes every mesh of `topology` into `opts.outdir`. Holds the locks
 * of its key stores and of the output from before the first read to after
 * the write, so that two runs at once cannot write output under a root that
 * the other one replaced: the second waits, then reads what the first made.
 */
export async function synthesize(topology: Topology, opts: SynthOptions): Promise<SynthResult> {
  const outdir = path.resolve(opts.outdir);
  // Credentials and sealing certificates are only read, so their problems surface before any lock, folder or key is made.
  const inputs = readInputs(topology, opts);
  return withTopologyLocks(topology, outdir, opts, async () => {
    const prepared = await prepareSynthesis(topology, opts, inputs);
    // Under the output's lock already: each folder is compared with the disk, and staged if it differs, as it comes.
    try {
      const write = new OutputWrite(outdir, new OutputPlanner(outdir, prepared.names, prepared.readAhead));
      try {
        for await (const folder of prepared.folders()) write.add(folder);
      } catch (err) {
        write.discard();
        throw err;
      }
      const written = write.commit();
      return { ...prepared.summary(), removed: written.removed, foreign: written.foreign };
    } finally {
      prepared.readAhead?.close();
    }
  });
}

/**
 * Runs `fn` holding the lock of every key store of `topology` (in path
 * order, so two runs cannot deadlock) and of `outdir`, after finishing or
 * discarding what interrupted runs left in them. With `dryRun` nothing is
 * created: stores and an output folder that do not exist are not locked.
 */
export async function withTopologyLocks<T>(topology: Topology, outdir: string, opts: SynthOptions, fn: () => Promise<T>): Promise<T> {
  const dryRun = opts.keyStore?.dryRun === true;
  // A mesh whose CA meshgen does not hold (cert-manager, intermediates brought along) gets no key store made for it.
  const holdsKeys = (m: MeshModel) => m.trust.byo?.kind !== 'cert-manager' && m.trust.byo?.kind !== 'intermediates';
  const stores = [...new Set(topology.meshes.filter((m) => holdsKeys(m) || fs.existsSync(m.trust.keyStore)).map((m) => m.trust.keyStore))]
    .sort()
    .filter((s) => !dryRun || fs.existsSync(s));
  const lockOutput = async (): Promise<T> => {
    if (dryRun && !fs.existsSync(outdir)) return fn();
    const existed = fs.existsSync(outdir);
    ensureOutputFolder(outdir);
    try {
      return await withOutputLock(outdir, fn, opts.lock);
    } finally {
      if (!existed) removeIfEmpty(outdir);
    }
  };
  const lockStores = (i: number): Promise<T> => (i === stores.length ? lockOutput() : withStoreLock(stores[i], () => lockStores(i + 1), opts.lock));
  return lockStores(0);
}

/**
 * Builds the construct tree of every mesh and renders one folder per cluster,
 * in memory. `run`, the files and output folder of the synth, goes into the
 * READMEs' `meshgen` commands (see RenderOptions).
 */
export function renderTopology(
  topology: Topology,
  pkis: ReadonlyMap<string, MeshPki>,
  credentials: ReadonlyMap<string, MeshCredentials>,
  run?: SynthRun,
): RenderedFolder[] {
  return [...renderFolders(topology, pkis, credentials, run)];
}

/**
 * Renders one folder per cluster, one cluster at a time: each cluster's
 * chart is built in an app of its own, rendered, and then left to the
 * garbage collector, so memory holds one cluster, not the fleet. `run` is
 * the synth whose `-f` and `-o` the READMEs' `meshgen` commands carry.
 */
export function* renderFolders(
  topology: Topology,
  pkis: ReadonlyMap<string, MeshPki>,
  credentials: ReadonlyMap<string, MeshCredentials>,
  run?: SynthRun,
): Generator<RenderedFolder> {
  const roots = new Map([...pkis].map(([mesh, pki]) => [mesh, pki.rootCertPem]));
  const rotations = new Map([...pkis].flatMap(([mesh, pki]) => (pki.rootRotation ? [[mesh, pki.rootRotation] as const] : [])));
  for (const mesh of topology.meshes) {
    const pki = pkis.get(mesh.name);
    const creds = credentials.get(mesh.name);
    if (!pki || !creds) throw new Error(`no CA material or credentials for mesh "${mesh.name}"`);
    const props = { mesh, pki, credentials: creds, federation: { topology, roots, rotations } };
    // Remote secrets as plain manifests: a fleet has one per pair of clusters, and renderCluster writes them as the constructs would.
    for (const cluster of mesh.clusters) yield renderCluster(new ClusterChart(new App(), cluster.name, { ...clusterChartProps(props, cluster), remoteSecrets: 'manifests' }), { run });
  }
}

/** CA keys must never land in, or hold, the folder that gets committed. */
function checkPaths(topology: Topology, outdir: string): void {
  const problems: Problem[] = [];
  for (const mesh of topology.meshes) {
    const store = mesh.trust.keyStore;
    if (isInside(store, outdir) || isInside(outdir, store)) {
      problems.push({
        file: mesh.source.file,
        path: 'spec.trust.keyStore',
        message: `the key store ${displayPath(store)} and the output folder ${displayPath(outdir)} overlap, so CA keys would sit among the manifests that get committed`,
        fix: 'put the key store outside the output folder (the default is .meshgen/pki beside the topology file), or choose another -o',
      });
    }
  }
  if (problems.length > 0) throw new OutputError('the key store and the output folder overlap', problems);
}
