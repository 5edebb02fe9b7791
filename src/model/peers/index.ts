/**
 * Converting the topology files of peer tools into meshgen's own format.
 *
 * `convertPeer` recognises the format, lets its converter (`ristioctl.ts`,
 * `setup-mesh.ts`) turn it into plain meshes with notes, writes those as
 * native Mesh documents with the notes as comments beside the keys they are
 * about, and checks the result with the loader, so that what it returns
 * always loads. Pure: it reads and writes no file.
 */
import * as path from 'node:path';
import { Document, isMap, isSeq, YAMLMap } from 'yaml';
import { TopologyError } from '../../errors';
import { parseTopology } from '../load';
import { commentText, noteKey, topologyText } from '../topology-text';
import { parseSource } from '../source';
import { MESHGEN_API_VERSION, Topology } from '../types';
import {
  ConvertedCredentials,
  ConvertedMesh,
  ConvertedTopology,
  ConverterInput,
  detectPeerFormat,
  isMeshgenTopology,
  istioVersionProblem,
  PEER_FORMAT_TITLES,
  PeerFormat,
} from './detect';
import { convertRistioctl } from './ristioctl';
import { convertSetupMesh, DEFAULT_PEER_ISTIO_VERSION } from './setup-mesh';

export { detectPeerFormat, istioVersionProblem, PEER_FORMAT_TITLES, peerFormatOf, toDnsLabel } from './detect';
export type { PeerFormat } from './detect';
export { clusterNamesFromContexts, DEFAULT_PEER_ISTIO_VERSION } from './setup-mesh';

/** Options of {@link convertPeer}. */
export interface ConvertPeerOptions {
  /**
   * Istio release of the mesh, for formats that name none (setup-mesh), and
   * for meshes moved off a release meshgen does not write for (with
   * `upgradeOldIstio`). A ristioctl file that names a supported release
   * keeps it.
   * @default '1.30.3'
   */
  readonly istioVersion?: string;
  /**
   * Move a mesh whose peer file names an Istio release older than meshgen
   * writes for to `istioVersion`, with a comment above `spec.istio` naming
   * the old release and the upgrade notes to read. `meshgen convert` sets
   * it. A peer file read directly (validate, synth, diff) does not: nobody
   * would see the comment, so the old release stays a problem whose fix is
   * `meshgen convert`.
   * @default false
   */
  readonly upgradeOldIstio?: boolean;
  /**
   * Where the converted text will be written. Its relative paths resolve
   * against this file's folder, so paths of the peer file are rewritten to
   * resolve against it.
   * @default - the peer file itself: relative paths stay as the peer file wrote them
   */
  readonly outputFile?: string;
}

/** A converted peer file. */
export interface ConvertPeerResult {
  /** The format the file was in. */
  readonly format: PeerFormat;
  /** Native topology text: one commented Mesh document per mesh, which `parseTopology` accepts. */
  readonly yaml: string;
  /** That text, loaded (convertPeer checks its own output with parseTopology). */
  readonly topology: Topology;
  /** The meshes moved to another Istio release, with the releases the peer file named (see `upgradeOldIstio`). */
  readonly istioUpgrades: readonly IstioUpgrade[];
}

/** A mesh that runs another Istio release than its peer file named. */
export interface IstioUpgrade {
  /** The mesh's name in the converted file. */
  readonly mesh: string;
  /** The releases the peer file named for its clusters, oldest first. */
  readonly from: readonly string[];
  /** The release it runs in the converted file. */
  readonly to: string;
}

const CONVERTERS: Readonly<Record<PeerFormat, (input: ConverterInput) => ConvertedTopology>> = {
  ristioctl: convertRistioctl,
  'setup-mesh': convertSetupMesh,
};

/**
 * Converts the text of a ristioctl `mesh.yaml` or of a setup-mesh
 * `topology.yaml` into meshgen's native topology. `file` names the peer
 * file in messages and is the base of its relative paths. Throws
 * TopologyError, listing every problem with its file, path and fix, when
 * the text is in neither format or is not valid in its own.
 */
export function convertPeer(file: string, text: string, opts: ConvertPeerOptions = {}): ConvertPeerResult {
  const format = detectPeerFormat(text);
  if (!format) {
    const yamlProblems = parseSource(file, text).problems;
    if (yamlProblems.length > 0) throw new TopologyError(`cannot convert ${file}: it is not valid YAML`, yamlProblems);
    const native = isMeshgenTopology(text);
    throw new TopologyError(`cannot convert ${file}: ${native ? 'it is already a meshgen topology' : 'it is not in a format meshgen converts'}`, [
      native
        ? { file, message: `the file has apiVersion: ${MESHGEN_API_VERSION}`, fix: `use it as it is: meshgen validate -f ${file}` }
        : {
            file,
            message: `neither a ${PEER_FORMAT_TITLES.ristioctl} (apiVersion: ristioctl.k8smgmt.io/…) nor a ${PEER_FORMAT_TITLES['setup-mesh']} (mesh_id and contexts)`,
            fix: 'pass a ristioctl mesh.yaml or a setup-mesh topology.yaml',
          },
    ]);
  }
  const target = opts.outputFile ?? file;
  const { yaml, converted } = convertPeerAs(format, file, text, opts);
  let topology: Topology;
  try {
    topology = parseTopology([{ file: target, text: yaml }], [], { discovered: 'skip' });
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    throw new TopologyError(`converting ${file} gave a topology meshgen rejects, which is a bug in meshgen convert`, err.problems);
  }
  const istioUpgrades = converted.meshes
    .filter((m) => m.istioMovedFrom !== undefined)
    .map((m) => ({ mesh: m.name, from: m.istioMovedFrom ?? [], to: m.istioVersion }));
  return { format, yaml, topology, istioUpgrades };
}

/**
 * The native text of a peer file whose format is known, and the meshes it
 * holds, without convertPeer's check of that text: for the loader, which
 * reads a peer file through it and checks the text as any topology. Throws
 * TopologyError, as convertPeer does, for a file its converter rejects.
 */
export function convertPeerAs(format: PeerFormat, file: string, text: string, opts: ConvertPeerOptions = {}): { readonly yaml: string; readonly converted: ConvertedTopology } {
  const istioVersion = opts.istioVersion ?? DEFAULT_PEER_ISTIO_VERSION;
  const versionProblem = istioVersionProblem(istioVersion, 'pass the release with meshgen convert --istio-version');
  if (versionProblem) {
    throw new TopologyError(`cannot convert ${file}: the Istio release ${JSON.stringify(istioVersion)} is not usable`, [
      { path: '--istio-version', message: versionProblem.message, fix: versionProblem.fix },
    ]);
  }
  const target = opts.outputFile ?? file;
  const converted = CONVERTERS[format]({
    file,
    text,
    outDir: path.dirname(path.resolve(target)),
    istioVersion,
    istioVersionGiven: opts.istioVersion !== undefined,
    upgradeOldIstio: opts.upgradeOldIstio === true,
  });
  return { yaml: convertedTopologyText(file, format, converted), converted };
}

/** The converted file: a header naming its source, then one document per mesh. */
function convertedTopologyText(file: string, format: PeerFormat, topology: ConvertedTopology): string {
  const header = [
    `Converted from ${file} (${PEER_FORMAT_TITLES[format]}) by meshgen convert.`,
    'Read the notes below, then check the file with meshgen validate -f <this file>.',
    ...topology.notes,
  ];
  return topology.meshes.map((mesh, i) => renderMesh(mesh, i === 0 ? header : [])).join('---\n');
}

/** One Mesh document, in the key order of the native examples, with the notes as comments. */
function renderMesh(mesh: ConvertedMesh, header: readonly string[]): string {
  const shared = sharedCredentials(mesh);
  const doc = new Document({
    apiVersion: MESHGEN_API_VERSION,
    kind: 'Mesh',
    metadata: { name: mesh.name },
    spec: {
      istio: { version: mesh.istioVersion },
      trust: { keyStore: mesh.keyStore, ...mesh.trust },
      ...(shared ? { credentials: credentialsValue(shared) } : {}),
      clusters: mesh.clusters.map((c) => ({
        name: c.name,
        context: c.context,
        network: c.network,
        ...(c.samples ? { samples: [...c.samples] } : {}),
        ...(shared || isEmpty(c.credentials) ? {} : { credentials: credentialsValue(c.credentials) }),
      })),
    },
  });
  const blocks = [header, mesh.notes].filter((b) => b.length > 0);
  if (blocks.length > 0) doc.commentBefore = blocks.map((b) => commentText(b)).join('\n\n');
  const spec = doc.get('spec', true) as YAMLMap;
  noteKey(spec, 'istio', mesh.istioNotes);
  noteKey(spec, 'trust', mesh.trustNotes);
  noteKey(spec, 'clusters', mesh.clusterNotes);
  const items = spec.get('clusters', true);
  if (isSeq(items)) {
    items.items.forEach((item, i) => {
      const notes = mesh.clusters[i].notes;
      if (isMap(item) && notes.length > 0) item.commentBefore = commentText(notes);
    });
  }
  return topologyText(doc);
}

/** The credentials every cluster of a mesh of several has, when they all have the same (non-empty) ones. */
function sharedCredentials(mesh: ConvertedMesh): ConvertedCredentials | undefined {
  const first = mesh.clusters[0]?.credentials;
  if (mesh.clusters.length < 2 || !first || isEmpty(first)) return undefined;
  const same = (c: ConvertedCredentials) => c.source === first.source && c.kubeconfig === first.kubeconfig;
  return mesh.clusters.every((c) => same(c.credentials)) ? first : undefined;
}

function isEmpty(c: ConvertedCredentials): boolean {
  return c.source === undefined && c.kubeconfig === undefined;
}

/** A credentials block in the schema's key order. */
function credentialsValue(c: ConvertedCredentials): Record<string, string> {
  return { ...(c.source ? { source: c.source } : {}), ...(c.kubeconfig ? { kubeconfig: c.kubeconfig } : {}) };
}

