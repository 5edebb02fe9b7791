/**
 * The control plane of one primary cluster: the IstioOperator that
 * `istioctl install` turns into istiod, carrying the mesh ID, the cluster
 * name and the network.
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#configure-cluster1-as-a-primary
 * @see https://istio.io/latest/docs/setup/install/multicluster/primary-remote_multi-network/#configure-cluster1-as-a-primary
 */
import { Construct } from 'constructs';
import { IstioOperator, IstioReleaseProps } from './istio-operator';
import { describeObject } from './description';
import { PrimaryIdentity, primaryGlobalValues } from '../model/install-values';

/** metadata.name of the control-plane IstioOperator. */
export const CONTROL_PLANE_NAME = 'control-plane';

/** Props of ControlPlane. */
export interface ControlPlaneProps extends IstioReleaseProps, PrimaryIdentity {
  /**
   * spec.profile: `ambient` in an ambient mesh (istiod, the CNI agent and ztunnel; `values.global` reaches ztunnel too).
   * @default - the default profile
   */
  readonly profile?: string;
  /**
   * spec.meshConfig (trust domain, aliases, extra roots, DNS proxying).
   * @default - none
   */
  readonly meshConfig?: Record<string, unknown>;
  /**
   * values.pilot.env: istiod's environment (e.g. `ISTIO_MULTIROOT_MESH` for extra trusted roots).
   * @default - none
   */
  readonly pilotEnv?: Record<string, string>;
}

/** The control-plane IstioOperator; the document is `operator.resource`. */
export class ControlPlane extends Construct {
  /** The IstioOperator. */
  public readonly operator: IstioOperator;

  constructor(scope: Construct, id: string, props: ControlPlaneProps) {
    super(scope, id);
    this.operator = new IstioOperator(this, 'Operator', {
      name: CONTROL_PLANE_NAME,
      spec: {
        profile: props.profile,
        hub: props.hub,
        tag: props.tag,
        revision: props.revision,
        meshConfig: props.meshConfig && Object.keys(props.meshConfig).length > 0 ? props.meshConfig : undefined,
        values: {
          global: primaryGlobalValues(props),
          pilot: props.pilotEnv ? { env: props.pilotEnv } : undefined,
        },
      },
    });
    describeObject(this.operator.resource, props.profile === 'ambient' ? 'the control plane (istiod), the CNI agent and ztunnel (ambient profile)' : 'the control plane (istiod)');
  }
}
