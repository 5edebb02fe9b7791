/**
 * An ExternalSecret (external-secrets.io/v1) that builds
 * `istio-remote-secret-<cluster>` from a secret store, so no credential is
 * in the output: same name, label, annotation and key as istioctl's.
 *
 * @see https://external-secrets.io/latest/api/externalsecret/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { describeObject } from './description';
import { ISTIO_SYSTEM } from './names';
import { CLUSTER_ANNOTATION, MULTICLUSTER_LABEL, remoteSecretName } from './remote-secret';

/** Props of ExternalRemoteSecret. */
export interface ExternalRemoteSecretProps {
  /** The cluster whose API the secret opens: its `clusterName`. */
  readonly cluster: string;
  /** SecretStore or ClusterSecretStore holding the kubeconfig. */
  readonly storeName: string;
  /** Kind of the store. */
  readonly storeKind: 'SecretStore' | 'ClusterSecretStore';
  /** Key in the store. */
  readonly key: string;
  /**
   * Property of the key.
   * @default - the whole value
   */
  readonly property?: string;
  /**
   * How often the operator refreshes the Secret from the store.
   * @default '1h'
   */
  readonly refreshInterval?: string;
}

/** ExternalSecret `istio-remote-secret-<cluster>`; the low-level object is `resource`. */
export class ExternalRemoteSecret extends Construct {
  /** Name of the ExternalSecret and of the Secret it makes. */
  public readonly name: string;
  /** The underlying object. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: ExternalRemoteSecretProps) {
    super(scope, id);
    this.name = remoteSecretName(props.cluster);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: this.name, namespace: ISTIO_SYSTEM },
      spec: {
        refreshInterval: props.refreshInterval ?? '1h',
        secretStoreRef: { name: props.storeName, kind: props.storeKind },
        target: {
          name: this.name,
          creationPolicy: 'Owner',
          template: {
            metadata: {
              labels: { [MULTICLUSTER_LABEL]: 'true' },
              annotations: { [CLUSTER_ANNOTATION]: props.cluster },
            },
          },
        },
        data: [{ secretKey: props.cluster, remoteRef: { key: props.key, property: props.property } }],
      },
    });
    describeObject(
      this.resource,
      `ExternalSecret \`${this.name}\`: builds the remote secret of \`${props.cluster}\` from ${props.storeKind} \`${props.storeName}\``,
    );
  }
}
