/**
 * `meshgen certs status`: the CA certificates of every mesh, for people and
 * for scheduled CI jobs (`--warn-days`, `--json`).
 */
import { X509Certificate } from 'node:crypto';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import * as fs from 'node:fs';
import { KeyStoreError } from '../errors';
import { ensureMeshPki } from '../pki/key-store';
import { withStoreLock } from '../pki/store-io';
import { loadTopology } from '../model/load';
import { ClusterModel, MeshModel, Topology } from '../model/types';
import { displayPath } from '../paths';
import { parseCertificate } from '../pki/inspect';
import { rootKeyPassphrase } from '../pki/passphrase';
import { planFederation } from '../model/federation-plan';
import { advanceRootRotation, DeployedCacerts, PeerCluster, RotateOptions, rotateIntermediates, stageTrust } from '../pki/rotate';
import { CertificateStatus, meshCertificatesStatus } from '../pki/status';
import { readDeployedCacerts, readOutputFolders } from '../synth/deployed';
import { withOutputLock } from '../synth/write';
import { readManifest } from '../pki/manifest';
import type { Io } from './main';
import { LOCK_TIMEOUT_OPTION, lockOptions, outputOption, withTopologyFiles } from './options';
import { askOnTerminal, progress } from './synth';

/** Exit code when a certificate needs attention. */
export const EXIT_ATTENTION = 1;

function days(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('needs a whole number of days');
  return n;
}

/** The `certs` command group. */
export function certsCommand(io: Io, setExitCode: (code: number) => void): Command {
  const group = new Command('certs').description('inspect the CA certificates in the key stores');
  group.addCommand(
    outputOption(withTopologyFiles(new Command('status')))
      .description('subject, key, serial, validity, days left and chain check of every root and intermediate; exit 1 if any needs attention or the key store is not whole')
      .option('--warn-days <n>', 'also exit 1 when a certificate expires within n days', days)
      .option('--json', 'print the status as JSON')
      .option(...LOCK_TIMEOUT_OPTION)
      .action(async (opts: { file: string[]; output: string; warnDays?: number; json?: boolean; lockTimeout?: number }) => {
        const topology = loadTopology(opts.file);
        const lock = lockOptions(io, opts);
        // Under each key store's lock, which finishes or discards what an interrupted run left first.
        const stores = [...new Set(topology.meshes.map((m) => m.trust.keyStore))].filter((s) => fs.existsSync(s)).sort();
        const checked = async (i: number): Promise<StoreFinding[]> =>
          i === stores.length ? storeFindings(topology, opts) : withStoreLock(stores[i], () => checked(i + 1), lock);
        const findings = await checked(0);
        const statuses = topology.meshes.map((m) => meshCertificatesStatus(m));
        const all = statuses.flatMap((s) => [s.root, ...(s.rootRotation?.nextRoot ? [s.rootRotation.nextRoot] : []), ...s.intermediates]);
        const attention = (c: CertificateStatus) =>
          c.present && (c.verifies === false || (opts.warnDays !== undefined && (c.daysLeft ?? 0) < opts.warnDays));
        if (opts.json) {
          io.out(`${JSON.stringify({ meshes: statuses, attention: all.filter(attention).map((c) => c.file), problems: findings }, null, 2)}\n`);
        } else {
          for (const s of statuses) {
            io.out(`mesh "${s.mesh}", key store ${s.keyStore}\n`);
            if (s.rootRotation) io.out(`  root rotation (started ${s.rootRotation.started.slice(0, 10)}): ${s.rootRotation.description}\n`);
            const certs = [s.root, ...(s.rootRotation?.nextRoot ? [s.rootRotation.nextRoot] : []), ...s.intermediates];
            for (const c of certs) io.out(`  ${line(c, attention(c))}\n`);
          }
          for (const f of findings) {
            io.out(`! ${f.file ? `${f.file}: ` : ''}${f.message}\n    fix: ${f.fix}\n`);
            if (f.command) io.out(`${f.command}\n`);
          }
        }
        setExitCode(all.some(attention) || findings.length > 0 ? EXIT_ATTENTION : 0);
      }),
  );
  group.addCommand(rotateCommand(io));
  return group;
}

/** Something about a key store that needs a person, with the command that fixes it when there is one. */
interface StoreFinding {
  readonly file?: string;
  readonly message: string;
  readonly fix: string;
  /** A command, run from the topology file's folder, that completes the store. */
  readonly command?: string;
}

/**
 * What is wrong with the key stores of `topology`: every inconsistency the
 * synth check finds, and the intermediates that are missing (an
 * interrupted rotation retires before it issues), with the synth that
 * completes them. Makes and writes nothing.
 */
async function storeFindings(topology: Topology, opts: { file: string[]; output: string }): Promise<StoreFinding[]> {
  const findings: StoreFinding[] = [];
  for (const mesh of topology.meshes) {
    if (mesh.trust.byo?.kind === 'cert-manager') continue;
    const base = path.dirname(path.resolve(mesh.source.file.replace(/ \(read as .*\)$/, '')));
    const synth = `meshgen synth -f ${opts.file.map((f) => path.relative(base, path.resolve(f)) || '.').join(' -f ')} -o ${path.relative(base, path.resolve(opts.output)) || '.'}`;
    let missing = 0;
    try {
      await ensureMeshPki(mesh, {
        dryRun: true,
        onMakeKeys: (count) => {
          missing = count;
          throw new MissingKeys();
        },
      });
    } catch (err) {
      if (err instanceof MissingKeys) {
        findings.push({
          file: displayPath(mesh.trust.keyStore),
          message: `mesh "${mesh.name}" lacks ${missing} CA ${missing === 1 ? 'key' : 'keys'} (never made yet, or retired by a rotation that was interrupted before it issued the new ones)`,
          fix: 'synthesize: it makes them, under the root the store holds; from the topology file\'s folder run',
          command: synth,
        });
      } else if (err instanceof KeyStoreError) {
        for (const p of err.problems) findings.push({ file: p.file, message: p.message, fix: p.fix ?? 'see the message' });
        if (err.problems.length === 0) findings.push({ message: err.message, fix: 'see the message' });
      } else throw err;
    }
  }
  return findings;
}

/** Thrown by the status check when the key store lacks keys, so that none is made. */
class MissingKeys extends Error {}

/** `certs rotate`: a cluster's intermediate, or one stage of a root rotation. */
function rotateCommand(io: Io): Command {
  return outputOption(withTopologyFiles(new Command('rotate')))
    .description(
      'issue a new intermediate for one cluster (--cluster), or start a staged root rotation (--root) and move it on a stage (--root --continue) once the output of the current stage runs everywhere',
    )
    .option('--cluster <name...>', 'issue a new intermediate CA for these clusters under the current root; the old ones are kept in the key store history')
    .option('--root', 'start a root rotation: stage 1 makes a new root that every cluster trusts beside the current one')
    .option('--continue', 'with --root: move the rotation to its next stage (2: intermediates from the new root; 3: the old root removed)')
    .option('--mesh <name>', 'the mesh whose key store to rotate, when the topology has several')
    .option(...LOCK_TIMEOUT_OPTION)
    .action(async function (this: Command, opts: RotateCommandOptions) {
      if ((opts.cluster === undefined) === !opts.root) this.error('error: give either --cluster <name> or --root', { exitCode: 2 });
      if (opts.continue && !opts.root) this.error('error: --continue goes with --root', { exitCode: 2 });
      const topology = loadTopology(opts.file);
      if (opts.cluster !== undefined) await rotateClusters(io, topology, opts, opts.cluster);
      else await rotateRoot(io, topology, opts);
    });
}

/** The options of `certs rotate`. */
interface RotateCommandOptions {
  readonly file: string[];
  readonly output: string;
  readonly cluster?: string[];
  readonly root?: boolean;
  readonly continue?: boolean;
  readonly mesh?: string;
  readonly lockTimeout?: number;
}

/** `certs rotate --cluster`: new intermediates for the clusters named, and what to do next. */
async function rotateClusters(io: Io, topology: Topology, opts: RotateCommandOptions, clusterNames: readonly string[]): Promise<void> {
  // Several clusters rotate in one run (all expired at once); each mesh's key store is changed all or nothing.
  const byMesh = new Map<MeshModel, string[]>();
  for (const name of clusterNames) {
    const mesh = meshOfCluster(topology, name, opts.mesh);
    byMesh.set(mesh, [...(byMesh.get(mesh) ?? []), name]);
  }
  const lines: string[] = [];
  for (const [mesh, names] of byMesh) {
    let done;
    try {
      done = await rotateIntermediates(mesh, names, { ...rotateOptions(io, mesh), lock: lockOptions(io, opts) });
    } catch (err) {
      // Each mesh's key store changes all or nothing; say what earlier meshes already got before failing.
      if (lines.length > 0) io.out(`${lines.join('\n')}\n(then mesh "${mesh.name}" failed, and its key store is unchanged)\n`);
      throw err;
    }
    for (const r of done) {
      const issued = parseCertificate(r.pki.cacerts(r.cluster)['ca-cert.pem']) as X509Certificate;
      lines.push(
        `cluster "${r.cluster}" (mesh "${mesh.name}"): new intermediate CA, serial ${issued.serialNumber}, valid until ${new Date(issued.validTo).toISOString().slice(0, 10)}`,
        r.retired.lost
          ? `  the old one (SHA-256 ${r.retired.sha256 || 'unknown'}) was lost before this run; nothing was kept`
          : `  the old one (SHA-256 ${r.retired.sha256 || 'unreadable'}) is kept in ${displayPath(path.join(mesh.trust.keyStore, path.dirname(r.retired.cert || r.retired.key)))}/`,
      );
    }
  }
  // A remote's workloads get their certificates from the istiod of its primary, signed with the primary's intermediate.
  const rotated = [...byMesh].flatMap(([mesh, names]) => names.map((n) => mesh.clusters.find((c) => c.name === n) as ClusterModel));
  const contexts = [...new Set(rotated.filter((c) => c.role !== 'remote').map((c) => c.context))];
  const remotes = rotated.filter((c) => c.role === 'remote').map((c) => c.name);
  const folders = clusterNames.map((c) => `${opts.output}/${c}/`).join(', ');
  lines.push(
    'next:',
    `  1. meshgen synth -f ${opts.file.join(' -f ')} -o ${opts.output}   (writes the new cacerts into ${folders})`,
    `  2. commit, and apply ${folders} as the READMEs say`,
    ...contexts.map((ctx) => `  3. kubectl --context=${ctx} rollout restart deployment -l app=istiod -n istio-system   (istiod then signs with the new intermediate)`),
    ...(remotes.length > 0
      ? [`  ${remotes.join(', ')}: a remote's workloads are signed by its primary's istiod with the primary's intermediate; this one is used only if the cluster becomes a primary, so no restart is needed there.`]
      : []),
    '  Workloads move to the new intermediate as their certificates renew (24 h by default); other clusters need no change, the root is the same.',
    '',
  );
  io.out(lines.join('\n'));
}

/** `certs rotate --root`: starts a root rotation or moves it one stage on, and says what to do next. */
async function rotateRoot(io: Io, topology: Topology, opts: RotateCommandOptions): Promise<void> {
  const meshes = meshesOfStore(topology, opts.mesh);
  const lock = lockOptions(io, opts);
  // The stage gate reads the output as committed: a write a killed run left half done is finished first, and a synth running now is waited for.
  const readOutput = async () => {
    const deployed = new Map<string, DeployedCacerts>();
    for (const m of meshes) for (const [cluster, d] of readDeployedCacerts(opts.output, m.name)) deployed.set(cluster, d);
    return { deployed, peers: peersOf(topology, meshes, opts.output) };
  };
  const { deployed, peers } = fs.existsSync(opts.output) ? await withOutputLock(opts.output, readOutput, lock) : await readOutput();
  const peerClusters = peers.filter((p) => !p.outside).map((p) => `${p.cluster} (mesh ${p.mesh}, trusts these roots)`);
  const step = await advanceRootRotation(meshes, deployed, { ...rotateOptions(io, meshes[0]), lock, start: !opts.continue, peers });
  const clusters = meshes.flatMap((m) => m.clusters.map((c) => c.name));
  const what: Record<1 | 2 | 3, string> = {
    1: `stage 1 of 3: a new root (SHA-256 ${step.newRoot}) that every cluster will trust beside the current one (SHA-256 ${step.oldRoot})`,
    2: `stage 2 of 3: every intermediate re-issued by the new root (SHA-256 ${step.newRoot}); both roots stay trusted`,
    3: `stage 3 of 3: the new root (SHA-256 ${step.newRoot}) is the root; the old one (SHA-256 ${step.oldRoot}) is retired to the key store history`,
  };
  io.out(
    [
      `key store ${displayPath(meshes[0].trust.keyStore)} (${meshes.map((m) => `mesh "${m.name}"`).join(', ')}): root rotation at ${what[step.stage]}`,
      'next:',
      `  1. meshgen synth -f ${opts.file.join(' -f ')} -o ${opts.output}`,
      `  2. commit, and roll out every cluster (${[...clusters, ...peerClusters].join(', ')}) as its README says, including its "Root rotation" checks`,
      step.stage < 3
        ? `  3. when every cluster passes those checks: meshgen certs rotate --root --continue --mesh ${meshes[0].name}`
        : '  3. when every cluster passes those checks, the rotation is done; `meshgen certs status` shows it',
      '',
    ].join('\n'),
  );
}

/**
 * Clusters of other meshes that trust the rotating meshes' roots through trust bundles, with what their output trusts:
 * those the topology says trust them, and folders in the output of meshes outside the topology whose marker lists one of the roots.
 */
function peersOf(topology: Topology, rotating: readonly MeshModel[], outdir: string): PeerCluster[] {
  const names = new Set(rotating.map((m) => m.name));
  const inTopology = topology.meshes
    .filter((m) => !names.has(m.name))
    .flatMap((m) => {
      const deployed = readDeployedCacerts(outdir, m.name);
      return m.clusters
        .filter((c) => planFederation(topology, m, c).trustRootsOf.some((t) => names.has(t)))
        .map((c) => ({ mesh: m.name, cluster: c.name, deployed: deployed.get(c.name) }));
    });
  const store = rotating[0].trust.keyStore;
  const roots = new Set(stageTrust(store, readManifest(store)).roots);
  const known = new Set(topology.meshes.map((m) => m.name));
  const outside = readOutputFolders(outdir)
    .filter((f) => !known.has(f.mesh) && f.trust.extraRoots.some((r) => roots.has(r)))
    .map((f) => ({ mesh: f.mesh, cluster: f.folder, deployed: f.trust, outside: true }));
  return [...inTopology, ...outside];
}

/** Options of a rotation: the passphrase asked at most once, key progress on a terminal. */
function rotateOptions(io: Io, mesh: MeshModel): RotateOptions {
  let asked: Promise<string | undefined> | undefined;
  return {
    ...progress(io, true),
    rootKeyPassphrase: () => (asked ??= rootKeyPassphrase(mesh, process.env, askOnTerminal)),
  };
}

function meshOfCluster(topology: Topology, cluster: string, meshName?: string): MeshModel {
  const meshes = topology.meshes.filter((m) => (meshName === undefined || m.name === meshName) && m.clusters.some((c) => c.name === cluster));
  if (meshes.length === 0) {
    const all = topology.meshes.flatMap((m) => m.clusters.map((c) => c.name)).join(', ');
    throw new KeyStoreError(`no cluster "${cluster}"${meshName ? ` in mesh "${meshName}"` : ''} in the topology (its clusters: ${all})`);
  }
  return meshes[0];
}

/** The meshes of one key store: the one named by --mesh, or the only one, with every mesh that shares its store. */
function meshesOfStore(topology: Topology, meshName?: string): MeshModel[] {
  const stores = new Set(topology.meshes.map((m) => m.trust.keyStore));
  let first: MeshModel | undefined;
  if (meshName !== undefined) {
    first = topology.meshes.find((m) => m.name === meshName);
    if (!first) throw new KeyStoreError(`no mesh "${meshName}" in the topology (its meshes: ${topology.meshes.map((m) => m.name).join(', ')})`);
  } else if (stores.size === 1) first = topology.meshes[0];
  else throw new KeyStoreError(`the topology has ${stores.size} key stores; name the mesh whose root to rotate with --mesh (${topology.meshes.map((m) => m.name).join(', ')})`);
  return topology.meshes.filter((m) => m.trust.keyStore === first.trust.keyStore);
}

function line(c: CertificateStatus, flagged: boolean): string {
  if (c.managedBy && c.name === 'root') return `root: held by the cert-manager issuer (${c.file}); give trust.rootCert to check it here`;
  if (c.managedBy) return `${c.name}: made in the cluster by ${c.managedBy} (${c.file}); check it with kubectl get certificate cacerts -n istio-system`;
  if (!c.present) return `${c.name}: not made yet (${c.file}); meshgen synth makes it`;
  const state = c.verifies ? 'chain ok' : `FAILS: ${c.problem}`;
  return (
    `${flagged ? '! ' : ''}${c.name}: ${c.subject}; ${c.key}; serial ${c.serial}; ` +
    `${c.notBefore?.slice(0, 10)} → ${c.notAfter?.slice(0, 10)} (${c.daysLeft} days left); ${state}`
  );
}
