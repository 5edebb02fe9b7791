/**
 * Exposes a primary's istiod to its remote clusters through the east-west
 * gateway: Gateway `istiod-gateway` and VirtualService `istiod-vs`, as
 * Istio's `samples/multicluster/expose-istiod.yaml`, or with a revision its
 * `expose-istiod-rev.yaml.tmpl`.
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/primary-remote_multi-network/#expose-the-control-plane-in-cluster1
 */
import { Construct } from 'constructs';
import { Gateway, GatewaySpecServersTlsMode, VirtualService } from '../../imports/networking.istio.io';
import { describeObject } from './description';
import { EASTWEST_SELECTOR, ISTIO_SYSTEM } from './names';

/** Name of the Gateway that exposes istiod. */
export const ISTIOD_GATEWAY_NAME = 'istiod-gateway';

/** Props of ExposeIstiod. */
export interface ExposeIstiodProps {
  /**
   * Control-plane revision: routes to `istiod-<revision>` by SNI.
   * @default - the default revision: `istiod`, any SNI
   */
  readonly revision?: string;
}

/** Gateway and VirtualService that pass istiod's ports 15012 and 15017 through the east-west gateway. */
export class ExposeIstiod extends Construct {
  /** The Gateway. */
  public readonly gateway: Gateway;
  /** The VirtualService. */
  public readonly virtualService: VirtualService;

  constructor(scope: Construct, id: string, props: ExposeIstiodProps = {}) {
    super(scope, id);
    const rev = props.revision;
    const istiod = rev ? `istiod-${rev}` : 'istiod';
    const host = `${istiod}.${ISTIO_SYSTEM}.svc.cluster.local`;
    const sniHosts = rev ? [`${istiod}.${ISTIO_SYSTEM}.svc`, host] : ['*'];
    const tls = { mode: GatewaySpecServersTlsMode.PASSTHROUGH };

    this.gateway = new Gateway(this, 'Gateway', {
      metadata: { name: ISTIOD_GATEWAY_NAME, namespace: ISTIO_SYSTEM },
      spec: {
        selector: { istio: EASTWEST_SELECTOR },
        servers: [
          { port: { name: 'tls-istiod', number: 15012, protocol: 'tls' }, tls, hosts: ['*'] },
          { port: { name: rev ? 'tls-webhook' : 'tls-istiodwebhook', number: 15017, protocol: 'tls' }, tls, hosts: ['*'] },
        ],
      },
    });
    this.virtualService = new VirtualService(this, 'VirtualService', {
      metadata: { name: rev ? `istiod-vs-${rev}` : 'istiod-vs', namespace: ISTIO_SYSTEM },
      spec: {
        hosts: ['*'],
        gateways: [ISTIOD_GATEWAY_NAME],
        tls: [
          { match: [{ port: 15012, sniHosts }], route: [{ destination: { host, port: { number: 15012 } } }] },
          { match: [{ port: 15017, sniHosts }], route: [{ destination: { host, port: { number: 443 } } }] },
        ],
      },
    });
    describeObject(this.gateway, 'Gateway `istiod-gateway`: passes istiod\'s ports 15012 and 15017 through the east-west gateway for remotes');
    describeObject(this.virtualService, `VirtualService \`${this.virtualService.name}\`: routes that traffic to \`${istiod}\``);
  }
}
