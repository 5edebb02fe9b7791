/**
 * What a run leaves undone, and why: remote secrets whose credentials are
 * pending, remotes waiting for their primary's gateway address, Secrets
 * written in plaintext; with `--strict`, each is an error. Shared by synth,
 * diff and validate, and free of constructs, so that validate loads none.
 */
import { MeshCredentials, PendingCredential, resolveMeshCredentials } from '../credentials/resolve';
import { OutputError } from '../errors';
import { planFederation } from '../model/federation-plan';
import { awaitingAddress, discoverFix, planCluster } from '../model/plan';
import { MeshModel, Topology } from '../model/types';
import { plural } from '../text';

/** A cluster of a mesh whose remote secrets cannot be written yet. */
export interface MeshPending extends PendingCredential {
  readonly mesh: string;
}

/** Every pending credential of `topology`, mesh by mesh. */
export function pendingOf(topology: Topology, credentials: ReadonlyMap<string, MeshCredentials>): MeshPending[] {
  return topology.meshes.flatMap((mesh) => (credentials.get(mesh.name) as MeshCredentials).pending.map((p) => ({ mesh: mesh.name, ...p })));
}

/**
 * Output that waits for an east-west gateway address nobody knows yet (neither set in the topology nor found by
 * `meshgen discover`): a remote's control plane (model/plan.ts awaitingAddress()), or a service another mesh exports
 * (federation-plan.ts `waiting`).
 */
export interface MeshAwaiting {
  /** A remote's control plane, or a service imported from another mesh. */
  readonly kind: 'control-plane' | 'import';
  /** The mesh whose output waits. */
  readonly mesh: string;
  /** The cluster whose folder's README says what waits. */
  readonly cluster: string;
  /** What waits, e.g. `control plane of remote "cluster2"`, `import of echo.demo.global`. */
  readonly subject: string;
  /** The cluster whose gateway address is awaited, and its mesh. */
  readonly waitsFor: string;
  readonly waitsForMesh: string;
  readonly reason: string;
  readonly fix: string;
}

/** Everything in `topology` that waits for an east-west gateway address: remotes' control planes, then imported services. */
export function awaitingOf(topology: Topology): MeshAwaiting[] {
  const remotes = topology.meshes.flatMap((mesh) =>
    mesh.clusters.flatMap((cluster): MeshAwaiting[] => {
      const primary = awaitingAddress(planCluster(mesh, cluster));
      if (!primary) return [];
      return [
        {
          kind: 'control-plane',
          mesh: mesh.name,
          cluster: cluster.name,
          subject: `control plane of remote "${cluster.name}"`,
          waitsFor: primary.name,
          waitsForMesh: mesh.name,
          reason: `it reaches the istiod of "${primary.name}" through that cluster's east-west gateway, whose address is not known yet`,
          fix: discoverFix(primary.name),
        },
      ];
    }),
  );
  const imports = topology.meshes.flatMap((mesh) => {
    // Every primary of the importing mesh holds the same imports: its first primary's plan speaks for the mesh.
    const first = mesh.clusters.find((c) => c.role === 'primary');
    if (!first) return [];
    return planFederation(topology, mesh, first).waiting.flatMap((w) =>
      w.clusters.map((c): MeshAwaiting => ({
        kind: 'import',
        mesh: mesh.name,
        cluster: first.name,
        subject: `import of ${w.export.host}`,
        waitsFor: c.name,
        waitsForMesh: w.export.from,
        reason: `calls to it go to the east-west gateways of the clusters of mesh "${w.export.from}" that run it, and the address of "${c.name}" is not known yet`,
        fix: discoverFix(c.name),
      })),
    );
  });
  return [...remotes, ...imports];
}

/** The credentials of every mesh of `topology`, each kubeconfig read once: what synth, diff and validate all go by. */
export function resolveTopologyCredentials(topology: Topology, env?: NodeJS.ProcessEnv): Map<string, MeshCredentials> {
  const kubeconfigs = new Map();
  return new Map(topology.meshes.map((mesh) => [mesh.name, resolveMeshCredentials(mesh, { env, kubeconfigs })]));
}

/**
 * The error of `--strict` when the output would be incomplete: remote secrets
 * pending (`pendingOf`), or parts waiting for an east-west gateway address
 * (`awaitingOf`); undefined when neither.
 */
export function incompleteOutputError(topology: Topology, pending: readonly MeshPending[], awaiting: readonly MeshAwaiting[]): OutputError | undefined {
  if (pending.length === 0 && awaiting.length === 0) return undefined;
  const fileOf = (mesh: string) => (topology.meshes.find((m) => m.name === mesh) as MeshModel).source.file;
  const summaries = [
    ...(pending.length > 0 ? [`${plural(pending.length, 'cluster')} would have ${pending.length === 1 ? 'its' : 'their'} remote secrets pending`] : []),
    ...(awaiting.length > 0 ? [`${plural(awaiting.length, 'part')} of the output would wait for an east-west gateway address`] : []),
  ];
  return new OutputError(`${summaries.join(', and ')} (--strict)`, [
    ...pending.map((p) => ({
      file: fileOf(p.mesh),
      path: `cluster "${p.cluster}" credentials`,
      message: `the remote secrets of cluster "${p.cluster}" (mesh "${p.mesh}") cannot be written: ${p.reason}`,
      fix: p.hint ? `${p.fix}; ${p.hint}` : p.fix,
    })),
    ...awaiting.map((w) => ({
      file: fileOf(w.waitsForMesh),
      path: `cluster "${w.waitsFor}" eastWestGateway.address`,
      message: `the ${w.subject} (mesh "${w.mesh}") cannot be written: ${w.reason}`,
      fix: w.fix,
    })),
  ]);
}

/** Clusters whose Secrets are written in plaintext. */
export function plaintextSecretsOf(topology: Topology): string[] {
  return topology.meshes.flatMap((m) => m.clusters.filter((c) => c.secrets.encryption === 'none').map((c) => c.name));
}

/** The error of `--strict` when Secrets would be written in plaintext. */
export function plaintextError(topology: Topology, clusters: readonly string[]): OutputError {
  return new OutputError(
    `${plural(clusters.length, 'cluster')} would get private keys or tokens in plaintext (--strict)`,
    topology.meshes
      .filter((m) => m.clusters.some((c) => clusters.includes(c.name)))
      .map((m) => ({
        file: m.source.file,
        path: 'spec.secrets.encryption',
        message: `mesh "${m.name}" writes the Secrets of ${m.clusters.filter((c) => clusters.includes(c.name)).map((c) => `"${c.name}"`).join(', ')} in plaintext`,
        fix: PLAINTEXT_FIX,
      })),
  );
}

/** How to stop writing Secrets in plaintext. */
export const PLAINTEXT_FIX = 'set spec.secrets.encryption: sops (with secrets.sops.age: [age1…]) or sealed-secrets (with secrets.sealedSecrets.cert) in the topology file';

