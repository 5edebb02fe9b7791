/**
 * The topology documents as their JSON Schema (schema.ts) guarantees them,
 * once a document has passed its schema check: what the loader turns into
 * the model. Checks that also run on documents that failed their schema
 * (validate*.ts) read the raw values defensively instead.
 */

/** A `credentials` block as its schema guarantees it. */
export interface CredentialsValue {
  source?: 'kubeconfig' | 'reader-token' | 'external';
  kubeconfig?: string;
  server?: string;
  secretStore?: { name: string; kind?: 'SecretStore' | 'ClusterSecretStore' };
  key?: string;
  property?: string;
}

/** A MeshFederation document as its schema guarantees it. */
export interface FederationDocumentValue {
  metadata: { name: string };
  spec: {
    meshes: string[];
    trust?: 'shared-root' | 'trust-bundles';
    hostSuffix?: string;
    addressAllocation?: 'auto' | 'static';
    exports: {
      service: string;
      namespace: string;
      from: string;
      to: string[];
      ports: { number: number; targetPort?: number; name: string; protocol: string }[];
      selector?: Record<string, string>;
      clusters?: string[];
      split?: { local: number; remote: number };
    }[];
  };
}

/** A `secrets` block as its schema guarantees it. */
export interface SecretsValue {
  encryption?: 'none' | 'sops' | 'sealed-secrets';
  sops?: { age?: string[]; decryptionSecret?: string };
  sealedSecrets?: { cert?: string; scope?: 'strict' | 'namespace-wide' | 'cluster-wide' };
}

/** A Mesh document as its schema guarantees it. */
export interface MeshDocumentValue {
  apiVersion: string;
  kind: 'Mesh';
  metadata: { name: string };
  spec: {
    meshID?: string;
    trustDomain?: string;
    istio: { version: string; hub?: string; revision?: string; install?: 'istioctl' | 'helm' | 'sail' };
    gitops?: {
      engine: 'flux' | 'argocd';
      repoURL?: string;
      targetRevision?: string;
      path?: string;
      flux?: { sourceRef?: { name: string; namespace?: string }; interval?: string };
      argocd?: { namespace?: string; project?: string };
    };
    trust?: {
      keyStore?: string;
      keyAlgorithm?: 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'ECDSA-P256' | 'ECDSA-P384';
      rootValidity?: string;
      intermediateValidity?: string;
      organization?: string;
      rootCommonName?: string;
      intermediateCommonName?: string;
      extraSANs?: string[];
      encryptRootKey?: boolean;
      passphrase?: { env?: string; file?: string };
      rootCert?: string;
      rootKey?: string;
      intermediates?: Record<string, { cert: string; key: string }>;
      certManager?: { issuerRef: { name: string; kind?: 'Issuer' | 'ClusterIssuer'; group?: string }; duration?: string; renewBefore?: string };
    };
    credentials?: CredentialsValue;
    secrets?: SecretsValue;
    samples?: ('helloworld' | 'sleep')[];
    platform?: 'kubernetes' | 'openshift';
    dataplane?: 'sidecar' | 'ambient';
    ambient?: {
      globalServices?: { namespace: string; selector?: Record<string, string> }[];
      waypoints?: { namespace: string; name?: string; for?: 'service' | 'workload' | 'all'; global?: boolean }[];
    };
    clusters: {
      name: string;
      context: string;
      network: string;
      role?: 'primary' | 'remote';
      controlPlane?: string;
      locality?: string;
      eastWestGateway?: { serviceType?: 'LoadBalancer' | 'NodePort'; annotations?: Record<string, string>; address?: string; port?: number };
      credentials?: CredentialsValue;
      secrets?: SecretsValue;
      samples?: ('helloworld' | 'sleep')[];
      argocdCluster?: string;
      platform?: 'kubernetes' | 'openshift';
    }[];
  };
}
