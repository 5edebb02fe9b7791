/**
 * What a run leaves undone, and why: remote secrets whose credentials are
 * pending, remotes waiting for their primary's gateway address, Secrets
 * written in plaintext; with `--strict`, each is an error. Shared by synth,
 * diff and validate, and free of constructs, so that validate loads none.
 */
import { MeshCredentials, PendingCredential, resolveMeshCredentials } from '../credentials/resolve';
import { OutputError } from '../errors';
import { awaitingAddress, planCluster } from '../model/plan';
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

/** A remote whose control plane waits for its primary's east-west gateway address (model/plan.ts awaitingAddress()). */
export interface MeshAwaiting {
  readonly mesh: string;
  readonly cluster: string;
  /** The primary whose address is awaited. */
  readonly primary: string;
  readonly reason: string;
  readonly fix: string;
}

/** Every remote of `topology` whose primary's east-west gateway address is not known yet. */
export function awaitingOf(topology: Topology): MeshAwaiting[] {
  return topology.meshes.flatMap((mesh) =>
    mesh.clusters.flatMap((cluster) => {
      const primary = awaitingAddress(planCluster(mesh, cluster));
      if (!primary) return [];
      return [
        {
          mesh: mesh.name,
          cluster: cluster.name,
          primary: primary.name,
          reason: `it reaches the istiod of "${primary.name}" through that cluster's east-west gateway, whose address is not known yet`,
          fix:
            `install "${primary.name}" by its README, then run meshgen discover --cluster ${primary.name} and meshgen synth again ` +
            `(or set eastWestGateway.address of "${primary.name}" in the topology)`,
        },
      ];
    }),
  );
}

/** The credentials of every mesh of `topology`, each kubeconfig read once: what synth, diff and validate all go by. */
export function resolveTopologyCredentials(topology: Topology, env?: NodeJS.ProcessEnv): Map<string, MeshCredentials> {
  const kubeconfigs = new Map();
  return new Map(topology.meshes.map((mesh) => [mesh.name, resolveMeshCredentials(mesh, { env, kubeconfigs })]));
}

/** The error of `--strict` when remote secrets would be left pending, if any would. */
export function strictPendingError(topology: Topology, credentials: ReadonlyMap<string, MeshCredentials>): OutputError | undefined {
  const pending = pendingOf(topology, credentials);
  const awaiting = awaitingOf(topology);
  if (pending.length === 0 && awaiting.length === 0) return undefined;
  const fileOf = (mesh: string) => (topology.meshes.find((m) => m.name === mesh) as MeshModel).source.file;
  const summaries = [
    ...(pending.length > 0 ? [`${plural(pending.length, 'cluster')} would have ${pending.length === 1 ? 'its' : 'their'} remote secrets pending`] : []),
    ...(awaiting.length > 0 ? [`${plural(awaiting.length, 'remote')} would wait for ${awaiting.length === 1 ? 'its' : 'their'} primary's east-west gateway address`] : []),
  ];
  return new OutputError(`${summaries.join(', and ')} (--strict)`, [
    ...pending.map((p) => ({
      file: fileOf(p.mesh),
      path: `cluster "${p.cluster}" credentials`,
      message: `the remote secrets of cluster "${p.cluster}" (mesh "${p.mesh}") cannot be written: ${p.reason}`,
      fix: p.hint ? `${p.fix}; ${p.hint}` : p.fix,
    })),
    ...awaiting.map((w) => ({
      file: fileOf(w.mesh),
      path: `cluster "${w.primary}" eastWestGateway.address`,
      message: `the control plane of remote "${w.cluster}" (mesh "${w.mesh}") cannot be written: ${w.reason}`,
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

