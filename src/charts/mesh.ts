/**
 * The library entry point: one construct for a whole mesh, holding one
 * ClusterChart per cluster. Use it in any cdk8s app.
 */
import { Construct } from 'constructs';
import { MeshModel } from '../model/types';
import { MeshCredentials } from '../credentials/resolve';
import { MeshPki } from '../pki/key-store';
import { ClusterChart } from './cluster-chart';

/** Props of Mesh. */
export interface MeshProps {
  /** The mesh topology, from loadTopology() or written in code. */
  readonly mesh: MeshModel;
  /** Its CA material, from ensureMeshPki(). */
  readonly pki: MeshPki;
  /** Its clusters' API credentials, from resolveMeshCredentials(). */
  readonly credentials: MeshCredentials;
}

/** A multicluster Istio mesh: one chart per cluster, in cluster name order. */
export class Mesh extends Construct {
  /** The charts, one per cluster. */
  public readonly clusters: readonly ClusterChart[];

  constructor(scope: Construct, id: string, props: MeshProps) {
    super(scope, id);
    this.clusters = props.mesh.clusters.map((cluster) => new ClusterChart(this, { mesh: props.mesh, cluster, pki: props.pki, credentials: props.credentials }));
  }
}
