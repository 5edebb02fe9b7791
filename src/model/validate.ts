/**
 * Checks that span keys or documents, run on documents that already match
 * their schema. Pure: every problem is collected, nothing is thrown here.
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

/** Every cross-key problem of a set of Mesh documents. */
export function validateMeshDocuments(docs: readonly SourceDocument[]): Problem[] {
  const problems: Problem[] = [];
  const meshNames = new Map<string, Seen>();
  const meshIDs = new Map<string, Seen>();
  const clusterNames = new Map<string, Seen>();
  const contexts = new Map<string, Seen & { cluster: string }>();

  const where = (s: Seen) => {
    const pos = s.doc.locate(s.path);
    return `${s.doc.file}${pos ? `:${pos.line}` : ''} (${formatPath(s.path)})`;
  };

  for (const doc of docs) {
    const mesh = doc.value as MeshDocumentValue;
    const name = mesh.metadata.name;
    const first = meshNames.get(name);
    if (first) {
      problems.push(
        problemAt(doc, ['metadata', 'name'], `mesh "${name}" is already defined at ${where(first)}`, 'give each Mesh document its own metadata.name'),
      );
    } else {
      meshNames.set(name, { doc, path: ['metadata', 'name'] });
    }

    const meshID = mesh.spec.meshID ?? name;
    const idPath = mesh.spec.meshID ? ['spec', 'meshID'] : ['metadata', 'name'];
    const firstID = meshIDs.get(meshID);
    if (firstID && !first) {
      problems.push(
        problemAt(
          doc,
          idPath,
          `mesh ID "${meshID}" is already the mesh ID of the mesh at ${where(firstID)}`,
          'list all clusters of one mesh in a single Mesh document, or give this mesh its own spec.meshID',
        ),
      );
    } else if (!firstID) {
      meshIDs.set(meshID, { doc, path: idPath });
    }

    const version = mesh.spec.istio.version;
    const [major, minor] = version.split('.').map(Number);
    if (major < MIN_ISTIO_VERSION[0] || (major === MIN_ISTIO_VERSION[0] && minor < MIN_ISTIO_VERSION[1])) {
      problems.push(
        problemAt(
          doc,
          ['spec', 'istio', 'version'],
          `Istio ${version} is too old: meshgen writes networking.istio.io/v1 objects, served from Istio ${MIN_ISTIO_VERSION.join('.')}`,
          `use Istio ${MIN_ISTIO_VERSION.join('.')}.0 or later`,
        ),
      );
    }

    mesh.spec.clusters.forEach((cluster, i) => {
      const namePath = ['spec', 'clusters', i, 'name'];
      const prev = clusterNames.get(cluster.name);
      if (prev) {
        problems.push(
          problemAt(
            doc,
            namePath,
            `cluster name "${cluster.name}" is already used at ${where(prev)}`,
            'cluster names are output folder names and Istio cluster IDs: make each one unique in the topology',
          ),
        );
      } else {
        clusterNames.set(cluster.name, { doc, path: namePath });
      }
      const ctxPath = ['spec', 'clusters', i, 'context'];
      const prevCtx = contexts.get(cluster.context);
      if (prevCtx) {
        problems.push(
          problemAt(
            doc,
            ctxPath,
            `context "${cluster.context}" is already the context of cluster "${prevCtx.cluster}" at ${where(prevCtx)}`,
            'each cluster is one Kubernetes cluster: give it the kube context that points at it',
          ),
        );
      } else {
        contexts.set(cluster.context, { doc, path: ctxPath, cluster: cluster.name });
      }
    });
  }
  return problems;
}
