/**
 * Turns topology files into the model: read → parse → schema check →
 * cross-document validation → resolve defaults. Collects every problem of
 * every file and throws one TopologyError listing them all.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Problem, TopologyError } from '../errors';
import { compareStrings, sortBy } from '../order';
import { plural } from '../text';
import { convertPeerAs, peerFormatOf } from './peers';
import { checkSchema, nearest, PRECOMPILED_SCHEMAS } from './schema-check';
import { formatPath, parseSource, problemAt, readSource, SourceDocument } from './source';
import {
  ClusterModel,
  CredentialSettings,
  DEFAULT_SOPS_DECRYPTION_SECRET,
  SecretSettings,
  BringYourOwnCA,
  DEFAULT_CERTIFICATE_PROFILE,
  DEFAULT_TRUST_DOMAIN,
  externalKeyFor,
  FederationModel,
  ServiceExport,
  DEFAULT_ISTIO_HUB,
  keyStorePath,
  MESHGEN_API_VERSION,
  MeshModel,
  Topology,
} from './types';
import type { CredentialsValue, FederationDocumentValue, MeshDocumentValue, SecretsValue } from './documents';
import { DiscoveredAddresses, gatewayAddressOf, readDiscoveredOrProblem } from './discovered';
import { obj, str, validateMeshDocuments } from './validate';
import { validateFederations } from './validate-federation';
import { checkSecrets, mergeSecrets } from './validate-secrets';


/** A topology file's contents, for loading text that is not on disk. */
export interface TopologySource {
  /** Name used in messages and to resolve relative paths. */
  readonly file: string;
  /** The YAML text. */
  readonly text: string;
}

/** Options of loadTopology() and parseTopology(). */
export interface LoadOptions {
  /**
   * What becomes of the addresses `meshgen discover` stored in each key
   * store (`<keyStore>/discovered.json`):
   * - `read`: they are read, and a damaged file is a problem of the topology;
   * - `lenient`: they are read, and a damaged file is read as empty: for
   *   `meshgen discover`, which replaces it;
   * - `skip`: they are not read: for a topology being written (init,
   *   convert), which is checked as a text; whatever a key store beside it
   *   holds is not its business.
   * @default 'read'
   */
  readonly discovered?: 'read' | 'lenient' | 'skip';
}

/** Reads, checks and resolves topology files. Throws TopologyError listing every problem. */
export function loadTopology(files: string | readonly string[], opts: LoadOptions = {}): Topology {
  const list = typeof files === 'string' ? [files] : [...files];
  const problems: Problem[] = [];
  const sources: TopologySource[] = [];
  for (const file of list) {
    const { text, problem } = readSource(file);
    if (problem) problems.push(problem);
    else sources.push({ file, text: text ?? '' });
  }
  // A file that cannot be read is a wrong path, not a wrong topology; the files that were read are not checked without it.
  if (problems.length > 0) {
    throw new TopologyError(`cannot read ${problems.length === 1 ? 'the topology file' : 'the topology files'} ${problems.map((p) => p.file).join(', ')}`, problems);
  }
  return parseTopology(sources, [], opts);
}

/** Checks and resolves topology texts. Throws TopologyError listing every problem. */
export function parseTopology(sources: readonly TopologySource[], earlier: readonly Problem[] = [], opts: LoadOptions = {}): Topology {
  const problems: Problem[] = [...earlier];
  const meshDocs: SourceDocument[] = [];
  const fedDocs: SourceDocument[] = [];
  for (const original of sources) {
    let source = original;
    let parsed = parseSource(original.file, original.text);
    // A peer tool's file (ristioctl, setup-mesh) is read through its conversion to the native format.
    const format = peerFormatOf(parsed.docs.map((d) => d.value));
    if (format) {
      try {
        source = { file: `${original.file} (read as ${format})`, text: convertPeerAs(format, original.file, original.text).yaml };
      } catch (err) {
        if (!(err instanceof TopologyError)) throw err;
        problems.push(...err.problems);
        continue;
      }
      parsed = parseSource(source.file, source.text);
    }
    problems.push(...parsed.problems);
    if (parsed.docs.length === 0 && parsed.problems.length === 0) {
      problems.push({
        file: source.file,
        message: 'holds no topology document',
        fix: `start it with apiVersion: ${MESHGEN_API_VERSION} and kind: Mesh (see examples/mesh.yaml)`,
      });
    }
    for (const doc of parsed.docs) {
      const kind = kindOf(doc, problems);
      if (!kind) continue;
      problems.push(...checkSchema(doc, PRECOMPILED_SCHEMAS[kind]));
      if (kind === 'Mesh') meshDocs.push(doc);
      else fedDocs.push(doc);
    }
  }
  const discovered = opts.discovered === 'skip' ? () => new Map() : discoveredAddresses(meshDocs, opts.discovered === 'lenient' ? [] : problems);
  problems.push(
    ...validateMeshDocuments(meshDocs),
    ...meshDocs.flatMap(checkSecrets),
    ...validateFederations(fedDocs, meshDocs, discovered),
  );
  if (problems.length > 0) {
    const files = [...new Set(problems.map((p) => p.file).filter(Boolean))].join(', ');
    throw new TopologyError(`invalid topology${files ? ` in ${files}` : ''}: ${plural(problems.length, 'problem')}`, problems);
  }
  const meshes = withStoreSharing(
    sortBy(
      meshDocs.map((doc) => toMeshModel(doc, discovered(doc))),
      (m) => m.name,
    ),
  );
  const federations = sortBy(
    fedDocs.map((doc) => toFederationModel(doc, meshes)),
    (f) => f.name,
  );
  return { meshes, federations, files: sources.map((s) => s.file) };
}

/**
 * The gateway addresses `meshgen discover` stored in each Mesh document's key
 * store (`<keyStore>/discovered.json`), read once per key store; a damaged
 * file adds one problem naming it.
 */
function discoveredAddresses(meshDocs: readonly SourceDocument[], problems: Problem[]): (doc: SourceDocument) => DiscoveredAddresses {
  const byStore = new Map<string, DiscoveredAddresses>();
  const byDoc = new Map<SourceDocument, DiscoveredAddresses>();
  for (const doc of meshDocs) {
    const store = keyStorePath(doc.file, str(obj(obj(obj(doc.value).spec).trust).keyStore));
    let addresses = byStore.get(store);
    if (!addresses) {
      const read = readDiscoveredOrProblem(store);
      if (read.problem) problems.push(read.problem);
      addresses = read.addresses;
      byStore.set(store, addresses);
    }
    byDoc.set(doc, addresses);
  }
  return (doc) => byDoc.get(doc) ?? new Map();
}

/** Each mesh with the other meshes of the topology that use its key store (trust.storeSharedWith). */
function withStoreSharing(meshes: readonly MeshModel[]): MeshModel[] {
  return meshes.map((mesh) => {
    const others = meshes.filter((m) => m !== mesh && m.trust.keyStore === mesh.trust.keyStore).map((m) => m.name);
    return others.length === 0 ? mesh : { ...mesh, trust: { ...mesh.trust, storeSharedWith: others } };
  });
}

function kindOf(doc: SourceDocument, problems: Problem[]): string | undefined {
  const value = doc.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(
      problemAt(doc, [], `document ${doc.index + 1} is not a mapping`, `write a topology document with apiVersion: ${MESHGEN_API_VERSION} and kind: Mesh`),
    );
    return undefined;
  }
  const kind = (value as Record<string, unknown>).kind;
  const known = Object.keys(PRECOMPILED_SCHEMAS);
  if (typeof kind === 'string' && known.includes(kind)) return kind;
  if (kind === undefined) {
    problems.push(problemAt(doc, [], `document ${doc.index + 1} has no "kind"`, `add kind: ${known.join(' or ')}`));
  } else {
    const near = typeof kind === 'string' ? nearest(kind, known) : undefined;
    problems.push(
      problemAt(doc, ['kind'], `unknown kind ${JSON.stringify(kind)}`, near ? `did you mean "${near}"?` : `use one of: ${known.join(', ')}`),
    );
  }
  return undefined;
}

/** The CA the user brings, if any, with paths resolved against the topology file. */
function byoOf(trust: MeshDocumentValue['spec']['trust'], base: string): BringYourOwnCA | undefined {
  if (!trust) return undefined;
  const file = (p: string) => expandPath(p, base);
  if (trust.certManager) {
    return {
      kind: 'cert-manager',
      rootCert: trust.rootCert === undefined ? undefined : file(trust.rootCert),
      issuerRef: { name: trust.certManager.issuerRef.name, kind: trust.certManager.issuerRef.kind ?? 'ClusterIssuer', group: trust.certManager.issuerRef.group ?? 'cert-manager.io' },
      duration: trust.certManager.duration ?? '8760h',
      renewBefore: trust.certManager.renewBefore ?? '720h',
    };
  }
  if (trust.rootCert !== undefined && trust.rootKey !== undefined) return { kind: 'root', rootCert: file(trust.rootCert), rootKey: file(trust.rootKey) };
  if (trust.rootCert !== undefined && trust.intermediates !== undefined) {
    return {
      kind: 'intermediates',
      rootCert: file(trust.rootCert),
      intermediates: Object.fromEntries(Object.entries(trust.intermediates).map(([c, f]) => [c, { cert: file(f.cert), key: file(f.key) }])),
    };
  }
  return undefined;
}

/** `3650d` or `87600h` as hours. */
function hours(validity: string | undefined): number | undefined {
  if (validity === undefined) return undefined;
  const n = Number(validity.slice(0, -1));
  return validity.endsWith('d') ? n * 24 : n;
}

function toFederationModel(doc: SourceDocument, meshes: readonly MeshModel[]): FederationModel {
  const f = doc.value as FederationDocumentValue;
  const hostSuffix = f.spec.hostSuffix ?? 'global';
  const exports: ServiceExport[] = f.spec.exports.map((e) => {
    const from = meshes.find((m) => m.name === e.from);
    return {
      service: e.service,
      namespace: e.namespace,
      from: e.from,
      to: [...e.to].sort(compareStrings),
      ports: e.ports.map((p) => ({ number: p.number, targetPort: p.targetPort, name: p.name, protocol: p.protocol })),
      selector: e.selector ?? { app: e.service },
      clusters: [...(e.clusters ?? from?.clusters.map((c) => c.name) ?? [])].sort(compareStrings),
      split: e.split,
      host: `${e.service}.${e.namespace}.${hostSuffix}`,
    };
  });
  return {
    name: f.metadata.name,
    meshes: [...f.spec.meshes].sort(compareStrings),
    trust: f.spec.trust ?? 'shared-root',
    hostSuffix,
    addressAllocation: f.spec.addressAllocation ?? 'auto',
    exports: sortBy(exports, (e) => `${e.host}\n${e.from}`),
    source: { file: doc.file, document: doc.index },
  };
}


/** Merges mesh-level credential defaults under a cluster's own and resolves paths against the topology file. */
function resolveCredentials(raw: CredentialsValue, base: string, cluster: string): CredentialSettings {
  const store = raw.secretStore;
  return {
    source: raw.source ?? 'kubeconfig',
    explicit: raw.source !== undefined || raw.kubeconfig !== undefined,
    kubeconfig: raw.kubeconfig === undefined ? [] : [expandPath(raw.kubeconfig, base)],
    server: raw.server,
    external:
      store && raw.key ? { storeName: store.name, storeKind: store.kind ?? 'ClusterSecretStore', key: externalKeyFor(raw.key, cluster), property: raw.property } : undefined,
  };
}

/** A cluster's secret settings: its own `secrets` block over the mesh's (checked by checkSecrets before). */
function resolveSecrets(mesh: SecretsValue | undefined, own: SecretsValue | undefined, index: number, cluster: string, base: string): SecretSettings {
  const merged = mergeSecrets(mesh, own, index);
  switch (merged.encryption.value) {
    case 'sops':
      return { encryption: 'sops', age: merged.age?.value ?? [], decryptionSecret: merged.decryptionSecret?.value ?? DEFAULT_SOPS_DECRYPTION_SECRET };
    case 'sealed-secrets':
      return {
        encryption: 'sealed-secrets',
        cert: expandPath(externalKeyFor(merged.cert?.value ?? '', cluster), base),
        certKey: formatPath(merged.cert?.at ?? merged.encryption.at),
        scope: merged.scope?.value ?? 'strict',
      };
    default:
      return { encryption: 'none' };
  }
}

/** Resolves `~/…` against the home folder and relative paths against `base`. */
function expandPath(p: string, base: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(base, p);
}

function toMeshModel(doc: SourceDocument, discovered: DiscoveredAddresses): MeshModel {
  const m = doc.value as MeshDocumentValue;
  const base = path.dirname(path.resolve(doc.file));
  const clusters = toClusterModels(m, base, discovered);
  return {
    name: m.metadata.name,
    meshID: m.spec.meshID ?? m.metadata.name,
    dataplane: m.spec.dataplane ?? 'sidecar',
    ambient: {
      globalServices: sortBy(
        (m.spec.ambient?.globalServices ?? []).map((g) => ({ namespace: g.namespace, selector: { ...(g.selector ?? {}) } })),
        (g) => `${g.namespace}\n${JSON.stringify(g.selector)}`,
      ),
      waypoints: sortBy(
        (m.spec.ambient?.waypoints ?? []).map((w) => ({ namespace: w.namespace, name: w.name ?? 'waypoint', for: w.for ?? 'service', global: w.global ?? true })),
        (w) => `${w.namespace}\n${w.name}`,
      ),
    },
    trustDomain: m.spec.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    istio: {
      version: m.spec.istio.version,
      hub: m.spec.istio.hub ?? DEFAULT_ISTIO_HUB,
      revision: m.spec.istio.revision,
      install: m.spec.istio.install ?? (m.spec.gitops ? 'helm' : 'istioctl'),
    },
    gitops: m.spec.gitops
      ? {
          engine: m.spec.gitops.engine,
          repoURL: m.spec.gitops.repoURL,
          targetRevision: m.spec.gitops.targetRevision ?? 'HEAD',
          path: (m.spec.gitops.path ?? 'dist').replace(/\/+$/, ''),
          flux: {
            sourceName: m.spec.gitops.flux?.sourceRef?.name ?? 'flux-system',
            sourceNamespace: m.spec.gitops.flux?.sourceRef?.namespace ?? 'flux-system',
            interval: m.spec.gitops.flux?.interval ?? '10m',
          },
          argocd: { namespace: m.spec.gitops.argocd?.namespace ?? 'argocd', project: m.spec.gitops.argocd?.project ?? 'default' },
        }
      : undefined,
    trust: toTrustSettings(doc, m, base),
    clusters,
    source: { file: doc.file, document: doc.index },
  };
}

/** A mesh's clusters, sorted by name, with the mesh's defaults applied and paths resolved against `base`. */
function toClusterModels(m: MeshDocumentValue, base: string, discovered: DiscoveredAddresses): ClusterModel[] {
  return sortBy(
    m.spec.clusters.map((c, index) => ({
      name: c.name,
      context: c.context,
      network: c.network,
      role: c.role ?? 'primary',
      controlPlane: c.controlPlane,
      locality: c.locality,
      eastWestGateway: {
        serviceType: c.eastWestGateway?.serviceType ?? 'LoadBalancer',
        annotations: c.eastWestGateway?.annotations ?? {},
        ...gatewayAddressOf(c.eastWestGateway, discovered, c.name),
      },
      credentials: resolveCredentials({ ...m.spec.credentials, ...c.credentials }, base, c.name),
      samples: [...(c.samples ?? m.spec.samples ?? [])].sort(compareStrings),
      argocdCluster: c.argocdCluster ?? c.name,
      platform: c.platform ?? m.spec.platform ?? 'kubernetes',
      secrets: resolveSecrets(m.spec.secrets, c.secrets, index, c.name, base),
    })),
    (c) => c.name,
  );
}

/** A mesh's trust settings: its key store, the profile of certificates meshgen makes, and the root key's protection. */
function toTrustSettings(doc: SourceDocument, m: MeshDocumentValue, base: string): MeshModel['trust'] {
  return {
    keyStore: keyStorePath(doc.file, m.spec.trust?.keyStore),
    profile: {
      ...keyProfile(m.spec.trust?.keyAlgorithm ?? 'RSA-4096'),
      rootValidityHours: hours(m.spec.trust?.rootValidity) ?? DEFAULT_CERTIFICATE_PROFILE.rootValidityHours,
      intermediateValidityHours: hours(m.spec.trust?.intermediateValidity) ?? DEFAULT_CERTIFICATE_PROFILE.intermediateValidityHours,
      organization: m.spec.trust?.organization ?? DEFAULT_CERTIFICATE_PROFILE.organization,
      rootCommonName: m.spec.trust?.rootCommonName ?? DEFAULT_CERTIFICATE_PROFILE.rootCommonName,
      intermediateCommonName: m.spec.trust?.intermediateCommonName ?? DEFAULT_CERTIFICATE_PROFILE.intermediateCommonName,
      extraSANs: m.spec.trust?.extraSANs ?? [],
    },
    encryptRootKey: m.spec.trust?.encryptRootKey ?? false,
    passphrase: {
      env: m.spec.trust?.passphrase?.env,
      file: m.spec.trust?.passphrase?.file === undefined ? undefined : expandPath(m.spec.trust.passphrase.file, base),
    },
    byo: byoOf(m.spec.trust, base),
  };
}

/** keyBits or curve of a `trust.keyAlgorithm`. */
function keyProfile(algorithm: string): { keyBits: 2048 | 3072 | 4096; curve?: 'P-256' | 'P-384' } {
  if (algorithm.startsWith('ECDSA-P')) return { keyBits: DEFAULT_CERTIFICATE_PROFILE.keyBits, curve: `P-${algorithm.slice(7)}` as 'P-256' | 'P-384' };
  return { keyBits: Number(algorithm.slice(4)) as 2048 | 3072 | 4096 };
}
