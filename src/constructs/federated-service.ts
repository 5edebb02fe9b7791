/**
 * Multi-mesh federation objects.
 *
 * FederatedServiceImport, in an importing mesh: a ServiceEntry for
 * `<service>.<namespace>.<suffix>` whose endpoints are the exporting
 * clusters' east-west gateways on 15443, a DestinationRule that makes the
 * sidecars use Istio mutual TLS (so the SNI carries the host for the
 * gateway's AUTO_PASSTHROUGH), and optionally a VirtualService that splits
 * calls to the local copy of the service between it and the remote one.
 *
 * FederatedServiceExport, in the exporting mesh: a ServiceEntry for the same
 * host with a workloadSelector, which gives the east-west gateway the
 * service's pods as endpoints for that host (istio/istio#52875).
 *
 * FederationGateway: the Gateway that lets the east-west gateway pass
 * exactly the exported hosts through, and nothing else.
 *
 * @see https://istio.io/latest/docs/reference/config/networking/service-entry/
 */
import { Construct } from 'constructs';
import {
  DestinationRule,
  DestinationRuleSpecTrafficPolicyTlsMode,
  Gateway,
  GatewaySpecServersTlsMode,
  ServiceEntry,
  ServiceEntrySpecLocation,
  ServiceEntrySpecResolution,
  VirtualService,
} from '../../imports/networking.istio.io';
import { ExportPort } from '../model/types';
import { describeObject } from './description';
import { CROSS_NETWORK_PORT, EASTWEST_SELECTOR, ISTIO_SYSTEM } from './names';

/** Port of the east-west gateway that exported hosts are reached on. */

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC']);

/** One gateway an imported service is reached at. */
export interface FederationEndpoint {
  /** East-west gateway address (IP or DNS name). */
  readonly address: string;
  /**
   * The port the gateway serves its mutual-TLS passthrough on at `address` (a NodePort gateway's node port).
   * @default 15443
   */
  readonly port?: number;
  /**
   * Istio locality of the exporting cluster.
   * @default - none: the endpoint has no locality, so failover does not prefer it
   */
  readonly locality?: string;
  /** Name of the exporting cluster. */
  readonly cluster: string;
}

/** Props of FederatedServiceImport. */
export interface FederatedServiceImportProps {
  /** Host the importing mesh calls: `<service>.<namespace>.<suffix>`. */
  readonly host: string;
  /** The exported service's name and namespace in the exporting mesh. */
  readonly service: string;
  readonly namespace: string;
  /** Name of the exporting mesh, for descriptions. */
  readonly from: string;
  readonly ports: readonly ExportPort[];
  readonly endpoints: readonly FederationEndpoint[];
  /** STATIC for IP endpoints, DNS when any endpoint is a name. */
  readonly resolution: 'STATIC' | 'DNS';
  /**
   * Fixed address of the host.
   * @default - none: Istio allocates one
   */
  readonly address?: string;
  /**
   * Split calls to `<service>.<namespace>.svc.cluster.local` between the local copy and this one.
   * @default - no split
   */
  readonly split?: { readonly local: number; readonly remote: number };
}

/** The importing side of a shared service; its objects are `serviceEntry`, `destinationRule` and `split`. */
export class FederatedServiceImport extends Construct {
  public readonly serviceEntry: ServiceEntry;
  public readonly destinationRule: DestinationRule;
  public readonly split?: VirtualService;

  constructor(scope: Construct, id: string, props: FederatedServiceImportProps) {
    super(scope, id);
    this.serviceEntry = new ServiceEntry(this, 'ServiceEntry', {
      metadata: { name: props.host, namespace: ISTIO_SYSTEM },
      spec: {
        hosts: [props.host],
        addresses: props.address ? [props.address] : undefined,
        location: ServiceEntrySpecLocation.MESH_UNDERSCORE_INTERNAL,
        resolution: props.resolution === 'STATIC' ? ServiceEntrySpecResolution.STATIC : ServiceEntrySpecResolution.DNS,
        ports: props.ports.map((p) => ({ number: p.number, name: p.name, protocol: p.protocol })),
        endpoints: props.endpoints.map((e) => ({
          address: e.address,
          // No `network`: split-horizon EDS drops endpoints on networks this mesh has no gateway for
          // (EndpointsByNetworkFilter); the endpoint already is the other mesh's gateway.
          locality: e.locality,
          ports: Object.fromEntries(props.ports.map((p) => [p.name, e.port ?? CROSS_NETWORK_PORT])),
        })),
      },
    });
    describeObject(
      this.serviceEntry,
      `ServiceEntry \`${props.host}\`: \`${props.service}.${props.namespace}\` of mesh \`${props.from}\`, through its east-west gateways`,
    );
    this.destinationRule = new DestinationRule(this, 'DestinationRule', {
      metadata: { name: props.host, namespace: ISTIO_SYSTEM },
      spec: { host: props.host, trafficPolicy: { tls: { mode: DestinationRuleSpecTrafficPolicyTlsMode.ISTIO_UNDERSCORE_MUTUAL } } },
    });
    describeObject(this.destinationRule, `DestinationRule \`${props.host}\`: Istio mutual TLS, so the gateway routes by SNI`);
    if (props.split) {
      const local = `${props.service}.${props.namespace}.svc.cluster.local`;
      const route = [
        { destination: { host: local }, weight: props.split.local },
        { destination: { host: props.host }, weight: props.split.remote },
      ];
      const http = props.ports.every((p) => HTTP_PROTOCOLS.has(p.protocol));
      const name = `${props.service}-${props.namespace}-split`;
      this.split = new VirtualService(this, 'Split', {
        metadata: { name, namespace: ISTIO_SYSTEM },
        spec: { hosts: [local], ...(http ? { http: [{ route }] } : { tcp: [{ route }] }) },
      });
      describeObject(this.split, `VirtualService \`${name}\`: ${props.split.local}% of calls to \`${local}\` stay local, ${props.split.remote}% go to mesh \`${props.from}\``);
    }
  }
}

/** Props of FederatedServiceExport. */
export interface FederatedServiceExportProps {
  readonly host: string;
  readonly service: string;
  readonly namespace: string;
  readonly ports: readonly ExportPort[];
  /** Labels of the service's pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** Importing meshes, for the description. */
  readonly to: readonly string[];
}

/** The exporting side of a shared service: a ServiceEntry in the service's namespace, `resource`. */
export class FederatedServiceExport extends Construct {
  public readonly resource: ServiceEntry;

  constructor(scope: Construct, id: string, props: FederatedServiceExportProps) {
    super(scope, id);
    this.resource = new ServiceEntry(this, 'Resource', {
      metadata: { name: props.host, namespace: props.namespace },
      spec: {
        hosts: [props.host],
        location: ServiceEntrySpecLocation.MESH_UNDERSCORE_INTERNAL,
        resolution: ServiceEntrySpecResolution.STATIC,
        ports: props.ports.map((p) => ({ number: p.number, name: p.name, protocol: p.protocol, targetPort: p.targetPort })),
        workloadSelector: { labels: { ...props.selector } },
      },
    });
    describeObject(
      this.resource,
      `ServiceEntry \`${props.host}\` in \`${props.namespace}\`: the pods of \`${props.service}\` behind that host, for meshes ${props.to.map((t) => `\`${t}\``).join(', ')}`,
    );
  }
}

/** Name of the Gateway that passes exported hosts through. */
export const FEDERATION_GATEWAY_NAME = 'federation-gateway';

/** Props of FederationGateway. */
export interface FederationGatewayProps {
  /** The exported hosts the gateway passes through, and no others. */
  readonly hosts: readonly string[];
}

/** Gateway `federation-gateway`: AUTO_PASSTHROUGH on 15443 for the exported hosts only. */
export class FederationGateway extends Construct {
  public readonly resource: Gateway;

  constructor(scope: Construct, id: string, props: FederationGatewayProps) {
    super(scope, id);
    this.resource = new Gateway(this, 'Resource', {
      metadata: { name: FEDERATION_GATEWAY_NAME, namespace: ISTIO_SYSTEM },
      spec: {
        selector: { istio: EASTWEST_SELECTOR },
        servers: [
          {
            port: { number: CROSS_NETWORK_PORT, name: 'tls', protocol: 'TLS' },
            tls: { mode: GatewaySpecServersTlsMode.AUTO_UNDERSCORE_PASSTHROUGH },
            hosts: [...props.hosts],
          },
        ],
      },
    });
    describeObject(this.resource, 'Gateway `federation-gateway`: lets other meshes reach the exported services, and only those (15443, AUTO_PASSTHROUGH)');
  }
}
