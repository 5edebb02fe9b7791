/**
 * Istio's old `setup-mesh` `topology.yaml` → a meshgen mesh.
 *
 * The file is one mapping:
 *
 * ```yaml
 * mesh_id: mesh1
 * contexts:                 # older files: clusters:
 *   gke_acme_us-east1_c1:
 *     network: network1
 *     serviceAccountReader: istio-reader-service-account
 * ```
 *
 * Every cluster is a primary. setup-mesh knows clusters only by kube
 * context, so cluster names are derived from the contexts (see
 * {@link clusterNamesFromContexts}). The file names no Istio release: the
 * caller gives one.
 */
import { sortBy } from '../../order';
import { DocPath, SourceDocument } from '../source';
import { DEFAULT_ISTIO_VERSION, DEFAULT_KEY_STORE } from '../types';
import {
  conversionError,
  ConvertedCluster,
  ConvertedTopology,
  ConverterInput,
  describeValue,
  isRecord,
  parsePeerDocuments,
  PeerReader,
  renameNote,
  toDnsLabel,
  uniqueLabels,
} from './detect';
import { clusterNamesFromContexts } from '../names';

/** Istio release written for setup-mesh files, which name none, unless the caller gives one. */
export const DEFAULT_PEER_ISTIO_VERSION = DEFAULT_ISTIO_VERSION;

/** The service account whose token Istio's remote secrets carry, and meshgen's `reader-token` reads. */
export const ISTIO_READER_SERVICE_ACCOUNT = 'istio-reader-service-account';

const TOP_KEYS = ['mesh_id', 'contexts', 'clusters'];
const CONTEXT_KEYS = ['network', 'serviceAccountReader'];

/** The name rule, as the converted file explains it above its clusters. */
export const CLUSTER_NAME_RULE =
  'setup-mesh knows clusters by kube context; meshgen names each cluster after its context: lowercase, every character ' +
  'other than a-z, 0-9 and - (such as _ : / . @) turned into -, repeated - collapsed into one, - dropped at both ends, cut to ' +
  '63 characters. A context whose name an earlier context already gives gets -2, -3, … in the order of the contexts.';


/** One context entry of the file. */
interface ContextEntry {
  readonly context: string;
  readonly network?: string;
  readonly serviceAccountReader?: string;
}

/**
 * Converts a setup-mesh `topology.yaml` into one mesh running
 * `input.istioVersion`. Throws TopologyError listing every problem of the file.
 */
export function convertSetupMesh(input: ConverterInput): ConvertedTopology {
  const { istioVersion } = input;
  const { meshID, listKey, entries } = readTopology(input);

  const mesh = toDnsLabel(meshID, 'mesh');
  const names = clusterNamesFromContexts(entries.map((e) => e.context));
  const given = [...new Set(entries.flatMap((e) => (e.network === undefined ? [] : [e.network])))];
  const defaulted = entries.some((e) => e.network === undefined);
  const networkLabels = uniqueLabels(defaulted ? [...given, `${mesh}-network`] : given, 'network');
  const networkOf = (e: ContextEntry) => networkLabels[e.network === undefined ? given.length : given.indexOf(e.network)];

  const clusters = convertClusters(entries, names, networkOf);

  const clusterNotes = [CLUSTER_NAME_RULE, 'Every cluster is a primary, as setup-mesh makes them.'];
  if (clusters.some((c) => c.credentials.source === 'reader-token')) {
    clusterNotes.push(
      `setup-mesh made each cluster's remote secrets from the token of its serviceAccountReader (default ${ISTIO_READER_SERVICE_ACCOUNT}). ` +
        'meshgen does the same with credentials.source: reader-token: apply each cluster\'s folder, run meshgen credentials fetch, then synth again.',
    );
  }
  if (defaulted) {
    clusterNotes.push(`Contexts without a network share one network in setup-mesh; meshgen names it ${networkLabels[given.length]}.`);
  }
  given.forEach((raw, i) => clusterNotes.push(...renameNote('Network', raw, networkLabels[i], 'network', 'network names are distinct DNS-1123 labels')));

  return {
    notes: listKey === 'clusters' ? ['This is setup-mesh\'s older form, which lists the contexts under clusters: instead of contexts:.'] : [],
    meshes: [
      {
        name: mesh,
        istioVersion,
        keyStore: DEFAULT_KEY_STORE,
        notes: renameNote(
          'mesh_id',
          meshID,
          mesh,
          'mesh',
          'mesh names are DNS-1123 labels, and the name is also the mesh ID (values.global.meshID) the clusters get',
        ),
        istioNotes: [
          `setup-mesh files do not name the Istio release: ${istioVersion} comes from meshgen convert --istio-version ` +
            `(default ${DEFAULT_PEER_ISTIO_VERSION}); make it the release the clusters run.`,
        ],
        trustNotes: [
          'setup-mesh leaves the CA to you (Istio\'s tools/certs). meshgen makes the root and intermediate CAs here on the first synth, ' +
            'in the tools/certs layout (root-cert.pem, root-key.pem, <cluster>/ca-cert.pem, ca-key.pem): copy existing keys there ' +
            'first to keep the mesh\'s root CA.',
        ],
        clusterNotes,
        clusters: sortBy(clusters, (c) => c.name),
      },
    ],
  };
}

/** Reads the one document of the file; throws TopologyError listing every problem of it. */
function readTopology(input: ConverterInput): { meshID: string; listKey: 'contexts' | 'clusters'; entries: ContextEntry[] } {
  const { file } = input;
  const docs = parsePeerDocuments(file, input.text, 'setup-mesh');
  const reader = new PeerReader(file, false);
  if (docs.length === 0) {
    reader.problems.push({ file, message: 'holds no topology', fix: 'give the setup-mesh topology.yaml with mesh_id and contexts' });
    throw conversionError(file, 'setup-mesh', reader.problems);
  }
  for (const extra of docs.slice(1)) {
    reader.add(extra, [], `document ${extra.index + 1}: a setup-mesh topology.yaml holds one document`, 'convert each topology on its own');
  }
  const doc = docs[0];
  const top = reader.map(doc, [], doc.value, TOP_KEYS, 'the topology');
  if (!top) throw conversionError(file, 'setup-mesh', reader.problems);
  const meshID = reader.string(doc, ['mesh_id'], top.mesh_id, 'add mesh_id: <the mesh ID of every cluster>');
  const listKey = 'contexts' in top ? 'contexts' : 'clusters';
  if ('contexts' in top && 'clusters' in top) {
    reader.add(doc, ['clusters'], 'both contexts and clusters are set', 'keep contexts (clusters is its older name) and move every entry there', {
      key: true,
    });
  }
  const entries = readEntries(reader, doc, listKey, top[listKey]);
  if (reader.problems.length > 0 || meshID === undefined) throw conversionError(file, 'setup-mesh', reader.problems);
  return { meshID, listKey, entries };
}

/** The converted clusters, in the file's order, with notes on renamed contexts and other service account readers. */
function convertClusters(entries: readonly ContextEntry[], names: readonly string[], networkOf: (e: ContextEntry) => string): ConvertedCluster[] {
  return entries.map((e, i) => {
    const notes: string[] = [];
    const base = toDnsLabel(e.context, 'cluster');
    if (names[i] !== base) {
      const first = entries[names.indexOf(base)]?.context;
      notes.push(
        `Context ${JSON.stringify(e.context)} gives the name ${base}, which ${first === undefined ? 'is taken' : `context ${JSON.stringify(first)} already has`}: this cluster is ${names[i]}.`,
      );
    }
    const reads = e.serviceAccountReader === undefined || e.serviceAccountReader === ISTIO_READER_SERVICE_ACCOUNT;
    if (!reads) {
      notes.push(
        `serviceAccountReader: ${e.serviceAccountReader}. meshgen reads a cluster either with Istio's ${ISTIO_READER_SERVICE_ACCOUNT} ` +
          '(credentials.source: reader-token) or with the credentials of your kubeconfig (the default, kept here); the ' +
          `permissions of ${e.serviceAccountReader} do not carry over.`,
      );
    }
    return {
      name: names[i],
      context: e.context,
      network: networkOf(e),
      credentials: reads ? { source: 'reader-token' } : {},
      notes,
    };
  });
}

/** The entries under `contexts` (or `clusters`), in the file's order. */
function readEntries(reader: PeerReader, doc: SourceDocument, key: string, value: unknown): ContextEntry[] {
  const at: DocPath = [key];
  if (value === undefined) {
    reader.add(doc, at, `${key} is missing`, 'add contexts: {<kube context>: {network: <network name>}}, one entry per cluster');
    return [];
  }
  if (!isRecord(value) || Object.keys(value).length === 0) {
    reader.add(
      doc,
      at,
      isRecord(value) ? `${key} is empty` : `${key} is ${describeValue(value)}, not a mapping`,
      `list the clusters under ${key} by kube context: {<kube context>: {network: <network name>}}`,
    );
    return [];
  }
  const entries: ContextEntry[] = [];
  for (const [context, raw] of Object.entries(value)) {
    const p: DocPath = [key, context];
    const body = raw === null ? {} : reader.map(doc, p, raw, CONTEXT_KEYS, `the entry of context ${JSON.stringify(context)}`);
    if (!body) continue;
    entries.push({
      context,
      network: reader.string(doc, [...p, 'network'], body.network),
      serviceAccountReader: reader.string(doc, [...p, 'serviceAccountReader'], body.serviceAccountReader),
    });
  }
  return entries;
}

export { clusterNamesFromContexts };
