/**
 * Checks that span keys or documents. They run on every Mesh document, also
 * on those that fail their schema, so that one run reports every problem:
 * values of the wrong shape are skipped here (the schema check names them).
 * Pure: every problem is collected, nothing is thrown here.
 */
import { Problem } from '../errors';
import { formatPath, problemAt, SourceDocument } from './source';

/** A Mesh document as its schema guarantees it. */
export interface MeshDocumentValue {
  apiVersion: string;
  kind: 'Mesh';
  metadata: { name: string };
  spec: {
    meshID?: string;
    istio: { version: string; hub?: string };
    trust?: { keyStore?: string };
    clusters: { name: string; context: string; network: string; role?: 'primary' }[];
  };
}

/** Oldest Istio release meshgen writes for: it emits networking.istio.io/v1 objects. */
export const MIN_ISTIO_VERSION: readonly [number, number] = [1, 22];

interface Seen {
  doc: SourceDocument;
  path: (string | number)[];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Where a value was first used, to report any later use of the same value. */
class FirstUses {
  private readonly seen = new Map<string, Seen & { owner: string }>();

  constructor(private readonly problems: Problem[]) {}

  /**
   * Records `value` at `path`, or, when it was used before, adds a problem
   * built by `message` from the first use's location and owner. Returns
   * whether the value was new.
   */
  claim(
    value: string | undefined,
    doc: SourceDocument,
    path: (string | number)[],
    message: (firstAt: string, firstOwner: string) => string,
    fix: string,
    owner = '',
  ): boolean {
    if (value === undefined) return true;
    const first = this.seen.get(value);
    if (!first) {
      this.seen.set(value, { doc, path, owner });
      return true;
    }
    const pos = first.doc.locate(first.path);
    const at = `${first.doc.file}${pos ? `:${pos.line}` : ''} (${formatPath(first.path)})`;
    this.problems.push(problemAt(doc, path, message(at, first.owner), fix));
    return false;
  }
}

/** Every cross-key problem of a set of Mesh documents. */
export function validateMeshDocuments(docs: readonly SourceDocument[]): Problem[] {
  const problems: Problem[] = [];
  const meshNames = new FirstUses(problems);
  const meshIDs = new FirstUses(problems);
  const clusterNames = new FirstUses(problems);
  const contexts = new FirstUses(problems);

  for (const doc of docs) {
    const spec = obj(obj(doc.value).spec);
    const name = str(obj(obj(doc.value).metadata).name);
    const newName = meshNames.claim(
      name,
      doc,
      ['metadata', 'name'],
      (at) => `mesh "${name}" is already defined at ${at}`,
      'give each Mesh document its own metadata.name',
    );
    // A repeated name already implies a repeated mesh ID: report it once.
    if (newName) {
      const meshID = str(spec.meshID) ?? name;
      meshIDs.claim(
        meshID,
        doc,
        str(spec.meshID) ? ['spec', 'meshID'] : ['metadata', 'name'],
        (at) => `mesh ID "${meshID}" is already the mesh ID of the mesh at ${at}`,
        'list all clusters of one mesh in a single Mesh document, or give this mesh its own spec.meshID',
      );
    }

    const version = str(obj(spec.istio).version);
    const [major, minor] = (version ?? '').split('.').map(Number);
    if (version && (major < MIN_ISTIO_VERSION[0] || (major === MIN_ISTIO_VERSION[0] && minor < MIN_ISTIO_VERSION[1]))) {
      problems.push(
        problemAt(
          doc,
          ['spec', 'istio', 'version'],
          `Istio ${version} is too old: meshgen writes networking.istio.io/v1 objects, served from Istio ${MIN_ISTIO_VERSION.join('.')}`,
          `use Istio ${MIN_ISTIO_VERSION.join('.')}.0 or later`,
        ),
      );
    }

    const clusters = Array.isArray(spec.clusters) ? spec.clusters : [];
    clusters.forEach((raw, i) => {
      const cluster = obj(raw);
      const clusterName = str(cluster.name);
      clusterNames.claim(
        clusterName,
        doc,
        ['spec', 'clusters', i, 'name'],
        (at) => `cluster name "${clusterName}" is already used at ${at}`,
        'cluster names are output folder names and Istio cluster IDs: make each one unique in the topology',
      );
      const context = str(cluster.context);
      contexts.claim(
        context,
        doc,
        ['spec', 'clusters', i, 'context'],
        (at, owner) => `context "${context}" is already the context of cluster "${owner}" at ${at}`,
        'each cluster is one Kubernetes cluster: give it the kube context that points at it',
        clusterName ?? `#${i}`,
      );
    });
  }
  return problems;
}
