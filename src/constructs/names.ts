/**
 * Names, labels and ports that Istio itself defines. They are part of the
 * output contract: Istio finds gateways and networks by these exact values.
 */
import { EASTWEST_RELEASE } from '../model/install-values';

export { ISTIO_SYSTEM, NETWORK_LABEL } from '../model/istio-names';

/** `istio` label value that Gateways select the east-west gateway by. */
export const EASTWEST_SELECTOR = 'eastwestgateway';

/** Name of the east-west gateway component, Deployment and Service: the Helm release name too, so every install names it alike. */
export const EASTWEST_GATEWAY_NAME = EASTWEST_RELEASE;

/** Ports of the east-west gateway Service, as `gen-eastwest-gateway.sh` writes them. */
export const EASTWEST_PORTS = [
  { name: 'status-port', port: 15021, targetPort: 15021 },
  { name: 'tls', port: 15443, targetPort: 15443 },
  { name: 'tls-istiod', port: 15012, targetPort: 15012 },
  { name: 'tls-webhook', port: 15017, targetPort: 15017 },
] as const;

/** Port on which the east-west gateway passes mTLS traffic between networks. */
export const CROSS_NETWORK_PORT = 15443;
