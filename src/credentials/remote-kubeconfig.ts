/**
 * The kubeconfig inside an `istio-remote-secret-<cluster>`, in the format
 * `istioctl create-remote-secret` writes: one cluster, context and user, all
 * named after the cluster, keys in Go's (sorted) order.
 */
import { toYaml } from '../yaml-text';
import { StaticCredential } from './kubeconfig';

/** Kubeconfig text that lets istiod read `cluster` with `credential`. */
export function remoteKubeconfig(cluster: string, credential: StaticCredential): string {
  const user =
    'token' in credential.user
      ? { token: credential.user.token }
      : { 'client-certificate-data': credential.user.clientCertificateData, 'client-key-data': credential.user.clientKeyData };
  const config = {
    apiVersion: 'v1',
    clusters: [
      {
        cluster: {
          'certificate-authority-data': credential.certificateAuthorityData,
          server: credential.server,
          ...(credential.tlsServerName ? { 'tls-server-name': credential.tlsServerName } : {}),
        },
        name: cluster,
      },
    ],
    contexts: [{ context: { cluster, user: cluster }, name: cluster }],
    'current-context': cluster,
    kind: 'Config',
    users: [{ name: cluster, user }],
  };
  return toYaml(config);
}
