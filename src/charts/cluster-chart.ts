/**
 * One chart per cluster: assembles the constructs that cluster needs from
 * the mesh topology. This is where topology rules live (which cluster gets
 * which objects); the constructs only know how to draw one object.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { CacertsSecret } from '../constructs/cacerts-secret';
import { ControlPlane } from '../constructs/control-plane';
import { CrossNetworkGateway } from '../constructs/cross-network-gateway';
import { EastWestGateway } from '../constructs/east-west-gateway';
import { IstioOperator } from '../constructs/istio-operator';
import { IstioSystemNamespace } from '../constructs/istio-system-namespace';
import { ClusterModel, isMultiNetwork, MeshModel } from '../model/types';
import { MeshPki } from '../pki/key-store';

/** Props of ClusterChart. */
export interface ClusterChartProps {
  /** The mesh the cluster belongs to. */
  readonly mesh: MeshModel;
  /** The cluster this chart is for; must be one of `mesh.clusters`. */
  readonly cluster: ClusterModel;
  /** CA material of the mesh. */
  readonly pki: MeshPki;
}

/** Everything one cluster needs; its id is the cluster name. */
export class ClusterChart extends Chart {
  /** The mesh. */
  public readonly mesh: MeshModel;
  /** The cluster. */
  public readonly cluster: ClusterModel;
  /** IstioOperator documents, in the order `istioctl install` must take them. */
  public readonly istioctlInputs: readonly IstioOperator[];

  constructor(scope: Construct, props: ClusterChartProps) {
    super(scope, props.cluster.name, { disableResourceNameHashes: true });
    const { mesh, cluster, pki } = props;
    if (!mesh.clusters.includes(cluster)) {
      throw new Error(`cluster "${cluster.name}" is not a cluster of mesh "${mesh.name}"`);
    }
    this.mesh = mesh;
    this.cluster = cluster;
    const multiNetwork = isMultiNetwork(mesh);

    new IstioSystemNamespace(this, 'Namespace', { network: multiNetwork ? cluster.network : undefined });
    new CacertsSecret(this, 'Cacerts', { files: pki.cacerts(cluster.name) });
    const controlPlane = new ControlPlane(this, 'ControlPlane', {
      meshID: mesh.meshID,
      clusterName: cluster.name,
      network: cluster.network,
      hub: mesh.istio.hub,
      tag: mesh.istio.version,
    });
    const inputs = [controlPlane.operator];
    if (multiNetwork) {
      const eastWest = new EastWestGateway(this, 'EastWestGateway', { network: cluster.network });
      inputs.push(eastWest.operator);
      new CrossNetworkGateway(this, 'CrossNetworkGateway');
    }
    this.istioctlInputs = inputs;
  }
}
