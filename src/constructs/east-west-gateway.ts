/**
 * The east-west gateway of one cluster: the IstioOperator that Istio's
 * `samples/multicluster/gen-eastwest-gateway.sh --network <network>` prints,
 * field for field. Traffic from other networks enters the cluster here.
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#install-the-east-west-gateway-in-cluster1
 */
import { Construct } from 'constructs';
import { GatewayServiceType } from '../model/types';
import { IstioOperator } from './istio-operator';
import { EASTWEST_GATEWAY_NAME, EASTWEST_PORTS, EASTWEST_SELECTOR, NETWORK_LABEL } from './names';
import { describeObject } from './description';

/** metadata.name of the east-west gateway IstioOperator. */
export const EASTWEST_OPERATOR_NAME = 'eastwest';

/** Annotation that makes istiod use node addresses for a NodePort multi-network gateway. */
export { NODE_SELECTOR_ANNOTATION } from '../model/install-values';
import { eastWestServiceAnnotations } from '../model/install-values';

/** Props of EastWestGateway. */
export interface EastWestGatewayProps {
  /** Network the gateway serves: its label, its requested network view and values.global.network. */
  readonly network: string;
  /**
   * spec.revision, as `gen-eastwest-gateway.sh --revision` sets it.
   * @default - "" (the default revision)
   */
  readonly revision?: string;
  /**
   * Service type.
   * @default 'LoadBalancer'
   */
  readonly serviceType?: GatewayServiceType;
  /**
   * Extra annotations of the gateway Service. A NodePort gateway also gets
   * `traffic.istio.io/nodeSelector: {}` unless it is given here, so that
   * istiod advertises the nodes' addresses to other networks.
   * @default - none
   */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
}

/** The east-west gateway IstioOperator; the document is `operator.resource`. */
export class EastWestGateway extends Construct {
  /** The `istio` label Gateways select it by. */
  public readonly selector = { istio: EASTWEST_SELECTOR };
  /** The IstioOperator. */
  public readonly operator: IstioOperator;

  constructor(scope: Construct, id: string, props: EastWestGatewayProps) {
    super(scope, id);
    const nodePort = props.serviceType === 'NodePort';
    const annotations = eastWestServiceAnnotations(props.serviceType, props.serviceAnnotations);
    this.operator = new IstioOperator(this, 'Operator', {
      name: EASTWEST_OPERATOR_NAME,
      spec: {
        revision: props.revision ?? '',
        profile: 'empty',
        components: {
          ingressGateways: [
            {
              name: EASTWEST_GATEWAY_NAME,
              label: {
                istio: EASTWEST_SELECTOR,
                app: EASTWEST_GATEWAY_NAME,
                [NETWORK_LABEL]: props.network,
              },
              enabled: true,
              k8s: {
                env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: props.network }],
                service: { type: nodePort ? 'NodePort' : undefined, ports: EASTWEST_PORTS.map((p) => ({ ...p })) },
                serviceAnnotations: Object.keys(annotations).length > 0 ? annotations : undefined,
              },
            },
          ],
        },
        values: {
          gateways: { 'istio-ingressgateway': { injectionTemplate: 'gateway' } },
          global: { network: props.network },
        },
      },
    });
    describeObject(this.operator.resource, `the east-west gateway of network \`${props.network}\``);
  }
}
