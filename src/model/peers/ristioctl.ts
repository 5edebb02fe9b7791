/**
 * ristioctl's `mesh.yaml` → meshgen meshes.
 *
 * ristioctl describes a mesh with Kubernetes-style documents of
 * `apiVersion: ristioctl.k8smgmt.io/v3`: one `Certificate` per meshID (the
 * CA) and one `Cluster` per cluster. Every cluster is a primary on a
 * network of its own, `network-<cluster>`, so the mesh is Istio's
 * multi-primary, multi-network install. Where ristioctl behaves badly, the
 * conversion does the right thing and says so in a comment: clusters of
 * different meshIDs become separate meshes (ristioctl links them all), and
 * `password: true` is honoured (ristioctl ignores it): the root key is encrypted.
 *
 * ristioctl installs Istio 1.18 in all its published examples, older than
 * meshgen writes for; `meshgen convert` moves such a mesh to a release it
 * does write for and says so above `spec.istio` (see `istio-upgrade.ts`).
 * Keys are accepted where ristioctl's own types (`pkg/common/common.go`)
 * have them, in the forms its YAML decoding takes: `validityHours` and
 * `installHelloWorld` are strings there, so "87600" and "true" are read
 * too. A key ristioctl's types lack is reported (ristioctl silently drops
 * it, so it is most likely a typo), except `installHelloWorld` in a
 * Certificate, which ristioctl's published examples carry and which means
 * nothing there.
 *
 * Long because it reads, checks and converts every field of ristioctl's two document kinds, with a note for each difference.
 */
import * as path from 'node:path';
import { compareStrings, sortBy } from '../../order';
import { DocPath, SourceDocument } from '../source';
import { DEFAULT_KEY_STORE } from '../types';
import { ISTIO_VERSION_PATTERN } from '../schema';
import { nearest } from '../schema-check';
import {
  conversionError,
  ConvertedCluster,
  ConvertedMesh,
  ConvertedTopology,
  ConverterInput,
  describeValue,
  isRecord,
  isRelativePath,
  istioVersionProblem,
  parsePeerDocuments,
  PeerReader,
  rebasePath,
  relativePathNote,
  renameNote,
  RISTIOCTL_API_GROUP,
  uniqueLabels,
} from './detect';
import { compareReleases, isBelowMinimumIstio, istioUpgradeNotes, minimumIstio, MovedCluster } from './istio-upgrade';

/** The ristioctl API version meshgen converts. */
export const RISTIOCTL_API_VERSION = `${RISTIOCTL_API_GROUP}/v3`;

/** Certificate validity meshgen uses, in days (Istio's tools/certs profile). */
const MESHGEN_VALIDITY_DAYS = 3650;

const KINDS = ['Certificate', 'Cluster'] as const;
const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'spec'];
/** Keys of ristioctl's metadata that neither ristioctl nor meshgen reads. */
const IGNORED_METADATA_KEYS = ['labels', 'annotations'];
const METADATA_KEYS = ['name', ...IGNORED_METADATA_KEYS];
const CERTIFICATE_KEYS = ['validityHours', 'password', 'sanSuffix', 'meshID', 'folder', 'installHelloWorld'];
const CLUSTER_KEYS = ['kubeconfigFile', 'context', 'meshID', 'version', 'installHelloWorld'];

/** A ristioctl `Certificate`: the CA of the clusters with its meshID. */
interface CertificateDoc {
  readonly doc: SourceDocument;
  readonly name: string;
  readonly meshID: string;
  readonly validityHours?: number;
  readonly password?: boolean;
  readonly sanSuffix?: string;
  readonly folder?: string;
  /** Set in some of ristioctl's examples, read by neither tool: only a Cluster's installHelloWorld deploys the sample. */
  readonly installHelloWorld?: boolean;
}

/** A ristioctl `Cluster`. */
interface ClusterDoc {
  readonly doc: SourceDocument;
  readonly name: string;
  readonly context: string;
  readonly meshID: string;
  readonly release: ClusterRelease;
  readonly kubeconfigFile?: string;
  readonly installHelloWorld?: boolean;
}

/** The Istio release of a Cluster: as its file names it, and as the converted mesh runs it. */
interface ClusterRelease {
  /** spec.version without a leading `v`. */
  readonly named: string;
  /** `named`, or the input's `istioVersion` when meshgen does not write for `named`. */
  readonly runs: string;
}

/**
 * Converts a ristioctl `mesh.yaml` into one mesh per meshID. Throws
 * TopologyError listing every problem of the file. Each Cluster names its
 * release; the `istioVersion` of the input replaces only a release older
 * than meshgen writes for, and only with `upgradeOldIstio`.
 */
export function convertRistioctl(input: ConverterInput): ConvertedTopology {
  const { file, outDir } = input;
  const { docs, certificates, clusters } = readRistioctlFile(input);

  const peerDir = path.dirname(path.resolve(file));
  const meshIDs = [...new Set(clusters.map((c) => c.meshID))];
  const meshNames = uniqueLabels(meshIDs, 'mesh');
  const clusterNames = uniqueLabels(clusters.map((c) => c.name), 'cluster');
  const networks = uniqueLabels(clusterNames.map((n) => `network-${n}`), 'network');
  const certificateOf = new Map(certificates.map((c) => [c.meshID, c]));
  const keyStores = keyStoresOf(meshIDs.map((id) => certificateOf.get(id)?.folder), meshNames, peerDir, outDir);

  const meshes: ConvertedMesh[] = meshIDs.map((meshID, m) => {
    const name = meshNames[m];
    const members: ConvertedCluster[] = [];
    const moved: MovedCluster[] = [];
    let version = '';
    clusters.forEach((c, i) => {
      if (c.meshID !== meshID) return;
      version = c.release.runs;
      if (c.release.named !== c.release.runs) moved.push({ name: clusterNames[i], from: c.release.named });
      const notes = renameNote('ristioctl Cluster', c.name, clusterNames[i], 'cluster', 'cluster names are distinct DNS-1123 labels');
      if (c.installHelloWorld) {
        notes.push('installHelloWorld: true becomes samples: helloworld (v1 and v2 alternate over the clusters) and sleep, to call it from.');
      }
      members.push({
        name: clusterNames[i],
        context: c.context,
        network: networks[i],
        credentials: c.kubeconfigFile === undefined ? {} : { kubeconfig: rebasePath(c.kubeconfigFile, peerDir, outDir) },
        samples: c.installHelloWorld ? ['helloworld', 'sleep'] : undefined,
        notes,
      });
    });
    const certificate = certificateOf.get(meshID);
    const movedFrom = [...new Set(moved.map((c) => c.from))].sort(compareReleases);
    return {
      name,
      // checkAcrossDocuments made sure that the clusters of a meshID agree on it.
      istioVersion: version,
      ...(moved.length > 0 ? { istioMovedFrom: movedFrom } : {}),
      keyStore: keyStores[m].store,
      ...(certificate ? { trust: certificateTrust(certificate) } : {}),
      notes: renameNote(
        'ristioctl meshID',
        meshID,
        name,
        'mesh',
        'mesh names are distinct DNS-1123 labels, and the name is also the mesh ID (values.global.meshID) the clusters get',
      ),
      istioNotes:
        moved.length > 0 ? istioUpgradeNotes('The ristioctl file\'s spec.version', moved, { version, given: input.istioVersionGiven }) : [],
      trustNotes: [...certificateNotes(meshID, certificate), ...keyStores[m].notes],
      clusterNotes: [
        'ristioctl makes every cluster a primary on a network of its own, network-<cluster>: Istio\'s multi-primary, multi-network install.',
      ],
      clusters: sortBy(members, (c) => c.name),
    };
  });

  const notes = topologyNotes(input, docs, certificates, clusters, meshIDs);
  return { notes, meshes: sortBy(meshes, (m) => m.name) };
}

/** Reads every document of the file; throws TopologyError listing every problem, or when no Cluster is left. */
function readRistioctlFile(input: ConverterInput): { docs: SourceDocument[]; certificates: CertificateDoc[]; clusters: ClusterDoc[] } {
  const { file } = input;
  const docs = parsePeerDocuments(file, input.text, 'ristioctl');
  const reader = new PeerReader(file, true);
  const certificates: CertificateDoc[] = [];
  const clusters: ClusterDoc[] = [];
  for (const doc of docs) {
    const read = readDocument(reader, doc, input);
    if (read?.kind === 'Certificate') certificates.push(read.value);
    else if (read?.kind === 'Cluster') clusters.push(read.value);
  }
  checkAcrossDocuments(reader, certificates, clusters);
  if (reader.problems.length === 0 && clusters.length === 0) {
    reader.problems.push({
      file,
      message: 'holds no Cluster document, so there is no mesh to convert',
      fix: `add a document with apiVersion: ${RISTIOCTL_API_VERSION} and kind: Cluster for each cluster of the mesh`,
    });
  }
  if (reader.problems.length > 0) throw conversionError(file, 'ristioctl', reader.problems);
  return { docs, certificates, clusters };
}

/** What the comments say above all meshes: separate meshIDs, unused Certificates, dropped metadata, relative paths. */
function topologyNotes(
  input: ConverterInput,
  docs: readonly SourceDocument[],
  certificates: readonly CertificateDoc[],
  clusters: readonly ClusterDoc[],
  meshIDs: readonly string[],
): string[] {
  const notes: string[] = [];
  if (meshIDs.length > 1) {
    notes.push(
      `ristioctl links the clusters of all its meshIDs with each other, as if they were one mesh. meshgen keeps each meshID a mesh ` +
        `of its own: the ${meshIDs.length} Mesh documents below never read each other's clusters. To share services between ` +
        'them, add a MeshFederation document.',
    );
  }
  for (const cert of certificates) {
    if (!meshIDs.includes(cert.meshID)) {
      notes.push(`Certificate ${JSON.stringify(cert.name)} has meshID ${JSON.stringify(cert.meshID)}, which no Cluster has: no mesh was made for it.`);
    }
  }
  if (docs.some(hasIgnoredMetadata)) {
    notes.push('metadata.labels and metadata.annotations are read by neither ristioctl nor meshgen: they are left out.');
  }
  const relative =
    clusters.some((c) => c.kubeconfigFile !== undefined && isRelativePath(c.kubeconfigFile)) ||
    certificates.some((c) => c.folder !== undefined && isRelativePath(c.folder) && meshIDs.includes(c.meshID));
  notes.push(...relativePathNote(input.file, input.outDir, relative));
  return notes;
}

/** Reads one document; undefined when it cannot be used (its problems are recorded). */
function readDocument(
  reader: PeerReader,
  doc: SourceDocument,
  input: ConverterInput,
): { kind: 'Certificate'; value: CertificateDoc } | { kind: 'Cluster'; value: ClusterDoc } | undefined {
  const top = reader.map(doc, [], doc.value, TOP_KEYS, `document ${doc.index + 1}`);
  if (!top) return undefined;
  const apiVersion = top.apiVersion;
  if (apiVersion === undefined) {
    reader.add(doc, ['apiVersion'], 'apiVersion is missing', `add apiVersion: ${RISTIOCTL_API_VERSION}`);
  } else if (apiVersion !== RISTIOCTL_API_VERSION) {
    reader.add(
      doc,
      ['apiVersion'],
      `apiVersion ${describeValue(apiVersion)} is not ${RISTIOCTL_API_VERSION}, the ristioctl format meshgen converts`,
      `write the document in ristioctl's v3 format (apiVersion: ${RISTIOCTL_API_VERSION})`,
    );
  }
  const kind = top.kind;
  if (kind !== 'Certificate' && kind !== 'Cluster') {
    const near = typeof kind === 'string' ? nearest(kind, KINDS) : undefined;
    reader.add(
      doc,
      ['kind'],
      kind === undefined ? 'kind is missing' : `unknown kind ${describeValue(kind)}`,
      near ? `did you mean "${near}"?` : `use kind: ${KINDS.join(' or kind: ')}`,
    );
    return undefined;
  }
  const metadata = reader.map(doc, ['metadata'], top.metadata, METADATA_KEYS, 'metadata', `add metadata: {name: <${kind.toLowerCase()} name>}`);
  const name = metadata ? reader.string(doc, ['metadata', 'name'], metadata.name, `add metadata.name: <${kind.toLowerCase()} name>`) : undefined;
  if (metadata) checkIgnoredMetadata(reader, doc, metadata);
  const specKeys = kind === 'Certificate' ? CERTIFICATE_KEYS : CLUSTER_KEYS;
  const spec = reader.map(doc, ['spec'], top.spec, specKeys, 'spec', `add a spec with the keys ${specKeys.join(', ')}`);
  if (!spec) return undefined;
  const at = (key: string): DocPath => ['spec', key];
  const meshID = reader.string(doc, at('meshID'), spec.meshID, `add spec.meshID: the mesh this ${kind} belongs to`);
  const installHelloWorld = readTrueOrFalse(reader, doc, at('installHelloWorld'), spec.installHelloWorld);
  if (kind === 'Certificate') {
    const value = {
      validityHours: reader.positiveInteger(doc, at('validityHours'), wholeNumber(spec.validityHours)),
      password: reader.boolean(doc, at('password'), spec.password),
      sanSuffix: reader.string(doc, at('sanSuffix'), spec.sanSuffix),
      folder: reader.string(doc, at('folder'), spec.folder),
      installHelloWorld,
    };
    if (name === undefined || meshID === undefined) return undefined;
    return { kind, value: { doc, name, meshID, ...value } };
  }
  const context = reader.string(doc, at('context'), spec.context, 'add spec.context: the kube context of the cluster');
  const release = readRelease(reader, doc, spec.version, input);
  const kubeconfigFile = reader.string(doc, at('kubeconfigFile'), spec.kubeconfigFile);
  if (name === undefined || meshID === undefined || context === undefined || release === undefined) return undefined;
  return { kind, value: { doc, name, context, meshID, release, kubeconfigFile, installHelloWorld } };
}

/** `metadata.labels` and `metadata.annotations`, which ristioctl's types have and nothing reads, must at least be mappings. */
function checkIgnoredMetadata(reader: PeerReader, doc: SourceDocument, metadata: Record<string, unknown>): void {
  for (const key of IGNORED_METADATA_KEYS) {
    const value = metadata[key];
    if (value === undefined || value === null || isRecord(value)) continue;
    reader.add(
      doc,
      ['metadata', key],
      `${key} is ${describeValue(value)}, not a mapping`,
      `write ${key} as a mapping of names to values (ristioctl refuses anything else), or remove it: neither ristioctl nor meshgen reads it`,
    );
  }
}

/** True when a document has `metadata.labels` or `metadata.annotations`, which the converted file leaves out. */
function hasIgnoredMetadata(doc: SourceDocument): boolean {
  const metadata = isRecord(doc.value) ? doc.value.metadata : undefined;
  return isRecord(metadata) && IGNORED_METADATA_KEYS.some((key) => metadata[key] !== undefined && metadata[key] !== null);
}

/** ristioctl reads `validityHours` as text: "87600" is the number 87600. */
function wholeNumber(raw: unknown): unknown {
  return typeof raw === 'string' && /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
}

/**
 * `installHelloWorld`: ristioctl reads it as text and installs the sample
 * when it is "true", so the strings "true" and "false" count as the
 * booleans. Anything else is a problem: ristioctl would quietly not
 * install the sample, which is unlikely to be what the file meant.
 */
function readTrueOrFalse(reader: PeerReader, doc: SourceDocument, p: DocPath, raw: unknown): boolean | undefined {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return reader.boolean(doc, p, raw);
}

/** The Istio release of a Cluster (`v1.30.3` → `1.30.3`), and the one its mesh runs. */
function readRelease(reader: PeerReader, doc: SourceDocument, raw: unknown, input: ConverterInput): ClusterRelease | undefined {
  const at: DocPath = ['spec', 'version'];
  if (raw === undefined || raw === null) {
    reader.add(doc, at, 'version is missing', 'add spec.version: the Istio release of the cluster, e.g. 1.30.3');
    return undefined;
  }
  if (typeof raw === 'number') {
    reader.add(doc, at, `version ${raw} is a number, not an Istio release such as 1.30.3`, 'write the whole release, in quotes if YAML reads it as a number: "1.30.3"');
    return undefined;
  }
  if (typeof raw !== 'string') {
    reader.add(doc, at, `version is ${describeValue(raw)}, not an Istio release`, 'write it as <major>.<minor>.<patch>, e.g. 1.30.3');
    return undefined;
  }
  const named = raw.replace(/^v/, '');
  const problem = istioVersionProblem(named, 'set spec.version to the release');
  if (!problem) return { named, runs: named };
  const tooOld = new RegExp(ISTIO_VERSION_PATTERN).test(named) && isBelowMinimumIstio(named);
  if (tooOld && input.upgradeOldIstio) return { named, runs: input.istioVersion };
  const fix = tooOld
    ? `convert the file with meshgen convert ${input.file} -o ${convertedFileBeside(input.file)}, which moves the mesh to Istio ${input.istioVersion} ` +
      `(or the release of --istio-version) and names the upgrade notes to read; or upgrade the clusters to Istio ${minimumIstio()}.0 ` +
      'or later and set spec.version to the release'
    : problem.fix;
  reader.add(doc, at, problem.message, fix);
  return undefined;
}

/**
 * A name for the converted file in the folder of the peer file, where its
 * relative paths keep resolving, that is not the peer file itself (convert
 * refuses to write over it).
 */
function convertedFileBeside(file: string): string {
  const beside = (name: string) => path.posix.join(path.dirname(file).split(path.sep).join('/'), name);
  const first = beside('meshgen.yaml');
  return path.resolve(first) === path.resolve(file) ? beside('meshgen-converted.yaml') : first;
}

/** Names, contexts and meshIDs that must not repeat, and one release per meshID. */
function checkAcrossDocuments(reader: PeerReader, certificates: readonly CertificateDoc[], clusters: readonly ClusterDoc[]): void {
  const firstAt = (doc: SourceDocument, p: DocPath) => {
    const pos = doc.locate(p);
    return `${reader.pathOf(doc, p)}${pos ? `, line ${pos.line}` : ''}`;
  };
  const certificateOf = new Map<string, CertificateDoc>();
  for (const cert of certificates) {
    const first = certificateOf.get(cert.meshID);
    if (!first) {
      certificateOf.set(cert.meshID, cert);
      continue;
    }
    reader.add(
      cert.doc,
      ['spec', 'meshID'],
      `Certificate ${JSON.stringify(cert.name)} has meshID ${JSON.stringify(cert.meshID)}, like Certificate ${JSON.stringify(first.name)} ` +
        `(${firstAt(first.doc, ['spec', 'meshID'])}); a mesh has one root CA`,
      'remove one of the two Certificates, or give it the meshID of the clusters it is for',
    );
  }
  const byName = new Map<string, ClusterDoc>();
  const byContext = new Map<string, ClusterDoc>();
  const byMesh = new Map<string, ClusterDoc>();
  for (const c of clusters) {
    const sameName = byName.get(c.name);
    if (sameName) {
      reader.add(
        c.doc,
        ['metadata', 'name'],
        `Cluster ${JSON.stringify(c.name)} is already defined at ${firstAt(sameName.doc, ['metadata', 'name'])}`,
        'give each Cluster its own metadata.name, or remove the repeated document',
      );
    } else {
      byName.set(c.name, c);
    }
    const sameContext = byContext.get(c.context);
    if (sameContext) {
      reader.add(
        c.doc,
        ['spec', 'context'],
        `context ${JSON.stringify(c.context)} is already the context of Cluster ${JSON.stringify(sameContext.name)} (${firstAt(sameContext.doc, ['spec', 'context'])})`,
        'each Cluster is one Kubernetes cluster: give it the kube context that points at it',
      );
    } else {
      byContext.set(c.context, c);
    }
    const sameMesh = byMesh.get(c.meshID);
    if (!sameMesh) {
      byMesh.set(c.meshID, c);
    } else if (sameMesh.release.runs !== c.release.runs) {
      const runs = (r: ClusterRelease) => (r.named === r.runs ? r.named : `${r.named}, which meshgen moves to ${r.runs}`);
      const kept = [c, sameMesh].find((d) => d.release.named === d.release.runs);
      const orPass = [c, sameMesh].some((d) => d.release.named !== d.release.runs) && kept
        ? `, or pass meshgen convert --istio-version ${kept.release.named} to move the older releases to it`
        : '';
      reader.add(
        c.doc,
        ['spec', 'version'],
        `Cluster ${JSON.stringify(c.name)} runs Istio ${runs(c.release)}, but Cluster ${JSON.stringify(sameMesh.name)} of the same meshID ` +
          `${JSON.stringify(c.meshID)} runs ${runs(sameMesh.release)} (${firstAt(sameMesh.doc, ['spec', 'version'])})`,
        `a mesh runs one Istio release: give every Cluster of meshID ${JSON.stringify(c.meshID)} the same spec.version${orPass}`,
      );
    }
  }
}

/** Environment variable the converted file names for the root key's passphrase (`password: true`). */
export const RISTIOCTL_PASSPHRASE_ENV = 'MESH_ROOT_PASSPHRASE';

/** The `spec.trust` keys a Certificate asks for: validity, the root's name, an encrypted root key. */
function certificateTrust(cert: CertificateDoc): Record<string, unknown> {
  const validity = (hours: number) => (hours % 24 === 0 ? `${hours / 24}d` : `${hours}h`);
  return {
    ...(cert.validityHours !== undefined ? { rootValidity: validity(cert.validityHours), intermediateValidity: validity(cert.validityHours) } : {}),
    ...(cert.sanSuffix !== undefined ? { rootCommonName: `root.${cert.sanSuffix}` } : {}),
    ...(cert.password ? { encryptRootKey: true, passphrase: { env: RISTIOCTL_PASSPHRASE_ENV } } : {}),
  };
}

/** What the comments say about a mesh's Certificate, or about its lack of one. */
function certificateNotes(meshID: string, cert: CertificateDoc | undefined): string[] {
  if (!cert) {
    return [`No ristioctl Certificate has meshID ${JSON.stringify(meshID)}: meshgen makes this mesh's root CA in the key store below on the first synth.`];
  }
  const notes = [`From ristioctl Certificate ${JSON.stringify(cert.name)}.`];
  if (cert.sanSuffix !== undefined) {
    notes.push(
      `ristioctl names the root CA root.${cert.sanSuffix} (rootCommonName below) and each intermediate CA <cluster>.${cert.sanSuffix} (CN and SAN). ` +
        'meshgen names every intermediate alike (intermediateCommonName, default CN=Intermediate CA) with L=<cluster> and SAN istiod.istio-system.svc, as istiod expects; a per-cluster CN or SAN has no equivalent.',
    );
  }
  if (cert.validityHours !== undefined) {
    notes.push(`validityHours: ${cert.validityHours} becomes rootValidity and intermediateValidity (meshgen's default is ${MESHGEN_VALIDITY_DAYS} days).`);
  }
  if (cert.password) {
    notes.push(
      'password: true asks for an encrypted root key, which ristioctl ignores (it writes the key unencrypted). meshgen honours it: root-key.pem is ' +
        `encrypted PKCS#8 (AES-256, PBKDF2-SHA-256), and the passphrase comes from $${RISTIOCTL_PASSPHRASE_ENV}, or is asked on a terminal.`,
    );
  }
  if (cert.installHelloWorld !== undefined) {
    notes.push(
      `installHelloWorld: ${cert.installHelloWorld} on a Certificate does nothing in ristioctl, which deploys the sample only for a Cluster ` +
        'with installHelloWorld: true. meshgen does the same: the samples of each cluster below follow its own Cluster.',
    );
  }
  return notes;
}

/**
 * The key store of each mesh: the Certificate's folder, else the default.
 * Meshes never share one (a shared key store means a shared root CA), so
 * meshes that would get the same folder each get `<folder>/<mesh>` instead.
 */
function keyStoresOf(
  folders: readonly (string | undefined)[],
  meshNames: readonly string[],
  peerDir: string,
  outDir: string,
): { store: string; notes: string[] }[] {
  const wanted = folders.map((f) => (f === undefined ? DEFAULT_KEY_STORE : rebasePath(f, peerDir, outDir).replace(/\/+$/, '') || '/'));
  const key = (store: string) => (isRelativePath(store) ? path.resolve(outDir, store) : store);
  const count = new Map<string, number>();
  for (const w of wanted) count.set(key(w), (count.get(key(w)) ?? 0) + 1);
  return wanted.map((w, i) => {
    if (count.get(key(w)) === 1) return { store: w, notes: [] };
    const store = `${w === '/' ? '' : w}/${meshNames[i]}`;
    const others = meshNames.filter((_, j) => j !== i && key(wanted[j]) === key(w)).sort(compareStrings);
    const whose = folders[i] === undefined ? 'The default key store' : 'The folder of its Certificate';
    return {
      store,
      notes: [
        `${whose}, ${w}, is also that of mesh ${others.map((o) => JSON.stringify(o)).join(', ')}; ` +
          `each mesh needs its own root CA, so this mesh keeps its keys in ${store}.`,
      ],
    };
  });
}
