/**
 * Istio's sample apps for checking a multicluster mesh, as Istio's
 * "Verify the installation" guide deploys them: namespace `sample` labelled
 * for injection, `helloworld` (Service and one version's Deployment per
 * cluster, v1 and v2 in different clusters) and `sleep` (a curl client).
 *
 * @see https://istio.io/latest/docs/setup/install/multicluster/verify/
 */
import { k8s } from './k8s';
import { Construct } from 'constructs';
import { describeObject } from './description';
import { GLOBAL_SERVICE_LABEL } from '../model/install-values';

/** Namespace of the samples. */
export const SAMPLE_NAMESPACE = 'sample';

/** Props of SampleNamespace. */
export interface SampleNamespaceProps {
  /**
   * Control-plane revision to inject from (`istio.io/rev`).
   * @default - the default revision (`istio-injection: enabled`)
   */
  readonly revision?: string;
  /**
   * Ambient: the namespace joins the ambient data plane (`istio.io/dataplane-mode: ambient`) instead of taking sidecars.
   * @default false
   */
  readonly ambient?: boolean;
}

/** Namespace `sample`, labelled for sidecar injection, or for the ambient data plane. */
export class SampleNamespace extends Construct {
  public readonly resource: k8s.KubeNamespace;

  constructor(scope: Construct, id: string, props: SampleNamespaceProps = {}) {
    super(scope, id);
    if (props.ambient) {
      this.resource = new k8s.KubeNamespace(this, 'Resource', { metadata: { name: SAMPLE_NAMESPACE, labels: { 'istio.io/dataplane-mode': 'ambient' } } });
      describeObject(this.resource, `Namespace \`${SAMPLE_NAMESPACE}\`, in the ambient data plane`);
      return;
    }
    const labels: Record<string, string> = props.revision ? { 'istio.io/rev': props.revision } : { 'istio-injection': 'enabled' };
    this.resource = new k8s.KubeNamespace(this, 'Resource', { metadata: { name: SAMPLE_NAMESPACE, labels } });
    describeObject(this.resource, `Namespace \`${SAMPLE_NAMESPACE}\`, labelled for sidecar injection`);
  }
}

/** Props of HelloWorld. */
export interface HelloWorldProps {
  /** Which version runs in this cluster. */
  readonly version: 'v1' | 'v2';
  /**
   * Label the Service `istio.io/global: "true"`: in an ambient mesh a Service is reached from other clusters only then.
   * @default false
   */
  readonly global?: boolean;
}

/** The helloworld Service and the Deployment of one version. */
export class HelloWorld extends Construct {
  constructor(scope: Construct, id: string, props: HelloWorldProps) {
    super(scope, id);
    const service = new k8s.KubeService(this, 'Service', {
      metadata: {
        name: 'helloworld',
        namespace: SAMPLE_NAMESPACE,
        labels: { app: 'helloworld', service: 'helloworld', ...(props.global ? { [GLOBAL_SERVICE_LABEL]: 'true' } : {}) },
      },
      spec: { ports: [{ port: 5000, name: 'http' }], selector: { app: 'helloworld' } },
    });
    describeObject(service, props.global ? 'Service `helloworld` (sample), global: reached from every cluster' : 'Service `helloworld` (sample)');
    const labels = { app: 'helloworld', version: props.version };
    const deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: `helloworld-${props.version}`, namespace: SAMPLE_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'helloworld',
                image: `docker.io/istio/examples-helloworld-${props.version}:1.0`,
                resources: { requests: { cpu: k8s.Quantity.fromString('100m') } },
                imagePullPolicy: 'IfNotPresent',
                ports: [{ containerPort: 5000 }],
              },
            ],
          },
        },
      },
    });
    describeObject(deployment, `Deployment \`helloworld-${props.version}\` (sample): answers with its version and pod name`);
  }
}

/** The sleep client: ServiceAccount, Service and Deployment with curl. */
export class Sleep extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const sa = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: 'sleep', namespace: SAMPLE_NAMESPACE } });
    describeObject(sa, 'ServiceAccount `sleep` (sample)');
    const service = new k8s.KubeService(this, 'Service', {
      metadata: { name: 'sleep', namespace: SAMPLE_NAMESPACE, labels: { app: 'sleep', service: 'sleep' } },
      spec: { ports: [{ port: 80, name: 'http' }], selector: { app: 'sleep' } },
    });
    describeObject(service, 'Service `sleep` (sample)');
    const deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: 'sleep', namespace: SAMPLE_NAMESPACE },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'sleep' } },
        template: {
          metadata: { labels: { app: 'sleep' } },
          spec: {
            terminationGracePeriodSeconds: 0,
            serviceAccountName: 'sleep',
            containers: [{ name: 'sleep', image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'], imagePullPolicy: 'IfNotPresent' }],
          },
        },
      },
    });
    describeObject(deployment, 'Deployment `sleep` (sample): a client to call helloworld from');
  }
}
