/**
 * Names that Istio itself defines and that every layer refers to: the
 * control plane's namespace, the network label, the reader service
 * account. They are part of the output contract. Constructs re-export them
 * (constructs/names.ts); the credentials and status layers read them here,
 * so that they do not depend on the constructs.
 */

/** Namespace of the control plane and its secrets. */
export const ISTIO_SYSTEM = 'istio-system';

/** Label (namespace, gateway pods and Service) naming a cluster's network. */
export const NETWORK_LABEL = 'topology.istio.io/network';

/** Istio's reader service account, whose token other clusters' istiods read this cluster with. */
export const READER_SERVICE_ACCOUNT = 'istio-reader-service-account';

/** Name of its token Secret, as `istioctl create-remote-secret` names it. */
export const READER_TOKEN_SECRET = 'istio-reader-service-account-istio-remote-secret-token';

/** Name of the Secret istiod reads its CA from at start. */
export const CACERTS_SECRET_NAME = 'cacerts';

/** Label that makes istiod read a Secret as a remote secret. */
export const MULTICLUSTER_LABEL = 'istio/multiCluster';

/** Name of the remote secret of `cluster`, as `istioctl create-remote-secret` names it. */
export function remoteSecretName(cluster: string): string {
  return `istio-remote-secret-${cluster}`;
}

/** GatewayClass of ambient east-west gateways, which istiod serves only with AMBIENT_ENABLE_MULTI_NETWORK. */
export const EAST_WEST_GATEWAY_CLASS = 'istio-east-west';

/** GatewayClass of waypoint proxies. */
export const WAYPOINT_GATEWAY_CLASS = 'istio-waypoint';

/** Port of HBONE, the tunnel ambient's traffic between nodes and networks travels in. */
export const HBONE_PORT = 15008;
