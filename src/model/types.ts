/**
 * The topology model: plain, resolved types that every later layer reads.
 *
 * The loader turns `mesh.yaml` documents into these; constructs and charts
 * never see raw YAML. Everything here is data: no behaviour, no I/O.
 */
import * as path from 'node:path';
import { compareStrings } from '../order';

/** API version of meshgen's own topology documents. */
export const MESHGEN_API_VERSION = 'meshgen.dev/v1alpha1';

/** Docker hub used for Istio images unless `spec.istio.hub` is set. */
export const DEFAULT_ISTIO_HUB = 'docker.io/istio';

/** Key store folder, relative to the topology file, unless `spec.trust.keyStore` is set. */
export const DEFAULT_KEY_STORE = '.meshgen/pki';

/** Absolute path of the key store of a mesh in `topologyFile`: `spec.trust.keyStore` (or the default) relative to the file's folder. */
export function keyStorePath(topologyFile: string, keyStore: string | undefined): string {
  return path.resolve(path.dirname(path.resolve(topologyFile)), keyStore ?? DEFAULT_KEY_STORE);
}

/** Stands for the cluster's name in an external store key (`mesh/{cluster}/kubeconfig`) and a sealing certificate's path. */
export const CLUSTER_PLACEHOLDER = '{cluster}';

/** An external store key (or a path) with `{cluster}` replaced by the cluster's name. */
export function externalKeyFor(key: string, cluster: string): string {
  return key.split(CLUSTER_PLACEHOLDER).join(cluster);
}

/** Istio release that new topologies (meshgen init, meshgen convert) start from. */
export const DEFAULT_ISTIO_VERSION = '1.30.3';

/**
 * What a cluster runs: `primary` runs its own istiod; `remote` has none and
 * is served by the istiod of a primary (its `controlPlane`).
 */
export type ClusterRole = 'primary' | 'remote';

/** Kubernetes Service types the east-west gateway can have. */
export type GatewayServiceType = 'LoadBalancer' | 'NodePort';

/** How a cluster's east-west gateway is exposed, where it has one. */
export interface EastWestGatewaySettings {
  /** Service type of the gateway. */
  readonly serviceType: GatewayServiceType;
  /** Extra annotations of the gateway Service (cloud load-balancer settings). */
  readonly annotations: Readonly<Record<string, string>>;
  /** IP address or DNS name other clusters reach the gateway at, when known. */
  readonly address?: string;
  /**
   * Where `address` came from: `topology` when the topology sets
   * `eastWestGateway.address` (which always wins), `discovered` when
   * `meshgen discover` read it off the cluster's gateway Service and stored it
   * in the key store (`<keyStore>/discovered.json`). Unset without an address.
   */
  readonly addressSource?: 'topology' | 'discovered';
  /** With addressSource `discovered`: when the address was read (ISO 8601). */
  readonly discovered?: string;
  /**
   * The port other meshes reach the gateway's passthrough port (15443) at, with `address`, when it is not
   * 15443: a NodePort gateway's node port. From the topology with its address, or from `meshgen discover`.
   * @default 15443
   */
  readonly port?: number;
}

/** Where a model object came from, for error messages. */
export interface SourceRef {
  /** Path of the topology file, as the user gave it. */
  readonly file: string;
  /** Zero-based index of the YAML document in that file. */
  readonly document: number;
}

/** Where the credentials that other control planes use to read a cluster's API come from. */
export type CredentialSource = 'kubeconfig' | 'reader-token' | 'external';

/** How a cluster's API credentials reach the remote secrets of the clusters that read it. */
export interface CredentialSettings {
  /**
   * `kubeconfig`: the user's kubeconfig entry for the context (static token or client certificate);
   * `reader-token`: the token of Istio's reader service account, fetched by `meshgen credentials fetch`;
   * `external`: an ExternalSecret builds the remote secret from a secret store.
   */
  readonly source: CredentialSource;
  /** True when `source` was set in the topology rather than defaulted. */
  readonly explicit: boolean;
  /** Kubeconfig files to read, in kubectl's merge order (absolute paths); empty for the defaults. */
  readonly kubeconfig: readonly string[];
  /** API server URL as other clusters reach it, overriding the kubeconfig's. */
  readonly server?: string;
  /** For `external`: the secret store and the key holding the kubeconfig. */
  readonly external?: { readonly storeName: string; readonly storeKind: 'SecretStore' | 'ClusterSecretStore'; readonly key: string; readonly property?: string };
}

/** How the Secrets of a cluster folder are written: in plaintext, encrypted with SOPS, or sealed for Sealed Secrets. */
export type SecretEncryption = 'none' | 'sops' | 'sealed-secrets';

/** Who can unseal a SealedSecret: only its name in its namespace, any name in its namespace, or anywhere. */
export type SealedSecretScope = 'strict' | 'namespace-wide' | 'cluster-wide';

/** Name of the Secret in flux-system that holds the age identity Flux decrypts with, unless `secrets.sops.decryptionSecret` is set. */
export const DEFAULT_SOPS_DECRYPTION_SECRET = 'sops-age';

/** How a cluster's Secrets (`cacerts`, remote secrets) are written into its output folder. */
export type SecretSettings =
  | { readonly encryption: 'none' }
  | {
      readonly encryption: 'sops';
      /** age recipients (`age1…`), in the order given. */
      readonly age: readonly string[];
      /** With Flux: the Secret in flux-system holding the age identity. */
      readonly decryptionSecret: string;
    }
  | {
      readonly encryption: 'sealed-secrets';
      /** Absolute path of the cluster's Sealed Secrets controller certificate (`{cluster}` replaced). */
      readonly cert: string;
      /** Where in the topology file `cert` was set (`spec.secrets.sealedSecrets.cert`), for messages. */
      readonly certKey: string;
      readonly scope: SealedSecretScope;
    };

/** Kubernetes distributions meshgen writes for: OpenShift needs Istio's CNI node agent in place of its init containers. */
export type Platform = 'kubernetes' | 'openshift';

/** Istio sample apps meshgen can add to check a mesh. */
export type SampleApp = 'helloworld' | 'sleep';

/** One Kubernetes cluster of a mesh. */
export interface ClusterModel {
  /** DNS-1123 label: `values.global.multiCluster.clusterName` and the `dist/` folder name. */
  readonly name: string;
  /** kube context used in the README's commands. */
  readonly context: string;
  /** Network the cluster's pods live on (`topology.istio.io/network`). */
  readonly network: string;
  /** Control-plane role. */
  readonly role: ClusterRole;
  /** For a remote: the name of the primary cluster whose istiod serves it. */
  readonly controlPlane?: string;
  /** Istio locality `region[/zone[/subzone]]` of the cluster, for failover between meshes. */
  readonly locality?: string;
  /** East-west gateway settings. */
  readonly eastWestGateway: EastWestGatewaySettings;
  /** Where the credentials to read this cluster's API come from. */
  readonly credentials: CredentialSettings;
  /** Sample apps to deploy in namespace `sample` (sorted). */
  readonly samples: readonly SampleApp[];
  /** Name of the cluster in Argo CD, with gitops.engine argocd. */
  readonly argocdCluster: string;
  /** The Kubernetes distribution the cluster runs, for what it needs besides Istio's defaults. */
  readonly platform: Platform;
  /** How the cluster's Secrets are written: the mesh's `secrets`, under the cluster's own. */
  readonly secrets: SecretSettings;
}

/** Istio release and image settings of a mesh. */
export interface IstioSettings {
  /** Istio release, e.g. `1.30.3`: the IstioOperator `spec.tag`. */
  readonly version: string;
  /** Image registry: the IstioOperator `spec.hub`. */
  readonly hub: string;
  /** Control-plane revision (`spec.revision`), if the mesh uses revisions. */
  readonly revision?: string;
  /** How Istio is installed. */
  readonly install: InstallMethod;
}

/** How Istio is installed on the clusters of a mesh. */
export type InstallMethod = 'istioctl' | 'helm' | 'sail';

/** Installing everything through a GitOps engine, from the committed output folder. */
export interface GitOpsSettings {
  readonly engine: 'flux' | 'argocd';
  /** Git repository of the output (needed by Argo CD). */
  readonly repoURL?: string;
  /** Branch, tag or commit to follow. */
  readonly targetRevision: string;
  /** Path of the output folder in the repository. */
  readonly path: string;
  readonly flux: { readonly sourceName: string; readonly sourceNamespace: string; readonly interval: string };
  readonly argocd: { readonly namespace: string; readonly project: string };
}

/** Where a mesh's certificate authority material lives. */
export interface TrustSettings {
  /** Absolute path of the key store folder. */
  readonly keyStore: string;
  /** Profile of certificates meshgen makes. */
  readonly profile: CertificateProfile;
  /** Write the root key encrypted. */
  readonly encryptRootKey: boolean;
  /** Where the root key's passphrase comes from. */
  readonly passphrase: { readonly env?: string; readonly file?: string };
  /** A CA the user brings, instead of one meshgen makes. */
  readonly byo?: BringYourOwnCA;
  /**
   * The other meshes of the topology that share this key store (and so its
   * root), as shared-root federations allow. The store refuses intermediates
   * of any other mesh: a second topology file pointing at the same store
   * would otherwise share its root unseen.
   * @default - none
   */
  readonly storeSharedWith?: readonly string[];
}

/** A CA the user brings: (a) root cert and key, (b) root cert and per-cluster intermediates, (c) cert-manager. */
export type BringYourOwnCA =
  | { readonly kind: 'root'; readonly rootCert: string; readonly rootKey: string }
  | { readonly kind: 'intermediates'; readonly rootCert: string; readonly intermediates: Readonly<Record<string, { readonly cert: string; readonly key: string }>> }
  | {
      readonly kind: 'cert-manager';
      readonly rootCert?: string;
      readonly issuerRef: { readonly name: string; readonly kind: 'Issuer' | 'ClusterIssuer'; readonly group: string };
      readonly duration: string;
      readonly renewBefore: string;
    };

/** How meshgen makes new CA keys and certificates. */
export interface CertificateProfile {
  /** RSA modulus length of new keys (when no curve is set). */
  readonly keyBits: 2048 | 3072 | 4096;
  /** ECDSA curve of new keys; when set, keys are ECDSA and keyBits is unused. */
  readonly curve?: 'P-256' | 'P-384';
  readonly rootValidityHours: number;
  readonly intermediateValidityHours: number;
  readonly organization: string;
  readonly rootCommonName: string;
  readonly intermediateCommonName: string;
  /** Extra DNS SANs of intermediates. */
  readonly extraSANs: readonly string[];
}

/** The profile of Istio's `tools/certs` (RSA 4096, ten years, `O=Istio`), which meshgen follows unless `spec.trust` says otherwise. */
export const DEFAULT_CERTIFICATE_PROFILE: CertificateProfile = {
  keyBits: 4096,
  rootValidityHours: 3650 * 24,
  intermediateValidityHours: 3650 * 24,
  organization: 'Istio',
  rootCommonName: 'Root CA',
  intermediateCommonName: 'Intermediate CA',
  extraSANs: [],
};

/** One Istio mesh: a mesh ID shared by a set of clusters. */
export interface MeshModel {
  /** `metadata.name` of the Mesh document. */
  readonly name: string;
  /** `values.global.meshID`. */
  readonly meshID: string;
  /** `meshConfig.trustDomain`: the SPIFFE trust domain of the mesh's workloads. */
  readonly trustDomain: string;
  readonly istio: IstioSettings;
  readonly trust: TrustSettings;
  /** Install through a GitOps engine, if set. */
  readonly gitops?: GitOpsSettings;
  /** Clusters, sorted by name. */
  readonly clusters: readonly ClusterModel[];
  readonly source: SourceRef;
  /** Istio's data plane: sidecar proxies or ambient (ztunnel and waypoints). */
  readonly dataplane: Dataplane;
  /** Ambient settings; empty lists for a sidecar mesh. */
  readonly ambient: AmbientSettings;
}

/** Istio's data plane modes. */
export type Dataplane = 'sidecar' | 'ambient';

/** Services of an ambient mesh that every cluster reaches: a namespace, and optionally the Services' labels. */
export interface GlobalServices {
  readonly namespace: string;
  /** matchLabels of the Services; every Service of the namespace when empty. */
  readonly selector: Readonly<Record<string, string>>;
}

/** A waypoint proxy of an ambient mesh, written into every cluster. */
export interface Waypoint {
  readonly namespace: string;
  readonly name: string;
  /** What traffic it handles (`istio.io/waypoint-for`). */
  readonly for: 'service' | 'workload' | 'all';
  /** Its Service is labelled `istio.io/global: "true"` (through the Gateway's infrastructure labels). */
  readonly global: boolean;
}

/** Ambient settings of a mesh. */
export interface AmbientSettings {
  /** Sorted by namespace. */
  readonly globalServices: readonly GlobalServices[];
  /** Sorted by namespace, then name. */
  readonly waypoints: readonly Waypoint[];
}

/** Oldest Istio release with ambient multicluster. */
export const AMBIENT_MULTICLUSTER_MIN_ISTIO = '1.27.0';

/** Default SPIFFE trust domain of a mesh. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** How federated meshes trust each other's workloads. */
export type FederationTrust = 'shared-root' | 'trust-bundles';

/** One port of an exported service. */
export interface ExportPort {
  readonly number: number;
  /** Port of the pods, if it differs from `number`. */
  readonly targetPort?: number;
  readonly name: string;
  readonly protocol: string;
}

/** A service of one mesh that other meshes may call. */
export interface ServiceExport {
  /** Kubernetes Service name. */
  readonly service: string;
  /** Its namespace. */
  readonly namespace: string;
  /** The mesh that runs it. */
  readonly from: string;
  /** The meshes that may call it. */
  readonly to: readonly string[];
  readonly ports: readonly ExportPort[];
  /** Labels of the service's pods, for the exporting side's ServiceEntry. */
  readonly selector: Readonly<Record<string, string>>;
  /** Clusters of the exporting mesh that run it (sorted); all of its clusters unless listed. */
  readonly clusters: readonly string[];
  /** Split calls to the local copy in importing meshes between local and remote, in percent. */
  readonly split?: { readonly local: number; readonly remote: number };
  /** Host the importing meshes call: `<service>.<namespace>.<hostSuffix>`. */
  readonly host: string;
}

/** Separate meshes that share some services through their gateways. */
export interface FederationModel {
  /** `metadata.name` of the MeshFederation document. */
  readonly name: string;
  /** Names of the federated meshes, sorted. */
  readonly meshes: readonly string[];
  readonly trust: FederationTrust;
  /** Suffix of exported hosts. */
  readonly hostSuffix: string;
  /** `auto`: Istio allocates addresses for the hosts; `static`: meshgen writes a stable address into each ServiceEntry. */
  readonly addressAllocation: 'auto' | 'static';
  /** Exports, sorted by host. */
  readonly exports: readonly ServiceExport[];
  readonly source: SourceRef;
}

/** Everything one `synth` run works on. */
export interface Topology {
  /** Meshes, sorted by name. */
  readonly meshes: readonly MeshModel[];
  /** Federations between meshes, sorted by name. */
  readonly federations: readonly FederationModel[];
  /** Topology files read, in the order given. */
  readonly files: readonly string[];
}

/** How many clusters the topology's meshes hold in all. */
export function clusterCount(topology: Topology): number {
  return topology.meshes.reduce((n, m) => n + m.clusters.length, 0);
}

/** Sorted, distinct network names of a mesh. */
export function meshNetworks(mesh: MeshModel): string[] {
  return [...new Set(mesh.clusters.map((c) => c.network))].sort(compareStrings);
}

/**
 * True when the mesh spans more than one network, so traffic between
 * networks must go through east-west gateways.
 */
export function isMultiNetwork(mesh: MeshModel): boolean {
  return meshNetworks(mesh).length > 1;
}
