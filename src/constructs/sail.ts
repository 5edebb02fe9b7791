/**
 * The Sail operator's `Istio` resource (sailoperator.io/v1): the control
 * plane of one cluster, with the same Helm values the istiod chart takes.
 * Sail names the revision after the resource.
 *
 * @see https://github.com/istio-ecosystem/sail-operator/blob/main/docs/README.md
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { describeObject } from './description';
import { ISTIO_SYSTEM } from './names';

/** Props of SailIstio. */
export interface SailIstioProps {
  /** Resource name: `default`, or the revision. */
  readonly name: string;
  /** Istio release, without `v`. */
  readonly version: string;
  /**
   * Profile, `remote` on a remote cluster.
   * @default - the default profile
   */
  readonly profile?: string;
  /** Helm values of the istiod chart. */
  readonly values: Record<string, unknown>;
}

/** A Sail `Istio` resource. */
export class SailIstio extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: SailIstioProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'sailoperator.io/v1',
      kind: 'Istio',
      metadata: { name: props.name },
      spec: { version: `v${props.version}`, namespace: ISTIO_SYSTEM, profile: props.profile, values: props.values },
    });
    describeObject(this.resource, `Istio \`${props.name}\` (Sail operator): ${props.profile === 'remote' ? 'the remote profile' : 'the control plane'}`);
  }
}
