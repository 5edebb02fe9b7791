/**
 * The east-west gateway of one cluster: the IstioOperator that Istio's
 * `samples/multicluster/gen-eastwest-gateway.sh --network <network>` prints,
 * field for field. Traffic from other networks enters the cluster here.
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#install-the-east-west-gateway-in-cluster1
 */
import { Construct } from 'constructs';
import { IstioOperator } from './istio-operator';
import { EASTWEST_GATEWAY_NAME, EASTWEST_PORTS, EASTWEST_SELECTOR, NETWORK_LABEL } from './names';
import { describeObject } from './description';

/** metadata.name of the east-west gateway IstioOperator. */
export const EASTWEST_OPERATOR_NAME = 'eastwest';

/** Props of EastWestGateway. */
export interface EastWestGatewayProps {
  /** Network the gateway serves: its label, its requested network view and values.global.network. */
  readonly network: string;
}

/** The east-west gateway IstioOperator; the document is `operator.resource`. */
export class EastWestGateway extends Construct {
  /** The `istio` label Gateways select it by. */
  public readonly selector = { istio: EASTWEST_SELECTOR };
  /** The IstioOperator. */
  public readonly operator: IstioOperator;

  constructor(scope: Construct, id: string, props: EastWestGatewayProps) {
    super(scope, id);
    this.operator = new IstioOperator(this, 'Operator', {
      name: EASTWEST_OPERATOR_NAME,
      spec: {
        revision: '',
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
                service: { ports: EASTWEST_PORTS.map((p) => ({ ...p })) },
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
