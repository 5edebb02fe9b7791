/**
 * The `cacerts` Secret: the cluster's intermediate CA, its key, the mesh
 * root and the chain, which istiod uses instead of its self-signed CA.
 * Must exist before istiod starts.
 *
 * @see https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
 */
import { k8s } from './k8s';
import { Construct } from 'constructs';
import { CacertsFiles } from '../pki/key-store';
import { ISTIO_SYSTEM } from './names';
import { describeObject } from './description';

/** Name of the Secret istiod reads its plug-in CA from. */
export { CACERTS_SECRET_NAME } from '../model/istio-names';
import { CACERTS_SECRET_NAME } from '../model/istio-names';

/** Props of CacertsSecret. */
export interface CacertsSecretProps {
  /** The four PEM files of the cluster's CA. */
  readonly files: CacertsFiles;
}

/**
 * Secret `cacerts` in `istio-system`, shaped as
 * `kubectl create secret generic cacerts --from-file=…` makes it.
 */
export class CacertsSecret extends Construct {
  /** Secret name. */
  public readonly name = CACERTS_SECRET_NAME;
  /** The underlying object. */
  public readonly resource: k8s.KubeSecret;

  constructor(scope: Construct, id: string, props: CacertsSecretProps) {
    super(scope, id);
    const data: Record<string, string> = {};
    for (const key of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const) {
      data[key] = Buffer.from(props.files[key], 'utf8').toString('base64');
    }
    this.resource = new k8s.KubeSecret(this, 'Resource', {
      metadata: { name: this.name, namespace: ISTIO_SYSTEM },
      type: 'Opaque',
      data,
    });
    describeObject(this.resource, "Secret `cacerts`: this cluster's intermediate CA and its private key, under the mesh root");
  }
}
