/**
 * The Gateway that exposes every service of the cluster to the other
 * networks through the east-west gateway, as Istio's
 * `samples/multicluster/expose-services.yaml`.
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#expose-services-in-cluster1
 */
import { Construct } from 'constructs';
import { Gateway, GatewaySpecServersTlsMode } from '../../imports/networking.istio.io';
import { CROSS_NETWORK_PORT, EASTWEST_SELECTOR, ISTIO_SYSTEM } from './names';
import { describeObject } from './description';

/** Name of the cross-network Gateway. */
export const CROSS_NETWORK_GATEWAY_NAME = 'cross-network-gateway';

/** Gateway `cross-network-gateway`: AUTO_PASSTHROUGH for `*.local` on 15443. */
export class CrossNetworkGateway extends Construct {
  /** Gateway name. */
  public readonly name = CROSS_NETWORK_GATEWAY_NAME;
  /** The underlying object. */
  public readonly resource: Gateway;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.resource = new Gateway(this, 'Resource', {
      metadata: { name: this.name, namespace: ISTIO_SYSTEM },
      spec: {
        selector: { istio: EASTWEST_SELECTOR },
        servers: [
          {
            port: { number: CROSS_NETWORK_PORT, name: 'tls', protocol: 'TLS' },
            tls: { mode: GatewaySpecServersTlsMode.AUTO_UNDERSCORE_PASSTHROUGH },
            hosts: ['*.local'],
          },
        ],
      },
    });
    describeObject(this.resource, 'Gateway `cross-network-gateway`: exposes this cluster\'s services to other networks (15443, AUTO_PASSTHROUGH)');
  }
}
