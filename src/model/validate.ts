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
    const spec = obj(obj(doc.value).spec);
    const name = str(obj(obj(doc.value).metadata).name);
    const first = name === undefined ? undefined : meshNames.get(name);
    if (name !== undefined && first) {
      problems.push(
        problemAt(doc, ['metadata', 'name'], `mesh "${name}" is already defined at ${where(first)}`, 'give each Mesh document its own metadata.name'),
      );
    } else if (name !== undefined) {
      meshNames.set(name, { doc, path: ['metadata', 'name'] });
    }

    const meshID = str(spec.meshID) ?? name;
    const idPath = str(spec.meshID) ? ['spec', 'meshID'] : ['metadata', 'name'];
    const firstID = meshID === undefined ? undefined : meshIDs.get(meshID);
    if (meshID !== undefined && firstID && !first) {
      problems.push(
        problemAt(
          doc,
          idPath,
          `mesh ID "${meshID}" is already the mesh ID of the mesh at ${where(firstID)}`,
          'list all clusters of one mesh in a single Mesh document, or give this mesh its own spec.meshID',
        ),
      );
    } else if (meshID !== undefined && !firstID) {
      meshIDs.set(meshID, { doc, path: idPath });
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
      const namePath = ['spec', 'clusters', i, 'name'];
      const prev = clusterName === undefined ? undefined : clusterNames.get(clusterName);
      if (clusterName !== undefined && prev) {
        problems.push(
          problemAt(
            doc,
            namePath,
            `cluster name "${clusterName}" is already used at ${where(prev)}`,
            'cluster names are output folder names and Istio cluster IDs: make each one unique in the topology',
          ),
        );
      } else if (clusterName !== undefined) {
        clusterNames.set(clusterName, { doc, path: namePath });
      }
      const context = str(cluster.context);
      const ctxPath = ['spec', 'clusters', i, 'context'];
      const prevCtx = context === undefined ? undefined : contexts.get(context);
      if (context !== undefined && prevCtx) {
        problems.push(
          problemAt(
            doc,
            ctxPath,
            `context "${context}" is already the context of cluster "${prevCtx.cluster}" at ${where(prevCtx)}`,
            'each cluster is one Kubernetes cluster: give it the kube context that points at it',
          ),
        );
      } else if (context !== undefined) {
        contexts.set(context, { doc, path: ctxPath, cluster: clusterName ?? `#${i}` });
      }
    });
  }
  return problems;
}
