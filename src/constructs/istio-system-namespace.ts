/**
 * The `istio-system` namespace, labelled with the cluster's network when
 * the mesh spans several networks.
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#set-the-default-network-for-cluster1
 */
import { k8s } from './k8s';
import { Construct } from 'constructs';
import { ISTIO_SYSTEM, NETWORK_LABEL } from './names';
import { describeObject } from './description';

/** Props of IstioSystemNamespace. */
export interface IstioSystemNamespaceProps {
  /**
   * Network of the cluster, set as the `topology.istio.io/network` label.
   * @default - no network label (single-network mesh)
   */
  readonly network?: string;
  /**
   * For a remote cluster: the primary whose istiod manages it, set as the
   * `topology.istio.io/controlPlaneClusters` annotation.
   * @default - no annotation
   */
  readonly controlPlaneClusters?: string;
}

/** Annotation naming the clusters whose control plane manages a remote. */
export const CONTROL_PLANE_CLUSTERS_ANNOTATION = 'topology.istio.io/controlPlaneClusters';

/** Namespace `istio-system`; the low-level object is the child `Resource`. */
export class IstioSystemNamespace extends Construct {
  /** Namespace name. */
  public readonly name = ISTIO_SYSTEM;
  /** Network label value, if any. */
  public readonly network?: string;
  /** The underlying object. */
  public readonly resource: k8s.KubeNamespace;

  constructor(scope: Construct, id: string, props: IstioSystemNamespaceProps = {}) {
    super(scope, id);
    this.network = props.network;
    this.resource = new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name: this.name,
        labels: props.network ? { [NETWORK_LABEL]: props.network } : undefined,
        annotations: props.controlPlaneClusters ? { [CONTROL_PLANE_CLUSTERS_ANNOTATION]: props.controlPlaneClusters } : undefined,
      },
    });
    const details = [
      props.network ? `labelled with network \`${props.network}\`` : undefined,
      props.controlPlaneClusters ? `managed by the control plane of \`${props.controlPlaneClusters}\`` : undefined,
    ].filter(Boolean);
    describeObject(this.resource, ['Namespace `istio-system`', ...details].join(', '));
  }
}
