/**
 * The token Secret of Istio's reader service account, named as
 * `istioctl create-remote-secret` names it. Kubernetes fills in a token,
 * which `meshgen credentials fetch` reads for the other clusters' remote
 * secrets. The service account and its RBAC come with Istio's own install
 * (`global.enableReaderRBAC`, on by default), so they are not emitted here.
 */
import { k8s } from './k8s';
import { Construct } from 'constructs';
import { describeObject } from './description';
import { ISTIO_SYSTEM } from './names';

import { READER_SERVICE_ACCOUNT, READER_TOKEN_SECRET } from '../model/istio-names';

export { READER_SERVICE_ACCOUNT, READER_TOKEN_SECRET };

/** Secret of type `kubernetes.io/service-account-token` for the reader service account. */
export class ReaderTokenSecret extends Construct {
  /** Secret name. */
  public readonly name = READER_TOKEN_SECRET;
  /** The underlying object. */
  public readonly resource: k8s.KubeSecret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.resource = new k8s.KubeSecret(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: ISTIO_SYSTEM,
        annotations: { 'kubernetes.io/service-account.name': READER_SERVICE_ACCOUNT },
      },
      type: 'kubernetes.io/service-account-token',
    });
    describeObject(this.resource, `Secret \`${this.name}\`: Kubernetes fills in the token the other control planes read this cluster with`);
  }
}
