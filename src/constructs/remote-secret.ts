/**
 * `istio-remote-secret-<cluster>`: lets this cluster's istiod read another
 * cluster's API server, exactly as `istioctl create-remote-secret
 * --name=<cluster>` writes it. The name, the annotation and the kubeconfig's
 * cluster, context and user all equal the other cluster's `clusterName`: a
 * mismatch silently breaks routing by cluster.
 *
 * A fleet has one remote secret per pair of clusters, so besides the
 * RemoteSecret construct there is RemoteSecretManifests: the same Secrets
 * as plain manifests under one construct, which meshgen's renderer writes
 * without building (and garbage-collecting) an ApiObject for each.
 *
 * @see https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-create-remote-secret
 */
import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { describeObject } from './description';
import { ISTIO_SYSTEM } from './names';

export { MULTICLUSTER_LABEL, remoteSecretName } from '../model/istio-names';
import { MULTICLUSTER_LABEL, remoteSecretName } from '../model/istio-names';

/** Annotation naming the cluster a remote secret gives access to. */
export const CLUSTER_ANNOTATION = 'networking.istio.io/cluster';


/** Props of RemoteSecret. */
export interface RemoteSecretProps {
  /** The cluster whose API the secret opens: its `clusterName`. */
  readonly cluster: string;
  /** Kubeconfig text for that cluster (see credentials/remote-kubeconfig). */
  readonly kubeconfig: string;
}

/** The manifest of a remote secret, as an ApiObject renders it: keys sorted, apiVersion, kind and metadata first. */
export interface RemoteSecretManifest {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly metadata: {
    readonly annotations: Readonly<Record<string, string>>;
    readonly labels: Readonly<Record<string, string>>;
    readonly name: string;
    readonly namespace: string;
  };
  readonly stringData: Readonly<Record<string, string>>;
}

/** Manifests made in this process, by cluster: every primary of a fleet holds the same one for a cluster. */
const manifests = new Map<string, { readonly kubeconfig: string; readonly manifest: RemoteSecretManifest }>();

/**
 * The Secret that lets istiod read `props.cluster`, frozen: the same object
 * is handed to every folder that holds it, so a renderer may keep its text
 * by identity.
 */
export function remoteSecretManifest(props: RemoteSecretProps): RemoteSecretManifest {
  const known = manifests.get(props.cluster);
  if (known && known.kubeconfig === props.kubeconfig) return known.manifest;
  const manifest: RemoteSecretManifest = deepFreeze({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      annotations: { [CLUSTER_ANNOTATION]: props.cluster },
      labels: { [MULTICLUSTER_LABEL]: 'true' },
      name: remoteSecretName(props.cluster),
      namespace: ISTIO_SYSTEM,
    },
    stringData: { [props.cluster]: props.kubeconfig },
  });
  manifests.set(props.cluster, { kubeconfig: props.kubeconfig, manifest });
  return manifest;
}

/** The README's description of the remote secret for `cluster`. */
function describeRemoteSecret(cluster: string): string {
  return `Secret \`${remoteSecretName(cluster)}\`: lets istiod read the API server of \`${cluster}\``;
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
    // A plain ApiObject of the Secret's manifest: the typed KubeSecret's conversion of its props cost more than all the rest of rendering one.
    const { apiVersion, kind, metadata, stringData } = remoteSecretManifest(props);
    this.resource = new ApiObject(this, 'Resource', { apiVersion, kind, metadata: { ...metadata }, stringData: { ...stringData } });
    describeObject(this.resource, describeRemoteSecret(props.cluster));
  }
}

/** One Secret of a RemoteSecretManifests. */
export interface RemoteSecretEntry {
  /** The cluster whose API the secret opens. */
  readonly cluster: string;
  /** The Secret (frozen, shared by every folder that holds it). */
  readonly manifest: RemoteSecretManifest;
  /** One line for the README's file table. */
  readonly description: string;
}

/**
 * The remote secrets of one cluster as plain manifests, in the given order,
 * under one construct: what a RemoteSecret each would render, for a fraction
 * of the cost. Only meshgen's renderer (synth/render) writes them; a cdk8s
 * app's own synth sees no ApiObject here, so charts meant for one use
 * RemoteSecret. Placement in a sub-folder (placeObject) applies to all of them.
 */
export class RemoteSecretManifests extends Construct {
  /** The Secrets, in order. */
  public readonly entries: readonly RemoteSecretEntry[];

  constructor(scope: Construct, id: string, secrets: readonly RemoteSecretProps[]) {
    super(scope, id);
    this.entries = secrets.map((s) => ({ cluster: s.cluster, manifest: remoteSecretManifest(s), description: describeRemoteSecret(s.cluster) }));
  }

  /** True for RemoteSecretManifests constructs. */
  public static isRemoteSecretManifests(x: IConstruct): x is RemoteSecretManifests {
    return x instanceof RemoteSecretManifests;
  }
}

function deepFreeze<T>(obj: T): T {
  if (typeof obj === 'object' && obj !== null) {
    for (const v of Object.values(obj)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}
