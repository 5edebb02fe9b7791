/**
 * The library entry point: one construct for a whole mesh, holding one
 * ClusterChart per cluster. Use it in any cdk8s app.
 */
import { Construct } from 'constructs';
import { pemCertificates } from '../pki/inspect';
import { TopologyError } from '../errors';
import { planFederation } from '../model/federation-plan';
import { ClusterModel, MeshModel, Topology } from '../model/types';
import { MeshCredentials } from '../credentials/resolve';
import { MeshPki } from '../pki/key-store';
import { RootRotation } from '../pki/manifest';
import { ClusterChart, ClusterChartProps } from './cluster-chart';

/** Props of Mesh. */
export interface MeshProps {
  /** The mesh topology, from loadTopology() or written in code. */
  readonly mesh: MeshModel;
  /** Its CA material, from ensureMeshPki(). */
  readonly pki: MeshPki;
  /** Its clusters' API credentials, from resolveMeshCredentials(). */
  readonly credentials: MeshCredentials;
  /**
   * The whole topology and every mesh's root certificate, for the federations this mesh is in.
   * @default - no federation
   */
  readonly federation?: {
    readonly topology: Topology;
    readonly roots: ReadonlyMap<string, string>;
    /**
     * Root rotations of other meshes, by mesh: the READMEs of clusters that trust them say what each stage needs.
     * @default - none under way
     */
    readonly rotations?: ReadonlyMap<string, RootRotation>;
  };
}

/** A multicluster Istio mesh: one chart per cluster, in cluster name order. */
export class Mesh extends Construct {
  /** The charts, one per cluster. */
  public readonly clusters: readonly ClusterChart[];

  constructor(scope: Construct, id: string, props: MeshProps) {
    super(scope, id);
    this.clusters = props.mesh.clusters.map((cluster) => new ClusterChart(this, cluster.name, clusterChartProps(props, cluster)));
  }
}

/**
 * The props of the chart of `cluster` of the mesh `props` describes: what
 * its mesh's federations give it, the other meshes' roots it trusts (one
 * entry per root: a mesh in a root rotation has two) and their rotations.
 * A run over a large fleet builds one cluster's chart at a time from these.
 */
export function clusterChartProps(props: MeshProps, cluster: ClusterModel): ClusterChartProps {
  const fed = props.federation ? planFederation(props.federation.topology, props.mesh, cluster) : undefined;
  const trustRoots = (fed?.trustRootsOf ?? []).flatMap((m) => {
    const pem = props.federation?.roots.get(m);
    if (!pem) throw new TopologyError(`no root certificate of mesh "${m}", which mesh "${props.mesh.name}" must trust`);
    return pemCertificates(pem);
  });
  const peerRotations = (fed?.trustRootsOf ?? []).flatMap((m) => {
    const rotation = props.federation?.rotations?.get(m);
    return rotation ? [{ mesh: m, rotation, roots: pemCertificates(props.federation?.roots.get(m) ?? '') }] : [];
  });
  return { mesh: props.mesh, cluster, pki: props.pki, credentials: props.credentials, federation: fed, trustRoots, peerRotations };
}
