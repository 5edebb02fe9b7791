/**
 * The kubeconfig inside an `istio-remote-secret-<cluster>`, in the format
 * `istioctl create-remote-secret` writes: one cluster, context and user, all
 * named after the cluster, keys in Go's (sorted) order.
 */
import { toYaml } from '../yaml-text';
import { StaticCredential } from './kubeconfig';

/** Texts already made in this process, by credential: every primary of a fleet carries the same one for a cluster. */
const made = new WeakMap<StaticCredential, Map<string, string>>();

/** Kubeconfig text that lets istiod read `cluster` with `credential`. */
export function remoteKubeconfig(cluster: string, credential: StaticCredential): string {
  let byCluster = made.get(credential);
  if (!byCluster) made.set(credential, (byCluster = new Map()));
  let text = byCluster.get(cluster);
  if (text === undefined) byCluster.set(cluster, (text = kubeconfigText(cluster, credential)));
  return text;
}

function kubeconfigText(cluster: string, credential: StaticCredential): string {
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
