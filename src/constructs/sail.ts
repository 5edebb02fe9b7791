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
import { k8s } from './k8s';
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

/** Namespace of Istio's CNI node agent, as the Sail operator's docs and defaults name it. */
export const ISTIO_CNI_NAMESPACE = 'istio-cni';

/** Props of SailIstioCni. */
export interface SailIstioCniProps {
  /** Istio release, without `v`: the same as the control plane's. */
  readonly version: string;
  /**
   * Profile: `ambient` in an ambient mesh, which turns on the agent's ambient redirection.
   * @default - the default profile
   */
  readonly profile?: string;
}

/**
 * The Sail operator's `IstioCNI` resource (sailoperator.io/v1), cluster
 * scoped and named `default` as Sail requires: Istio's CNI node agent in
 * namespace `istio-cni`. On OpenShift the operator does not make an
 * `Istio` Ready without it (sail-operator `pkg/revision/dependency.go`).
 *
 * @see https://github.com/istio-ecosystem/sail-operator/blob/main/docs/README.md#istiocni-resource
 */
export class SailIstioCni extends Construct {
  public readonly resource: ApiObject;
  /** The agent's namespace, which the operator installs into but does not make. */
  public readonly namespace: k8s.KubeNamespace;

  constructor(scope: Construct, id: string, props: SailIstioCniProps) {
    super(scope, id);
    const why = props.profile === 'ambient' ? 'with the ambient profile' : 'which OpenShift needs';
    ({ namespace: this.namespace, resource: this.resource } = sailNodeAgent(this, {
      kind: 'IstioCNI',
      namespace: ISTIO_CNI_NAMESPACE,
      what: "Istio's CNI node agent",
      spec: { version: `v${props.version}`, namespace: ISTIO_CNI_NAMESPACE, ...(props.profile ? { profile: props.profile } : {}) },
      description: `Istio's CNI node agent in namespace \`${ISTIO_CNI_NAMESPACE}\`, ${why}`,
    }));
  }
}

/** Namespace of ztunnel under the Sail operator, as its docs and defaults name it; istiod must trust it (`trustedZtunnelNamespace`). */
export const SAIL_ZTUNNEL_NAMESPACE = 'ztunnel';

/** Props of SailZTunnel. */
export interface SailZTunnelProps {
  /** Istio release, without `v`: the same as the control plane's. */
  readonly version: string;
  /** Values of the ztunnel chart, under `values.ztunnel` (cluster name and network). */
  readonly values: Record<string, unknown>;
}

/**
 * The Sail operator's `ZTunnel` resource (sailoperator.io/v1), cluster
 * scoped and named `default`: ztunnel on every node, in namespace
 * `ztunnel`, with the cluster's name and network, as the Sail operator's
 * ambient multicluster guide writes it.
 *
 * @see https://github.com/istio-ecosystem/sail-operator/blob/1.30.3/docs/deployment-models/multicluster.adoc
 */
export class SailZTunnel extends Construct {
  public readonly resource: ApiObject;
  /** ztunnel's namespace, which the operator installs into but does not make. */
  public readonly namespace: k8s.KubeNamespace;

  constructor(scope: Construct, id: string, props: SailZTunnelProps) {
    super(scope, id);
    ({ namespace: this.namespace, resource: this.resource } = sailNodeAgent(this, {
      kind: 'ZTunnel',
      namespace: SAIL_ZTUNNEL_NAMESPACE,
      what: 'ztunnel',
      spec: { version: `v${props.version}`, namespace: SAIL_ZTUNNEL_NAMESPACE, values: { ztunnel: props.values } },
      description: `ztunnel on every node, in namespace \`${SAIL_ZTUNNEL_NAMESPACE}\``,
    }));
  }
}

/**
 * A cluster-scoped Sail resource named `default` that runs a node agent
 * (IstioCNI, ZTunnel) in a namespace of its own, with that namespace, which
 * the operator installs into but does not make.
 */
function sailNodeAgent(
  scope: Construct,
  agent: { readonly kind: string; readonly namespace: string; readonly what: string; readonly spec: Record<string, unknown>; readonly description: string },
): { namespace: k8s.KubeNamespace; resource: ApiObject } {
  const namespace = new k8s.KubeNamespace(scope, 'Namespace', { metadata: { name: agent.namespace } });
  describeObject(namespace, `Namespace \`${agent.namespace}\`: where the Sail operator runs ${agent.what}`);
  const resource = new ApiObject(scope, 'Resource', { apiVersion: 'sailoperator.io/v1', kind: agent.kind, metadata: { name: 'default' }, spec: agent.spec });
  describeObject(resource, `${agent.kind} \`default\` (Sail operator): ${agent.description}`);
  return { namespace, resource };
}
