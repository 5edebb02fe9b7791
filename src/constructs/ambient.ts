/**
 * Gateway API objects of an ambient mesh (gateway.networking.k8s.io/v1):
 * the ambient east-west gateway that joins networks over HBONE, and
 * waypoint proxies. Istio's controllers make each one's Deployment and
 * Service from the Gateway, so the Gateway API CRDs must be installed.
 *
 * @see https://istio.io/latest/docs/ambient/install/multicluster/multi-primary_multi-network/
 * @see https://github.com/istio/istio/blob/1.30.3/samples/multicluster/gen-eastwest-gateway.sh
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { GLOBAL_SERVICE_LABEL } from '../model/install-values';
import { describeObject } from './description';
import { EASTWEST_GATEWAY_NAME, ISTIO_SYSTEM, NETWORK_LABEL } from './names';

/** apiVersion of Gateway API Gateways. */
export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';

/**
 * Release of the Gateway API CRDs the README installs where a cluster lacks them: the one Istio 1.30 is built
 * against (`sigs.k8s.io/gateway-api` in its go.mod), experimental channel as Istio's ambient guides install it.
 */
export const GATEWAY_API_RELEASE = 'v1.5.1';

import { EAST_WEST_GATEWAY_CLASS, HBONE_PORT, WAYPOINT_GATEWAY_CLASS } from '../model/istio-names';

/** Props of AmbientEastWestGateway. */
export interface AmbientEastWestGatewayProps {
  /** Network of the cluster (`topology.istio.io/network`). */
  readonly network: string;
  /**
   * Control-plane revision that programs the gateway (`istio.io/rev`), as Istio's docs say to add under a revision.
   * @default - the default revision
   */
  readonly revision?: string;
}

/**
 * The east-west gateway of an ambient cluster: the Gateway that
 * `gen-eastwest-gateway.sh --network <network> --ambient` writes, a `mesh`
 * listener on 15008 taking HBONE and terminating Istio mTLS. Other
 * clusters' istiods use it once its status has an address.
 */
export class AmbientEastWestGateway extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: AmbientEastWestGatewayProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'Gateway',
      metadata: {
        name: EASTWEST_GATEWAY_NAME,
        namespace: ISTIO_SYSTEM,
        labels: { [NETWORK_LABEL]: props.network, ...(props.revision ? { 'istio.io/rev': props.revision } : {}) },
      },
      spec: {
        gatewayClassName: EAST_WEST_GATEWAY_CLASS,
        listeners: [
          {
            name: 'mesh',
            port: HBONE_PORT,
            protocol: 'HBONE',
            tls: { mode: 'Terminate', options: { 'gateway.istio.io/tls-terminate-mode': 'ISTIO_MUTUAL' } },
          },
        ],
      },
    });
    describeObject(this.resource, `Gateway \`${EASTWEST_GATEWAY_NAME}\` (class \`${EAST_WEST_GATEWAY_CLASS}\`): the ambient east-west gateway of network \`${props.network}\` (HBONE on ${HBONE_PORT})`);
  }
}

/** Props of Waypoint. */
export interface WaypointProps {
  /** Namespace of the waypoint; it must exist. */
  readonly namespace: string;
  /** Name of the Gateway. */
  readonly name: string;
  /** What traffic it handles (`istio.io/waypoint-for`). */
  readonly for: 'service' | 'workload' | 'all';
  /**
   * Label its Service `istio.io/global: "true"` (through `spec.infrastructure.labels`), as Istio's multicluster
   * failover steps do, so that every cluster's traffic may use it.
   * @default false
   */
  readonly global?: boolean;
  /**
   * Control-plane revision that runs it (`istio.io/rev`).
   * @default - the default revision
   */
  readonly revision?: string;
}

/**
 * A waypoint proxy, as `istioctl waypoint generate --for <for>` writes it.
 * Istio's ambient multicluster needs the same waypoint, by name, in every
 * cluster; meshgen writes it from one topology entry into each.
 */
export class Waypoint extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: WaypointProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'Gateway',
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: { 'istio.io/waypoint-for': props.for, ...(props.revision ? { 'istio.io/rev': props.revision } : {}) },
      },
      spec: {
        gatewayClassName: WAYPOINT_GATEWAY_CLASS,
        ...(props.global ? { infrastructure: { labels: { [GLOBAL_SERVICE_LABEL]: 'true' } } } : {}),
        listeners: [{ name: 'mesh', port: HBONE_PORT, protocol: 'HBONE' }],
      },
    });
    describeObject(
      this.resource,
      `Gateway \`${props.name}\` (class \`${WAYPOINT_GATEWAY_CLASS}\`): waypoint of namespace \`${props.namespace}\` for ${props.for === 'all' ? 'services and workloads' : `${props.for}s`}${props.global ? ', its Service global' : ''}; the same in every cluster`,
    );
  }
}
