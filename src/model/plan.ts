/**
 * The topology rules: what each cluster of a mesh gets, derived from the
 * model alone. Charts build objects from a plan and READMEs describe it, so
 * both follow one set of rules. Pure functions, no constructs.
 *
 * Sources: Istio's multicluster install guides (multi-primary and
 * primary-remote, on one network or several).
 */
import { ClusterModel, isMultiNetwork, MeshModel } from './types';

/** What one cluster of a mesh needs. */
export interface ClusterPlan {
  readonly mesh: MeshModel;
  readonly cluster: ClusterModel;
  /** For a remote: the primary whose istiod serves it; undefined for a primary (so it also tells a remote from a primary). */
  readonly servedBy?: ClusterModel;
  /** For a primary: the remotes it serves, by name. */
  readonly remotes: readonly ClusterModel[];
  /** The mesh spans several networks. */
  readonly multiNetwork: boolean;
  /** `topology.istio.io/network` label of istio-system, if any. */
  readonly networkLabel?: string;
  /** `topology.istio.io/controlPlaneClusters` annotation of istio-system, if any. */
  readonly controlPlaneClusters?: string;
  /** The cluster has an east-west gateway. */
  readonly eastWestGateway: boolean;
  /** The cross-network Gateway (`expose-services`) goes on this cluster. */
  readonly exposeServices: boolean;
  /** istiod is exposed through the east-west gateway for remotes (`expose-istiod`, `externalIstiod`). */
  readonly exposeIstiod: boolean;
  /**
   * For a remote: `values.global.remotePilotAddress`, its primary's east-west gateway address; undefined
   * while that address is not known (see awaitingAddress()).
   */
  readonly remotePilotAddress?: string;
  /** For a remote: `values.istiodRemote.injectionPath`. */
  readonly injectionPath?: string;
  /** Clusters whose API server this cluster's istiod reads (remote secrets). */
  readonly reads: readonly ClusterModel[];
  /** Primaries whose istiod reads this cluster's API server. */
  readonly readBy: readonly ClusterModel[];
  /**
   * The cluster gets the reader service account's token Secret, for `meshgen credentials fetch`:
   * its credentials come from reader-token and some istiod reads it.
   */
  readonly readerTokenSecret: boolean;
}

/** The primary cluster that serves `cluster`: itself for a primary. */
export function controlPlaneOf(mesh: MeshModel, cluster: ClusterModel): ClusterModel | undefined {
  if (cluster.role === 'primary') return cluster;
  return mesh.clusters.find((c) => c.name === cluster.controlPlane);
}

/** The remotes a primary serves. */
export function remotesOf(mesh: MeshModel, primary: ClusterModel): ClusterModel[] {
  return mesh.clusters.filter((c) => c.role === 'remote' && c.controlPlane === primary.name);
}

/** Istio's sidecar injection path of a remote: cluster and network travel in it. */
export function injectionPath(cluster: ClusterModel): string {
  return `/inject/cluster/${cluster.name}/net/${cluster.network}`;
}

/** Plans one cluster of `mesh`. */
export function planCluster(mesh: MeshModel, cluster: ClusterModel): ClusterPlan {
  const multiNetwork = isMultiNetwork(mesh);
  const isPrimary = cluster.role === 'primary';
  const primary = isPrimary ? undefined : controlPlaneOf(mesh, cluster);
  const remotes = isPrimary ? remotesOf(mesh, cluster) : [];
  const exposeIstiod = isPrimary && remotes.length > 0;
  const readBy = mesh.clusters.filter((c) => c.role === 'primary' && c.name !== cluster.name);
  return {
    mesh,
    cluster,
    servedBy: primary,
    remotes,
    multiNetwork,
    networkLabel: multiNetwork ? cluster.network : undefined,
    controlPlaneClusters: primary?.name,
    // Every cluster of a multi-network mesh is reached from other networks;
    // a primary with remotes also exposes istiod through its gateway.
    eastWestGateway: multiNetwork || exposeIstiod,
    // Istio config lives with the control plane: a remote's gateway is configured by its primary.
    // Ambient's east-west gateway carries HBONE itself and needs no such Gateway.
    exposeServices: isPrimary && multiNetwork && mesh.dataplane !== 'ambient',
    exposeIstiod,
    remotePilotAddress: primary?.eastWestGateway.address,
    injectionPath: isPrimary ? undefined : injectionPath(cluster),
    reads: isPrimary ? mesh.clusters.filter((c) => c.name !== cluster.name) : [],
    // Every primary reads every other cluster of its mesh.
    readBy,
    readerTokenSecret: cluster.credentials.source === 'reader-token' && readBy.length > 0,
  };
}

/**
 * For a remote whose primary's east-west gateway address is not known yet (neither set in the topology nor
 * found by `meshgen discover`): that primary. Its remotes reach istiod at that address, which exists only
 * once the primary is installed, so such a remote's control plane waits for it; undefined otherwise.
 */
export function awaitingAddress(plan: ClusterPlan): ClusterModel | undefined {
  return plan.servedBy && plan.remotePilotAddress === undefined ? plan.servedBy : undefined;
}

/** What to do about a gateway address of `cluster` that is not known yet. */
export function discoverFix(cluster: string): string {
  return `install "${cluster}" by its README, then run meshgen discover --cluster ${cluster} and meshgen synth again (or set eastWestGateway.address of "${cluster}" in the topology)`;
}

/**
 * The order to install a mesh's clusters in: primaries before the remotes
 * they serve, by name otherwise.
 */
export function installOrder(mesh: MeshModel): ClusterModel[] {
  return [...mesh.clusters.filter((c) => c.role === 'primary'), ...mesh.clusters.filter((c) => c.role === 'remote')];
}
