/**
 * `istio-remote-secret-<cluster>`: lets this cluster's istiod read another
 * cluster's API server, exactly as `istioctl create-remote-secret
 * --name=<cluster>` writes it. The name, the annotation and the kubeconfig's
 * cluster, context and user all equal the other cluster's `clusterName`: a
 * mismatch silently breaks routing by cluster.
 *
 * @see https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-create-remote-secret
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { describeObject } from './description';
import { ISTIO_SYSTEM } from './names';

/** Label istiod watches remote secrets by. */
export const MULTICLUSTER_LABEL = 'istio/multiCluster';

/** Annotation naming the cluster a remote secret gives access to. */
export const CLUSTER_ANNOTATION = 'networking.istio.io/cluster';

/** Name of the remote secret for `cluster`. */
export function remoteSecretName(cluster: string): string {
  return `istio-remote-secret-${cluster}`;
}

/** Props of RemoteSecret. */
export interface RemoteSecretProps {
  /** The cluster whose API the secret opens: its `clusterName`. */
  readonly cluster: string;
  /** Kubeconfig text for that cluster (see credentials/remote-kubeconfig). */
  readonly kubeconfig: string;
}

/** Secret `istio-remote-secret-<cluster>` in `istio-system`; the low-level object is `resource`. */
export class RemoteSecret extends Construct {
  /** Secret name. */
  public readonly name: string;
  /** The underlying object. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: RemoteSecretProps) {
    super(scope, id);
    this.name = remoteSecretName(props.cluster);
    // A plain ApiObject of the Secret's manifest: a fleet has one per pair of clusters, and the typed
    // KubeSecret's conversion of its props cost more than all the rest of rendering one.
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: this.name,
        namespace: ISTIO_SYSTEM,
        labels: { [MULTICLUSTER_LABEL]: 'true' },
        annotations: { [CLUSTER_ANNOTATION]: props.cluster },
      },
      stringData: { [props.cluster]: props.kubeconfig },
    });
    describeObject(this.resource, `Secret \`${this.name}\`: lets istiod read the API server of \`${props.cluster}\``);
  }
}
