/**
 * The JSON Schema of a `Mesh` topology document.
 *
 * This object is the single source of the file's structure: the loader
 * validates every document against it, and `npm run schema` writes it to
 * `schema/mesh.schema.json` for editors (`# yaml-language-server: $schema=…`).
 *
 * Long because it is one JSON Schema, with a description for every field (editors show them).
 */
import { DEFAULT_ISTIO_HUB, DEFAULT_KEY_STORE, DEFAULT_SOPS_DECRYPTION_SECRET, MESHGEN_API_VERSION } from './types';

/** Pattern of a DNS-1123 label (RFC 1123, as Kubernetes checks names). */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** Longest DNS-1123 label. */
export const DNS1123_LABEL_MAX = 63;

/** Pattern of an Istio release (`1.30.3`, `1.31.0-rc.0`). */
export const ISTIO_VERSION_PATTERN = '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$';

/** Pattern of a validity: a number of days or hours. */
export const VALIDITY_PATTERN = '^[1-9][0-9]*(d|h)$';

/** A name attribute of a certificate subject: no control characters, no leading or trailing space. */
export const NAME_ATTRIBUTE_PATTERN = '^[^\\s\\u0000-\\u001f\\u007f](?:[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$';

/** The `$id` the published schema carries. */
export const MESH_SCHEMA_ID = 'https://meshgen.dev/schema/v1alpha1/mesh.schema.json';

/** Schema of a `credentials` block, at mesh level (defaults) or per cluster. */
function credentialsSchema(description: string) {
  return {
      type: 'object',
      additionalProperties: false,
      description: description,
      properties: {
        source: {
          enum: ['kubeconfig', 'reader-token', 'external'],
          description:
            'kubeconfig: the user\'s kubeconfig entry (static token or client certificate). reader-token: the token of istio-reader-service-account, read by `meshgen credentials fetch`. external: an ExternalSecret builds the remote secret. Default: kubeconfig.',
        },
        kubeconfig: {
          type: 'string',
          minLength: 1,
          description: 'Kubeconfig file to read, relative to this file. Default: $KUBECONFIG, else ~/.kube/config.',
        },
        server: {
          type: 'string',
          pattern: '^https://',
          description: 'API server URL as the other clusters reach it, when the kubeconfig\'s (e.g. 127.0.0.1 for kind) is not.',
        },
        secretStore: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          description: 'For source: external: the external-secrets store that holds the kubeconfig.',
          properties: {
            name: { type: 'string', minLength: 1, description: 'Name of the SecretStore or ClusterSecretStore.' },
            kind: { enum: ['SecretStore', 'ClusterSecretStore'], description: 'Default: ClusterSecretStore.' },
          },
        },
        key: { type: 'string', minLength: 1, description: 'For source: external: the key in the store holding the kubeconfig. {cluster} stands for the cluster name, so one mesh-level key can serve every cluster (mesh/{cluster}/kubeconfig).' },
        property: { type: 'string', minLength: 1, description: 'For source: external: the property of that key, if the store keeps several.' },
      },
    } as const;
}

/** Schema of a `secrets` block, at mesh level or per cluster. */
function secretsSchema(description: string) {
  return {
    type: 'object',
    additionalProperties: false,
    description,
    properties: {
      encryption: {
        enum: ['none', 'sops', 'sealed-secrets'],
        description:
          'How Secrets (cacerts, remote secrets) are written: none (plaintext, not for Git), sops (SOPS files encrypted for age recipients; Flux decrypts them) or sealed-secrets (SealedSecrets for each cluster\'s controller). Default: none.',
      },
      sops: {
        type: 'object',
        additionalProperties: false,
        description: 'For encryption: sops.',
        properties: {
          age: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { type: 'string', description: 'An age recipient (public key) as age-keygen prints it: age1…' },
            description: 'age recipients that can decrypt the files (one or more). Required with sops.',
          },
          decryptionSecret: {
            $ref: '#/definitions/dnsLabel',
            description: `With Flux: the Secret in flux-system holding the age identity (key ending in .agekey) that Flux decrypts with. Default: ${DEFAULT_SOPS_DECRYPTION_SECRET}.`,
          },
        },
      },
      sealedSecrets: {
        type: 'object',
        additionalProperties: false,
        description: 'For encryption: sealed-secrets.',
        properties: {
          cert: {
            type: 'string',
            minLength: 1,
            description:
              'The cluster\'s Sealed Secrets controller certificate (what `kubeseal --fetch-cert` prints), relative to this file; {cluster} stands for the cluster name (sealed/{cluster}.pem). Required with sealed-secrets.',
          },
          scope: {
            enum: ['strict', 'namespace-wide', 'cluster-wide'],
            description: 'Where the controller may unseal a SealedSecret: under its own name and namespace only (strict), any name in its namespace, or anywhere. Default: strict.',
          },
        },
      },
    },
  } as const;
}

/** Schema of a `samples` list. */
function samplesSchema(description: string) {
  return { type: 'array', uniqueItems: true, items: { enum: ['helloworld', 'sleep'] }, description } as const;
}

/** JSON Schema (draft-07) of one `Mesh` document. */
export const meshSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: MESH_SCHEMA_ID,
  title: 'meshgen Mesh',
  description: 'One Istio mesh: its mesh ID, Istio release, trust and clusters. One YAML document per mesh.',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: MESHGEN_API_VERSION, description: 'Topology API version.' },
    kind: { const: 'Mesh', description: 'Document kind.' },
    metadata: {
      type: 'object',
      description: 'Identity of the mesh.',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { $ref: '#/definitions/dnsLabel', description: 'Mesh name; the mesh ID unless spec.meshID is set.' },
      },
    },
    spec: {
      type: 'object',
      description: 'The mesh: its ID, Istio release, trust and clusters.',
      additionalProperties: false,
      required: ['istio', 'clusters'],
      properties: {
        meshID: {
          $ref: '#/definitions/dnsLabel',
          description: 'values.global.meshID of every cluster. Default: metadata.name.',
        },
        trustDomain: {
          type: 'string',
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
          maxLength: 253,
          description: 'meshConfig.trustDomain: the SPIFFE trust domain of the mesh\'s workloads. Default: cluster.local.',
        },
        istio: {
          type: 'object',
          description: 'Istio release and images of every cluster.',
          additionalProperties: false,
          required: ['version'],
          properties: {
            version: {
              type: 'string',
              pattern: ISTIO_VERSION_PATTERN,
              description: 'Istio release, e.g. 1.30.3: the IstioOperator spec.tag and the istioctl to use.',
            },
            hub: {
              type: 'string',
              minLength: 1,
              default: DEFAULT_ISTIO_HUB,
              description: `Image registry: the IstioOperator spec.hub. Default: ${DEFAULT_ISTIO_HUB}.`,
            },
            install: {
              enum: ['istioctl', 'helm', 'sail'],
              description:
                'How Istio is installed: istioctl (IstioOperator files), helm (values files for Istio\'s charts), or sail (a sailoperator.io Istio resource). Default: istioctl, or helm with gitops.',
            },
            revision: {
              $ref: '#/definitions/dnsLabel',
              description:
                'Control-plane revision, e.g. 1-30-3 or canary: IstioOperator spec.revision of every control plane and gateway. Default: no revision.',
            },
          },
        },
        trust: {
          type: 'object',
          description: 'Certificate authority: one root per mesh, one intermediate per cluster.',
          additionalProperties: false,
          properties: {
            keyStore: {
              type: 'string',
              minLength: 1,
              default: DEFAULT_KEY_STORE,
              description:
                'Folder holding the root and intermediate CA keys, relative to this file. Never inside the output folder; never commit it.',
            },
            keyAlgorithm: {
              enum: ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384'],
              description:
                'Algorithm and size of keys meshgen makes. Default: RSA-4096 (Istio\'s tools/certs). ECDSA-P256 and ECDSA-P384 make ECDSA CAs, which istiod reads (PKCS#8) and signs with.',
            },
            rootValidity: {
              type: 'string',
              pattern: VALIDITY_PATTERN,
              description: 'Validity of a new root: days (3650d) or hours (87600h). Default: 3650d.',
            },
            intermediateValidity: {
              type: 'string',
              pattern: VALIDITY_PATTERN,
              description: 'Validity of a new intermediate, never past its root. Default: 3650d.',
            },
            organization: { type: 'string', minLength: 1, maxLength: 64, pattern: NAME_ATTRIBUTE_PATTERN, description: 'O= of every subject (at most 64 characters, X.509\'s bound). Default: Istio.' },
            rootCommonName: { type: 'string', minLength: 1, maxLength: 64, pattern: NAME_ATTRIBUTE_PATTERN, description: 'CN= of the root (at most 64 characters). Default: Root CA.' },
            intermediateCommonName: {
              type: 'string',
              minLength: 1,
              maxLength: 64,
              pattern: NAME_ATTRIBUTE_PATTERN,
              description: 'CN= of the intermediates (L= is the cluster; at most 64 characters). Default: Intermediate CA.',
            },
            extraSANs: {
              type: 'array',
              uniqueItems: true,
              items: { type: 'string', pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$', maxLength: 253 },
              description: 'DNS names added to every intermediate\'s subjectAltName, after istiod.istio-system.svc.',
            },
            rootCert: {
              type: 'string',
              minLength: 1,
              description:
                'Bring your own CA: a PEM root certificate (openssl, cfssl, step, a Vault export), relative to this file. With rootKey meshgen issues the intermediates under it; with intermediates it only checks them.',
            },
            rootKey: { type: 'string', minLength: 1, description: 'The PEM key of rootCert (may be encrypted PKCS#8; see passphrase).' },
            intermediates: {
              type: 'object',
              description: 'Per cluster name: its intermediate CA as files {cert, key}, issued under rootCert elsewhere, so the root key never reaches meshgen.',
              additionalProperties: {
                type: 'object',
                additionalProperties: false,
                required: ['cert', 'key'],
                properties: {
                  cert: { type: 'string', minLength: 1, description: 'PEM intermediate certificate.' },
                  key: { type: 'string', minLength: 1, description: 'Its PEM key.' },
                },
              },
            },
            certManager: {
              type: 'object',
              additionalProperties: false,
              required: ['issuerRef'],
              description: 'Make each cluster\'s intermediate inside the cluster with cert-manager, from an issuer you run (Vault, AWS PCA, a CA issuer): no CA key is ever in the output.',
              properties: {
                issuerRef: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name'],
                  description: 'The cert-manager issuer.',
                  properties: {
                    name: { type: 'string', minLength: 1, description: 'Issuer name.' },
                    kind: { enum: ['Issuer', 'ClusterIssuer'], description: 'Default: ClusterIssuer.' },
                    group: { type: 'string', minLength: 1, description: 'API group of external issuers. Default: cert-manager.io.' },
                  },
                },
                duration: { type: 'string', pattern: '^[0-9]+h$', description: 'Validity of the intermediate. Default: 8760h.' },
                renewBefore: { type: 'string', pattern: '^[0-9]+h$', description: 'Renew this long before expiry. Default: 720h.' },
              },
            },
            encryptRootKey: {
              type: 'boolean',
              description: 'Write the root key as encrypted PKCS#8 (AES-256, PBKDF2 with SHA-256). Default: false.',
            },
            passphrase: {
              type: 'object',
              additionalProperties: false,
              description: 'Where the root key\'s passphrase comes from (never from this file). Without it, meshgen asks on a terminal.',
              properties: {
                env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable holding it.' },
                file: { type: 'string', minLength: 1, description: 'File holding it (first line), relative to this file.' },
              },
            },
          },
        },
        gitops: {
          type: 'object',
          additionalProperties: false,
          required: ['engine'],
          description: 'Install everything through a GitOps engine from the committed output folder (implies istio.install: helm).',
          properties: {
            engine: { enum: ['flux', 'argocd'], description: 'flux: HelmReleases and Kustomizations. argocd: Applications.' },
            repoURL: { type: 'string', minLength: 1, description: 'Git repository the output is committed to (Argo CD Applications need it).' },
            targetRevision: { type: 'string', minLength: 1, description: 'Branch, tag or commit to follow. Default: HEAD.' },
            path: {
              type: 'string',
              minLength: 1,
              description: 'Path of the output folder inside that repository. Default: dist.',
            },
            flux: {
              type: 'object',
              additionalProperties: false,
              description: 'Flux settings.',
              properties: {
                sourceRef: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name'],
                  description: 'The GitRepository that holds the output. Default: flux-system in flux-system.',
                  properties: {
                    name: { type: 'string', minLength: 1, description: 'GitRepository name.' },
                    namespace: { type: 'string', minLength: 1, description: 'Its namespace. Default: flux-system.' },
                  },
                },
                interval: { type: 'string', pattern: '^[0-9]+(s|m|h)$', description: 'Reconcile interval. Default: 10m.' },
              },
            },
            argocd: {
              type: 'object',
              additionalProperties: false,
              description: 'Argo CD settings.',
              properties: {
                namespace: { type: 'string', minLength: 1, description: 'Namespace of Argo CD. Default: argocd.' },
                project: { type: 'string', minLength: 1, description: 'AppProject of the Applications. Default: default.' },
              },
            },
          },
        },
        credentials: credentialsSchema('Defaults for every cluster\'s credentials block.'),
        secrets: secretsSchema('How Secrets that hold keys or tokens are written into the output, for every cluster (a cluster may override it).'),
        samples: samplesSchema(
          'Istio sample apps to check the mesh with, in namespace sample of every cluster: helloworld (v1 and v2 in alternate clusters) and sleep. Default: none.',
        ),
        platform: {
          enum: ['kubernetes', 'openshift'],
          default: 'kubernetes',
          description:
            'Kubernetes distribution of every cluster (a cluster may override it). openshift adds Istio\'s CNI node agent (a Sail IstioCNI resource) and needs istio.install: sail. Default: kubernetes.',
        },
        dataplane: {
          enum: ['sidecar', 'ambient'],
          default: 'sidecar',
          description:
            'Istio data plane: sidecar proxies, or ambient (ztunnel on every node, waypoints for L7; Istio 1.27 or later, multi-primary on one network per cluster). Default: sidecar.',
        },
        ambient: {
          type: 'object',
          additionalProperties: false,
          description: 'Ambient settings (dataplane: ambient).',
          properties: {
            globalServices: {
              type: 'array',
              description:
                'Services reachable from every cluster of the mesh (ambient services are cluster-local otherwise), as meshConfig.serviceScopeConfigs entries. A Service labelled istio.io/global: "true" is global as well.',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['namespace'],
                properties: {
                  namespace: { type: 'string', pattern: DNS1123_LABEL_PATTERN, maxLength: DNS1123_LABEL_MAX, description: 'Namespace of the services.' },
                  selector: {
                    type: 'object',
                    additionalProperties: { type: 'string' },
                    description: 'Labels the Services carry (matchLabels). Default: every Service of the namespace.',
                  },
                },
              },
            },
            waypoints: {
              type: 'array',
              description: 'Waypoint proxies, written identically into every cluster, as Istio asks for ambient multicluster.',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['namespace'],
                properties: {
                  namespace: { type: 'string', pattern: DNS1123_LABEL_PATTERN, maxLength: DNS1123_LABEL_MAX, description: 'Namespace of the waypoint.' },
                  name: { type: 'string', pattern: DNS1123_LABEL_PATTERN, maxLength: DNS1123_LABEL_MAX, default: 'waypoint', description: 'Name of the waypoint Gateway. Default: waypoint.' },
                  for: {
                    enum: ['service', 'workload', 'all'],
                    default: 'service',
                    description: 'Traffic the waypoint handles (label istio.io/waypoint-for). Default: service.',
                  },
                  global: {
                    type: 'boolean',
                    default: true,
                    description: 'Mark the waypoint\'s Service global, so that it serves calls from every cluster. Default: true.',
                  },
                },
              },
            },
          },
        },
        clusters: {
          type: 'array',
          minItems: 1,
          description: 'Clusters of the mesh; each gets its own dist/<name> folder.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'context', 'network'],
            properties: {
              name: {
                $ref: '#/definitions/dnsLabel',
                description: 'values.global.multiCluster.clusterName and the output folder name; unique in the file.',
              },
              context: {
                type: 'string',
                minLength: 1,
                description: 'kube context of the cluster, used in the generated commands.',
              },
              network: {
                $ref: '#/definitions/dnsLabel',
                description: 'Network of the cluster: values.global.network and the topology.istio.io/network label.',
              },
              role: {
                enum: ['primary', 'remote'],
                default: 'primary',
                description: 'primary: the cluster runs its own istiod. remote: the istiod of its controlPlane serves it.',
              },
              locality: {
                type: 'string',
                pattern: '^[^/]+(/[^/]+){0,2}$',
                description: 'Istio locality region[/zone[/subzone]] of the cluster, set on the endpoints other meshes reach it at, for failover.',
              },
              controlPlane: {
                $ref: '#/definitions/dnsLabel',
                description: 'For role: remote: the name of the primary cluster, in this mesh, whose istiod serves this cluster.',
              },
              samples: samplesSchema('Sample apps for this cluster, instead of the mesh\'s list.'),
              platform: {
                enum: ['kubernetes', 'openshift'],
                description: 'Kubernetes distribution of this cluster, over the mesh\'s platform.',
              },
              argocdCluster: {
                type: 'string',
                minLength: 1,
                description: 'With gitops.engine argocd: the cluster\'s name as registered in Argo CD. Default: the cluster name.',
              },
              credentials: credentialsSchema(
                'Where the credentials come from that other control planes use to read this cluster\'s API (its remote secrets).',
              ),
              secrets: secretsSchema('How this cluster\'s Secrets are written, over the mesh\'s secrets block (e.g. sealed-secrets here, sops elsewhere).'),
              eastWestGateway: {
                type: 'object',
                additionalProperties: false,
                description: 'How the cluster\'s east-west gateway is exposed, where it has one.',
                properties: {
                  serviceType: {
                    enum: ['LoadBalancer', 'NodePort'],
                    default: 'LoadBalancer',
                    description: 'Service type of the gateway. Default: LoadBalancer.',
                  },
                  annotations: {
                    type: 'object',
                    additionalProperties: { type: 'string' },
                    description: 'Extra annotations of the gateway Service, e.g. cloud load-balancer settings.',
                  },
                  address: {
                    type: 'string',
                    minLength: 1,
                    description:
                      'IP address or DNS name other clusters reach the gateway at; a primary that serves remotes needs one (their remotePilotAddress): set it here, or run `meshgen discover` after installing the primary, which stores it in the key store. This value always wins over a discovered one.',
                  },
                  port: {
                    type: 'integer',
                    minimum: 1,
                    maximum: 65535,
                    description:
                      'The port other meshes reach the gateway\'s mutual-TLS passthrough port (15443) at, with address: a NodePort gateway serves it on the node port of its `tls` port. Default: 15443. `meshgen discover` stores it with the node address for a NodePort gateway.',
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  definitions: {
    dnsLabel: {
      type: 'string',
      pattern: DNS1123_LABEL_PATTERN,
      maxLength: DNS1123_LABEL_MAX,
      description: 'A DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit.',
    },
  },
} as const;

/** JSON Schema (draft-07) of one `MeshFederation` document. */
export const federationSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'meshgen MeshFederation',
  description: 'Separate meshes that share some services through their east-west gateways.',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: MESHGEN_API_VERSION, description: 'Topology API version.' },
    kind: { const: 'MeshFederation', description: 'Document kind.' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      description: 'Identity of the federation.',
      properties: { name: { $ref: '#/definitions/dnsLabel', description: 'Federation name.' } },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['meshes', 'exports'],
      description: 'The federated meshes and the services they share.',
      properties: {
        meshes: {
          type: 'array',
          minItems: 2,
          uniqueItems: true,
          items: { $ref: '#/definitions/dnsLabel' },
          description: 'Names of the Mesh documents that take part.',
        },
        trust: {
          enum: ['shared-root', 'trust-bundles'],
          default: 'shared-root',
          description:
            'shared-root: the meshes share one root CA (one trust.keyStore). trust-bundles: each mesh keeps its own root and trusts the others\' roots (meshConfig.caCertificates). Default: shared-root.',
        },
        hostSuffix: {
          $ref: '#/definitions/dnsLabel',
          default: 'global',
          description: 'Suffix of exported hosts: <service>.<namespace>.<hostSuffix>. Default: global.',
        },
        addressAllocation: {
          enum: ['auto', 'static'],
          default: 'auto',
          description: 'auto: Istio allocates an address for each exported host. static: meshgen writes a stable address into each ServiceEntry. Default: auto.',
        },
        exports: {
          type: 'array',
          minItems: 1,
          description: 'Services one mesh runs and others may call.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['service', 'namespace', 'from', 'to', 'ports'],
            properties: {
              service: { $ref: '#/definitions/dnsLabel', description: 'Kubernetes Service name.' },
              namespace: { $ref: '#/definitions/dnsLabel', description: 'Namespace of the Service.' },
              from: { $ref: '#/definitions/dnsLabel', description: 'The mesh that runs it.' },
              to: { type: 'array', minItems: 1, uniqueItems: true, items: { $ref: '#/definitions/dnsLabel' }, description: 'Meshes that may call it.' },
              ports: {
                type: 'array',
                minItems: 1,
                description: 'Ports of the Service that are shared.',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['number', 'name', 'protocol'],
                  properties: {
                    number: { type: 'integer', minimum: 1, maximum: 65535, description: 'Port number.' },
                    targetPort: {
                      type: 'integer',
                      minimum: 1,
                      maximum: 65535,
                      description: 'Port of the pods behind it, when it differs from number (the Service\'s targetPort).',
                    },
                    name: { $ref: '#/definitions/dnsLabel', description: 'Port name.' },
                    protocol: {
                      enum: ['HTTP', 'HTTP2', 'GRPC', 'TCP', 'TLS', 'HTTPS', 'MONGO'],
                      description: 'Istio protocol of the port.',
                    },
                  },
                },
              },
              selector: {
                type: 'object',
                additionalProperties: { type: 'string' },
                description: 'Labels of the Service\'s pods. Default: {app: <service>}.',
              },
              clusters: {
                type: 'array',
                minItems: 1,
                uniqueItems: true,
                items: { $ref: '#/definitions/dnsLabel' },
                description: 'Clusters of the exporting mesh that run the Service. Default: all of them.',
              },
              split: {
                type: 'object',
                additionalProperties: false,
                required: ['local', 'remote'],
                description: 'Split calls to the importing mesh\'s own copy of the Service between it and the exported one, in percent.',
                properties: {
                  local: { type: 'integer', minimum: 0, maximum: 100, description: 'Percent to the local copy.' },
                  remote: { type: 'integer', minimum: 0, maximum: 100, description: 'Percent to the exported copy.' },
                },
              },
            },
          },
        },
      },
    },
  },
  definitions: meshSchema.definitions,
} as const;

/** The published schema: a topology document is a Mesh or a MeshFederation, told apart by kind. */
export const topologySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: MESH_SCHEMA_ID,
  title: 'meshgen topology document',
  description: 'One document of a meshgen topology file: a Mesh or a MeshFederation.',
  if: { type: 'object', properties: { kind: { const: 'MeshFederation' } }, required: ['kind'] },
  then: { $ref: '#/definitions/federation' },
  else: { $ref: '#/definitions/mesh' },
  definitions: {
    mesh: { ...withoutMeta(meshSchema), definitions: undefined },
    federation: { ...withoutMeta(federationSchema), definitions: undefined },
    dnsLabel: meshSchema.definitions.dnsLabel,
  },
};

function withoutMeta<T extends { $schema?: string; $id?: string }>(schema: T): Omit<T, '$schema' | '$id'> {
  const { $schema: _s, $id: _i, ...rest } = schema;
  void _s;
  void _i;
  return rest;
}
