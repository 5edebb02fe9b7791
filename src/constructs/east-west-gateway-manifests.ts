/**
 * The east-west gateway of one cluster as plain Kubernetes manifests, so that
 * `kubectl apply -k` installs it once istiod runs, without istioctl. These are
 * the objects Istio's `gateway` Helm chart renders for
 * `helm install istio-eastwestgateway istio/gateway -n istio-system
 * --set name=istio-eastwestgateway --set networkGateway=<network>` (Istio 1.30):
 * a ServiceAccount, a Role and RoleBinding that read Secrets, a Deployment
 * whose pod istiod's injector fills in with its `gateway` template, and the
 * Service. It is the same gateway as the IstioOperator of EastWestGateway.
 *
 * The shapes come from istio/istio, `manifests/charts/gateway/`:
 * - `templates/deployment.yaml` at 0098d99f8e43fe516aaac5a84a131b4ce3c8b9d1;
 * - `templates/service.yaml`, `role.yaml` and `serviceaccount.yaml` at
 *   1471fbadecd51d34c16cca8308f6e9776335b817;
 * - `templates/_helpers.tpl` at 03404d0fbc82b9f3d5a19e516ab4c1a9ed87909d (1.30:
 *   the `gateway.networkGatewayPort` helper, which adds `protocol: TCP`);
 * - `templates/zzz_profile.yaml` at 3da4ee6fdd5ad58af098c181b531328bd9c94e0e (`istio.labels`);
 * - `files/default-values.gen.yaml` at 1f1ff52c7e8e3da67728759620ecd48176ad010a;
 * - the 1.30 `networkGatewayPorts` defaults as istio/istio#59731 describes them.
 *
 * Left out on purpose:
 * - labels that only Helm's release machinery sets (`app.kubernetes.io/managed-by: Helm`,
 *   `app.kubernetes.io/instance`, `app.kubernetes.io/version`, `helm.sh/chart`): kubectl,
 *   not Helm, manages these objects;
 * - the `annotations: {}` the chart writes when no annotations are set (cdk8s drops empty maps);
 * - the HorizontalPodAutoscaler (on by default in the chart: 1 to 5 replicas at 80% CPU), which
 *   needs autoscaling/v2 (v2beta2 before 1.23); without it the Deployment runs one replica,
 *   as the chart's Deployment has no `replicas` either way;
 * - what the chart renders only on non-default values: PodDisruptionBudget, NetworkPolicy,
 *   the custom bootstrap ConfigMap, VerticalPodAutoscaler.
 *
 * @see https://istio.io/latest/docs/setup/additional-setup/gateway/#deploying-a-gateway
 * @see https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/#install-the-east-west-gateway-in-cluster1
 */
import { k8s } from './k8s';
import { Construct } from 'constructs';
import { GatewayServiceType } from '../model/types';
import { describeObject } from './description';
import { eastWestServiceAnnotations } from '../model/install-values';
import { EASTWEST_GATEWAY_NAME, EASTWEST_PORTS, EASTWEST_SELECTOR, ISTIO_SYSTEM, NETWORK_LABEL } from './names';

/**
 * The Service ports the chart renders with `networkGateway` set: the
 * `networkGatewayPorts` defaults of Istio 1.30, in the template's order.
 */
export const NETWORK_GATEWAY_SERVICE_PORTS = EASTWEST_PORTS.map((p) => ({ ...p, protocol: 'TCP' as const }));

/** Pod annotations of the chart's defaults: Prometheus scraping and the `gateway` injection template. */
export const GATEWAY_POD_ANNOTATIONS: Readonly<Record<string, string>> = {
  'prometheus.io/port': '15020',
  'prometheus.io/scrape': 'true',
  'prometheus.io/path': '/stats/prometheus',
  'inject.istio.io/templates': 'gateway',
  'sidecar.istio.io/inject': 'true',
};

/** Props of EastWestGatewayManifests. */
export interface EastWestGatewayManifestsProps {
  /** Network the gateway serves (`networkGateway`): its label and its requested network view. */
  readonly network: string;
  /**
   * Control plane revision that injects the gateway: the pod label `istio.io/rev`.
   * @default - none: the default revision injects it
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

/** The pod spec of the gateway Deployment, as the gateway chart renders it for an east-west gateway of `network`. */
function gatewayPodSpec(name: string, network: string): k8s.PodSpec {
  return {
    serviceAccountName: name,
    // Lets the non-root proxy bind ports below 1024; safe since Kubernetes 1.22.
    securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
    containers: [
      {
        name: 'istio-proxy',
        // istiod's injector replaces `auto` with the proxy image of its revision.
        image: 'auto',
        securityContext: {
          capabilities: { drop: ['ALL'] },
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          runAsUser: 1337,
          runAsGroup: 1337,
          runAsNonRoot: true,
        },
        env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: network }],
        ports: [{ containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' }],
        resources: {
          requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') },
          limits: { cpu: k8s.Quantity.fromString('2000m'), memory: k8s.Quantity.fromString('1024Mi') },
        },
      },
    ],
    terminationGracePeriodSeconds: 30,
  };
}

/**
 * ServiceAccount, Role, RoleBinding, Deployment and Service
 * `istio-eastwestgateway` in `istio-system`, as Istio's `gateway` chart
 * renders them for a network gateway. Apply them after istiod runs: its
 * injector replaces the pod's `image: auto`.
 */
export class EastWestGatewayManifests extends Construct {
  /** Name of every object, as `--set name=istio-eastwestgateway` makes it. */
  public readonly name = EASTWEST_GATEWAY_NAME;
  /** The labels the Service and the Deployment select the pods by; Gateways select by `istio`. */
  public readonly selector: Readonly<Record<string, string>> = { app: EASTWEST_GATEWAY_NAME, istio: EASTWEST_SELECTOR };
  /** The network the gateway serves. */
  public readonly network: string;
  /** The revision that injects the gateway, if any. */
  public readonly revision?: string;
  /** The Service type. */
  public readonly serviceType: GatewayServiceType;
  /** The ServiceAccount the gateway pods run as. */
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** The Role that lets the gateway read TLS Secrets of its namespace. */
  public readonly role: k8s.KubeRole;
  /** The RoleBinding of the Role to the ServiceAccount. */
  public readonly roleBinding: k8s.KubeRoleBinding;
  /** The Deployment of the gateway pods. */
  public readonly deployment: k8s.KubeDeployment;
  /** The Service that other networks reach the gateway through. */
  public readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: EastWestGatewayManifestsProps) {
    super(scope, id);
    if (props.network === '') {
      // The chart renders an ordinary ingress gateway (ports 80/443) when networkGateway is empty.
      throw new Error('EastWestGatewayManifests: network must not be empty: an east-west gateway serves one network');
    }
    this.network = props.network;
    this.revision = props.revision === '' ? undefined : props.revision;
    this.serviceType = props.serviceType ?? 'LoadBalancer';

    // `gateway.labels`: just the selector labels, as no `labels` value is set. Fresh objects each time.
    const labels = (): Record<string, string> => ({ ...this.selector });
    const metadata = () => ({ name: this.name, namespace: ISTIO_SYSTEM, labels: labels() });

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: metadata() });
    describeObject(this.serviceAccount, `ServiceAccount \`${this.name}\`: the identity of the east-west gateway pods of network \`${this.network}\``);

    this.role = new k8s.KubeRole(this, 'Role', {
      metadata: metadata(),
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }],
    });
    describeObject(this.role, `Role \`${this.name}\`: lets the east-west gateway read Secrets in \`${ISTIO_SYSTEM}\``);

    this.roleBinding = new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: metadata(),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      // No namespace, as in the chart: a RoleBinding's ServiceAccount subject defaults to the binding's namespace.
      subjects: [{ kind: 'ServiceAccount', name: this.name }],
    });
    describeObject(this.roleBinding, `RoleBinding \`${this.name}\`: grants the Role to the gateway's ServiceAccount`);

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: {
        ...metadata(),
        labels: { 'app.kubernetes.io/name': this.name, 'app.kubernetes.io/part-of': 'istio', ...labels() },
      },
      spec: {
        selector: { matchLabels: { ...this.selector } },
        template: {
          metadata: {
            annotations: { ...GATEWAY_POD_ANNOTATIONS },
            labels: {
              'sidecar.istio.io/inject': 'true',
              ...(this.revision !== undefined ? { 'istio.io/rev': this.revision } : {}),
              ...this.selector,
              'app.kubernetes.io/name': this.name,
              'app.kubernetes.io/part-of': 'istio',
              [NETWORK_LABEL]: this.network,
            },
          },
          spec: gatewayPodSpec(this.name, this.network),
        },
      },
    });
    describeObject(this.deployment, `Deployment \`${this.name}\`: the east-west gateway pods of network \`${this.network}\`, injected by istiod`);

    const annotations = eastWestServiceAnnotations(this.serviceType, props.serviceAnnotations);
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: {
        ...metadata(),
        labels: { ...labels(), [NETWORK_LABEL]: this.network },
        annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
      },
      spec: {
        type: this.serviceType,
        ports: NETWORK_GATEWAY_SERVICE_PORTS.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: k8s.IntOrString.fromNumber(p.targetPort),
          protocol: p.protocol,
        })),
        selector: { ...this.selector },
      },
    });
    describeObject(this.service, `Service \`${this.name}\`: the ${this.serviceType} address other networks reach network \`${this.network}\` at`);
  }
}
