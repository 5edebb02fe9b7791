/**
 * What `meshgen status` reads from a cluster, as an interface: the checks
 * see only these views, so they can be tested with a fake cluster, and the
 * Kubernetes client lives in one module (kube-client.ts).
 *
 * Secret values reach the checks only to be fingerprinted; no view is ever
 * printed as a whole.
 */

import { EASTWEST_RELEASE } from '../model/install-values';
import { ISTIO_SYSTEM } from '../model/istio-names';

/** A Secret as the checks need it: `data` values are base64, as the API returns them. */
export interface SecretView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, string>>;
}

/** A Service as the east-west gateway check needs it. */
export interface ServiceView {
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Load balancer ingress IPs and hostnames. */
  readonly ingress: readonly string[];
  /** Node ports of the Service, by port name. */
  readonly nodePorts: Readonly<Record<string, number>>;
}

/** The `data` of an object in `namespace`. */
export interface NamespacedData {
  readonly namespace: string;
  readonly data: Readonly<Record<string, string>>;
}

/** A Gateway API Gateway (ambient's east-west gateway). */
export interface GatewayView {
  readonly labels: Readonly<Record<string, string>>;
  /** `status.addresses[].value`. */
  readonly addresses: readonly string[];
}

/** A cluster's east-west gateway as the cluster has it, and what to call it in a message. */
export type EastWestGatewayView =
  | { readonly kind: 'Gateway'; readonly from: string; readonly gateway: GatewayView }
  | { readonly kind: 'Service'; readonly from: string; readonly service: ServiceView };

/**
 * The east-west gateway of a cluster, as `status` checks it and `discover`
 * reads its address: in an ambient mesh its Gateway API Gateway when the
 * cluster has one, else (and in a sidecar mesh) its Service; undefined when
 * there is neither.
 */
export async function readEastWestGateway(reader: ClusterReader, ambient: boolean): Promise<EastWestGatewayView | undefined> {
  if (ambient) {
    const gateway = await reader.gateway(ISTIO_SYSTEM, EASTWEST_RELEASE);
    if (gateway) return { kind: 'Gateway', from: `Gateway ${ISTIO_SYSTEM}/${EASTWEST_RELEASE}`, gateway };
  }
  const service = await reader.service(ISTIO_SYSTEM, EASTWEST_RELEASE);
  return service ? { kind: 'Service', from: `Service ${ISTIO_SYSTEM}/${EASTWEST_RELEASE}`, service } : undefined;
}

/** A node's addresses, for a NodePort gateway. */
export interface NodeView {
  readonly name: string;
  /** The node's Ready condition is True. */
  readonly ready: boolean;
  /** `status.addresses` of type ExternalIP. */
  readonly externalIPs: readonly string[];
  /** `status.addresses` of type InternalIP. */
  readonly internalIPs: readonly string[];
}

/** The outcome of a SelfSubjectAccessReview made with a remote secret's credential. */
export type AccessResult =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'denied'; readonly what: string }
  | { readonly kind: 'unauthenticated'; readonly status: number }
  | { readonly kind: 'unreachable'; readonly reason: string }
  | { readonly kind: 'unusable'; readonly reason: string };

/**
 * Read-only access to one cluster through the user's context. Every method
 * resolves to `undefined` for an object that does not exist, and rejects
 * with a ClusterAccessError for anything else.
 */
export interface ClusterReader {
  secret(namespace: string, name: string): Promise<SecretView | undefined>;
  /** Secrets of `namespace` that carry `label` = `value`. */
  secretsLabelled(namespace: string, label: string, value: string): Promise<SecretView[]>;
  /** A ConfigMap's `data`. */
  configMap(namespace: string, name: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** Every ConfigMap named `name`, in any namespace (istiod copies its root into each one). */
  configMapsNamed(name: string): Promise<readonly NamespacedData[]>;
  /** The environment of the first container of a Deployment (literal values only). */
  deploymentEnv(namespace: string, name: string): Promise<Readonly<Record<string, string>> | undefined>;
  namespaceLabels(name: string): Promise<Readonly<Record<string, string>> | undefined>;
  service(namespace: string, name: string): Promise<ServiceView | undefined>;
  gateway(namespace: string, name: string): Promise<GatewayView | undefined>;
  /** The cluster's nodes (for a NodePort gateway's address). */
  nodes(): Promise<readonly NodeView[]>;
  /**
   * Whether the kubeconfig of a remote secret may list pods and services cluster-wide, asked of
   * the server it names with its own credential. Never runs a plugin or reads a local file.
   */
  remoteAccess(kubeconfig: string): Promise<AccessResult>;
}

/** Why a cluster could not be read: message and fix hold no value from the cluster's answer. */
export class ClusterAccessError extends Error {
  constructor(
    message: string,
    /** What to do about it. */
    public readonly fix: string,
    /** True when the cluster did not answer at all (network, time limit, credentials); false when it refused one request. */
    public readonly unreachable: boolean,
  ) {
    super(message);
  }
}
