/**
 * The install of a remote cluster: the IstioOperator with `profile: remote`
 * that points the cluster at its primary's istiod. It installs no istiod;
 * sidecar injection and discovery are served by the primary through its
 * east-west gateway.
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/primary-remote_multi-network/#configure-cluster2-as-a-remote
 */
import { Construct } from 'constructs';
import { describeObject } from './description';
import { IstioOperator, IstioReleaseProps } from './istio-operator';

/** metadata.name of the remote IstioOperator. */
export const REMOTE_OPERATOR_NAME = 'remote';

/** Props of RemoteControlPlane. */
export interface RemoteControlPlaneProps extends IstioReleaseProps {
  /** values.istiodRemote.injectionPath: `/inject/cluster/<cluster>/net/<network>`. */
  readonly injectionPath: string;
  /** values.global.remotePilotAddress: the primary's east-west gateway address. */
  readonly remotePilotAddress: string;
  /** Name of the primary, for the description. */
  readonly primary: string;
}

/** The remote profile IstioOperator; the document is `operator.resource`. */
export class RemoteControlPlane extends Construct {
  /** The IstioOperator. */
  public readonly operator: IstioOperator;

  constructor(scope: Construct, id: string, props: RemoteControlPlaneProps) {
    super(scope, id);
    this.operator = new IstioOperator(this, 'Operator', {
      name: REMOTE_OPERATOR_NAME,
      spec: {
        profile: 'remote',
        hub: props.hub,
        tag: props.tag,
        revision: props.revision,
        values: {
          istiodRemote: { injectionPath: props.injectionPath },
          global: { remotePilotAddress: props.remotePilotAddress },
        },
      },
    });
    describeObject(this.operator.resource, `the remote profile: injection and discovery served by the istiod of \`${props.primary}\``);
  }
}
