/**
 * Checks that span keys or documents. They run on every Mesh document, also
 * on those that fail their schema, so that one run reports every problem:
 * values of the wrong shape are skipped here (the schema check names them).
 * Pure: every problem is collected, nothing is thrown here.
 *
 * Long because it holds every cross-field rule of a Mesh document, one short function each.
 */
import { isIP } from 'node:net';
import { Problem } from '../errors';
import { nearest } from './schema-check';
import { formatPath, problemAt, SourceDocument } from './source';
import { externalKeyFor } from './types';

/** Oldest Istio release meshgen writes for: it emits networking.istio.io/v1 objects. */
export const MIN_ISTIO_VERSION: readonly [number, number] = [1, 22];

interface Seen {
  doc: SourceDocument;
  path: (string | number)[];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Where a value was first used, to report any later use of the same value. */
export class FirstUses {
  private readonly seen = new Map<string, Seen & { owner: string }>();

  constructor(private readonly problems: Problem[]) {}

  /**
   * Records `value` at `path`, or, when it was used before, adds a problem
   * built by `message` from the first use's location and owner. Returns
   * whether the value was new.
   */
  claim(
    value: string | undefined,
    doc: SourceDocument,
    path: (string | number)[],
    message: (firstAt: string, firstOwner: string) => string,
    fix: string,
    owner = '',
  ): boolean {
    if (value === undefined) return true;
    const first = this.seen.get(value);
    if (!first) {
      this.seen.set(value, { doc, path, owner });
      return true;
    }
    const pos = first.doc.locate(first.path);
    const at = `${first.doc.file}${pos ? `:${pos.line}` : ''} (${formatPath(first.path)})`;
    this.problems.push(problemAt(doc, path, message(at, first.owner), fix));
    return false;
  }
}

/**
 * Every cross-key problem of a set of Mesh documents. A primary serving remotes may lack a gateway address:
 * its remotes then wait for `meshgen discover` (model/plan.ts awaitingAddress()).
 */
export function validateMeshDocuments(docs: readonly SourceDocument[]): Problem[] {
  const problems: Problem[] = [];
  const meshNames = new FirstUses(problems);
  const meshIDs = new FirstUses(problems);
  const clusterNames = new FirstUses(problems);
  const contexts = new FirstUses(problems);

  for (const doc of docs) {
    const spec = obj(obj(doc.value).spec);
    const name = str(obj(obj(doc.value).metadata).name);
    const newName = meshNames.claim(
      name,
      doc,
      ['metadata', 'name'],
      (at) => `mesh "${name}" is already defined at ${at}`,
      'give each Mesh document its own metadata.name',
    );
    // A repeated name already implies a repeated mesh ID: report it once.
    if (newName) {
      const meshID = str(spec.meshID) ?? name;
      meshIDs.claim(
        meshID,
        doc,
        str(spec.meshID) ? ['spec', 'meshID'] : ['metadata', 'name'],
        (at) => `mesh ID "${meshID}" is already the mesh ID of the mesh at ${at}`,
        'list all clusters of one mesh in a single Mesh document, or give this mesh its own spec.meshID',
      );
    }

    const version = str(obj(spec.istio).version);
    const [major, minor] = (version ?? '').split('.').map(Number);
    if (version && (major < MIN_ISTIO_VERSION[0] || (major === MIN_ISTIO_VERSION[0] && minor < MIN_ISTIO_VERSION[1]))) {
      problems.push(
        problemAt(
          doc,
          ['spec', 'istio', 'version'],
          `Istio ${version} is too old: meshgen writes networking.istio.io/v1 objects, served from Istio ${MIN_ISTIO_VERSION.join('.')}`,
          `use Istio ${MIN_ISTIO_VERSION.join('.')}.0 or later`,
        ),
      );
    }

    const clusters = Array.isArray(spec.clusters) ? spec.clusters : [];
    clusters.forEach((raw, i) => {
      const cluster = obj(raw);
      const clusterName = str(cluster.name);
      clusterNames.claim(
        clusterName,
        doc,
        ['spec', 'clusters', i, 'name'],
        (at) => `cluster name "${clusterName}" is already used at ${at}`,
        'cluster names are output folder names and Istio cluster IDs: make each one unique in the topology',
      );
      const context = str(cluster.context);
      contexts.claim(
        context,
        doc,
        ['spec', 'clusters', i, 'context'],
        (at, owner) => `context "${context}" is already the context of cluster "${owner}" at ${at}`,
        'each cluster is one Kubernetes cluster: give it the kube context that points at it',
        clusterName ?? `#${i}`,
      );
    });
  }
  problems.push(...checkNetworksAcrossMeshes(docs));
  for (const doc of docs) {
    problems.push(...checkRoles(doc, docs), ...checkAddresses(doc), ...checkCredentials(doc), ...checkGitOps(doc), ...checkPlatform(doc), ...checkAmbient(doc), ...checkTrustSource(doc), ...checkValidities(doc));
  }
  return problems;
}

interface RawCluster {
  index: number;
  name?: string;
  network?: string;
  role: string;
  controlPlane?: string;
  serviceType: string;
  address?: string;
}

function meshNameOf(doc: SourceDocument): string | undefined {
  return str(obj(obj(doc.value).metadata).name);
}

function rawClusters(doc: SourceDocument): RawCluster[] {
  const clusters = obj(obj(doc.value).spec).clusters;
  return (Array.isArray(clusters) ? clusters : []).map((raw, index) => {
    const c = obj(raw);
    const gw = obj(c.eastWestGateway);
    return {
      index,
      name: str(c.name),
      network: str(c.network),
      role: str(c.role) ?? 'primary',
      controlPlane: str(c.controlPlane),
      serviceType: str(gw.serviceType) ?? 'LoadBalancer',
      address: str(gw.address),
    };
  });
}

const clusterPath = (c: RawCluster, ...rest: string[]) => ['spec', 'clusters', c.index, ...rest];

/** A network belongs to one mesh: istiod would merge the endpoints of both meshes' clusters. */
function checkNetworksAcrossMeshes(docs: readonly SourceDocument[]): Problem[] {
  const problems: Problem[] = [];
  const owner = new Map<string, { mesh: string; doc: SourceDocument; cluster: RawCluster }>();
  for (const doc of docs) {
    const mesh = meshNameOf(doc);
    if (mesh === undefined) continue;
    for (const c of rawClusters(doc)) {
      if (c.network === undefined) continue;
      const first = owner.get(c.network);
      if (!first) {
        owner.set(c.network, { mesh, doc, cluster: c });
      } else if (first.mesh !== mesh) {
        const pos = first.doc.locate(clusterPath(first.cluster, 'network'));
        problems.push(
          problemAt(
            doc,
            clusterPath(c, 'network'),
            `network "${c.network}" is already a network of mesh "${first.mesh}" (cluster "${first.cluster.name}" at ${first.doc.file}${pos ? `:${pos.line}` : ''}); a network belongs to one mesh`,
            'give the networks of different meshes different names',
          ),
        );
      }
    }
  }
  return problems;
}

/** Primary-remote rules: every remote is served by a reachable primary of its own mesh. */
function checkRoles(doc: SourceDocument, all: readonly SourceDocument[]): Problem[] {
  const problems: Problem[] = [];
  const mesh = meshNameOf(doc) ?? '(unnamed)';
  const clusters = rawClusters(doc);
  const byName = new Map(clusters.filter((c) => c.name !== undefined).map((c) => [c.name as string, c]));
  if (clusters.length > 0 && clusters.every((c) => c.role === 'remote')) {
    problems.push(
      problemAt(
        doc,
        ['spec', 'clusters'],
        `mesh "${mesh}" has no primary cluster: every cluster is a remote, so no istiod would serve them`,
        'make at least one cluster role: primary (the default) and point the remotes at it with controlPlane',
      ),
    );
  }
  for (const c of clusters) {
    if (c.role !== 'remote') {
      if (c.controlPlane !== undefined) {
        problems.push(
          problemAt(
            doc,
            clusterPath(c, 'controlPlane'),
            `only a remote cluster has a controlPlane, and "${c.name}" is a primary`,
            'add role: remote to make it a remote of that primary, or remove controlPlane',
          ),
        );
      }
      continue;
    }
    checkRemote(doc, c, mesh, byName, all, problems);
  }
  return problems;
}

/** Checks one remote cluster: it names a controlPlane, which is a primary of its own mesh whose istiod it can reach. */
function checkRemote(doc: SourceDocument, c: RawCluster, mesh: string, byName: Map<string, RawCluster>, all: readonly SourceDocument[], problems: Problem[]): void {
  if (c.controlPlane === undefined) {
    problems.push(
      problemAt(
        doc,
        clusterPath(c),
        `remote cluster "${c.name}" has no controlPlane`,
        'add controlPlane: <name of the primary cluster whose istiod serves it>',
      ),
    );
    return;
  }
  const primary = byName.get(c.controlPlane);
  if (!primary) {
    const elsewhere = otherMeshHaving(c.controlPlane, doc, all);
    const near = nearest(c.controlPlane, [...byName.keys()].filter((n) => byName.get(n)?.role !== 'remote'));
    problems.push(
      problemAt(
        doc,
        clusterPath(c, 'controlPlane'),
        elsewhere
          ? `controlPlane "${c.controlPlane}" is a cluster of mesh "${elsewhere}", not of mesh "${mesh}"`
          : `controlPlane "${c.controlPlane}" is not a cluster of mesh "${mesh}"`,
        near ? `did you mean "${near}"?` : `name a primary cluster of mesh "${mesh}"`,
      ),
    );
    return;
  }
  if (primary.role === 'remote') {
    problems.push(
      problemAt(
        doc,
        clusterPath(c, 'controlPlane'),
        `controlPlane "${c.controlPlane}" is itself a remote; a remote is served by a primary's istiod`,
        `name a primary cluster, or make "${c.controlPlane}" a primary`,
      ),
    );
    return;
  }
  if (c.network !== undefined && primary.network !== undefined && c.network !== primary.network && primary.serviceType === 'NodePort') {
    problems.push(
      problemAt(
        doc,
        clusterPath(primary, 'eastWestGateway', 'serviceType'),
        `remote "${c.name}" on network "${c.network}" cannot reach the istiod of "${primary.name}" on network "${primary.network}": ` +
          'remotes reach istiod on port 15012 of the primary\'s east-west gateway address, which a NodePort Service does not serve',
        `use serviceType: LoadBalancer for the east-west gateway of "${primary.name}"`,
      ),
    );
  }
}

/** The name of another mesh that has a cluster named `cluster`. */
function otherMeshHaving(cluster: string, doc: SourceDocument, all: readonly SourceDocument[]): string | undefined {
  const other = all.find((d) => d !== doc && rawClusters(d).some((c) => c.name === cluster));
  return other ? meshNameOf(other) : undefined;
}

/** Gateway addresses are IP addresses or DNS names. */
function checkAddresses(doc: SourceDocument): Problem[] {
  const problems: Problem[] = [];
  for (const c of rawClusters(doc)) {
    if (c.address === undefined || isIP(c.address) !== 0 || DNS1123_SUBDOMAIN.test(c.address)) continue;
    problems.push(
      problemAt(
        doc,
        clusterPath(c, 'eastWestGateway', 'address'),
        `"${c.address}" is neither an IP address nor a DNS name`,
        'give the IP address or hostname of the east-west gateway load balancer, without scheme or port',
      ),
    );
  }
  return problems;
}

/** An `external` source needs a store and a key; other sources take neither. */
function checkCredentials(doc: SourceDocument): Problem[] {
  const problems: Problem[] = [];
  const spec = obj(obj(doc.value).spec);
  const meshCreds = obj(spec.credentials);
  const clusters = Array.isArray(spec.clusters) ? spec.clusters : [];
  const seenKeys = new Map<string, string>();
  clusters.forEach((raw, i) => {
    const own = obj(obj(raw).credentials);
    const merged = { ...meshCreds, ...own };
    const source = str(merged.source) ?? 'kubeconfig';
    const at = (key: string): (string | number)[] =>
      key in own ? ['spec', 'clusters', i, 'credentials', key] : key in meshCreds ? ['spec', 'credentials', key] : ['spec', 'clusters', i];
    if (source === 'external') {
      for (const key of ['secretStore', 'key']) {
        if (merged[key] === undefined) {
          problems.push(
            problemAt(
              doc,
              at('source'),
              `cluster "${str(obj(raw).name)}" takes its credentials from an external secret store but names no ${key}`,
              key === 'key'
                ? 'add credentials.key: the key in the store that holds the kubeconfig of this cluster'
                : 'add credentials.secretStore: {name: <store>, kind: ClusterSecretStore}',
            ),
          );
        }
      }
      const key = str(merged.key);
      if (key !== undefined) {
        const resolved = `${externalKeyFor(key, str(obj(raw).name) ?? '')}\n${str(merged.property) ?? ''}`;
        const first = seenKeys.get(resolved);
        if (first !== undefined) {
          problems.push(
            problemAt(
              doc,
              at('key'),
              `clusters "${first}" and "${str(obj(raw).name)}" read the same key "${key}" of the secret store, so both remote secrets would open one API server`,
              'put {cluster} in the key (e.g. mesh/{cluster}/kubeconfig), or give each cluster its own credentials.key',
            ),
          );
        } else {
          seenKeys.set(resolved, str(obj(raw).name) ?? String(i));
        }
      }
    } else {
      for (const key of ['secretStore', 'key', 'property']) {
        if (merged[key] !== undefined) {
          problems.push(
            problemAt(doc, at(key), `${key} is only used with source: external, and the source is ${source}`, `remove ${key}, or set source: external`),
          );
        }
      }
    }
  });
  return problems;
}

/** Exactly one way to get the CA: made by meshgen, a root brought along, intermediates brought along, or cert-manager. */
function checkTrustSource(doc: SourceDocument): Problem[] {
  const spec = obj(obj(doc.value).spec);
  const trust = obj(spec.trust);
  const problems: Problem[] = [];
  const at = (key: string) => ['spec', 'trust', key];
  const has = (key: string) => trust[key] !== undefined;
  if (has('rootKey') && !has('rootCert')) problems.push(problemAt(doc, at('rootKey'), 'rootKey needs rootCert', 'add trust.rootCert: the certificate of that key'));
  if (has('intermediates') && !has('rootCert')) {
    problems.push(problemAt(doc, at('intermediates'), 'intermediates need the root they chain to', 'add trust.rootCert'));
  }
  if (has('intermediates') && has('rootKey')) {
    problems.push(problemAt(doc, at('intermediates'), 'give either rootKey (meshgen issues the intermediates) or intermediates (you issue them), not both', 'remove one of them'));
  }
  if (has('certManager') && (has('rootKey') || has('intermediates'))) {
    problems.push(problemAt(doc, at('certManager'), 'cert-manager makes the intermediates in the clusters, so rootKey and intermediates cannot be given too', 'remove them'));
  }
  if (has('certManager') && trust.encryptRootKey === true) {
    problems.push(problemAt(doc, at('encryptRootKey'), 'with cert-manager meshgen holds no root key to encrypt', 'remove encryptRootKey'));
  }
  if (has('intermediates')) {
    const given = obj(trust.intermediates);
    const clusters = (Array.isArray(spec.clusters) ? spec.clusters : []).map((c) => str(obj(c).name)).filter((n): n is string => n !== undefined);
    for (const name of Object.keys(given)) {
      if (!clusters.includes(name)) problems.push(problemAt(doc, [...at('intermediates'), name], `"${name}" is not a cluster of this mesh`, `use one of: ${clusters.join(', ')}`));
    }
    const missing = clusters.filter((c) => !(c in given));
    if (missing.length > 0) {
      problems.push(
        problemAt(doc, at('intermediates'), `no intermediate for ${missing.map((m) => `"${m}"`).join(', ')}`, 'give every cluster its intermediate {cert, key}, issued under rootCert'),
      );
    }
  }
  return problems;
}

/** Longest validity meshgen issues a certificate for: 100 years, well inside X.509's dates (to 9999) and any root's sensible life. */
export const MAX_VALIDITY_HOURS = 100 * 365 * 24;

/** Validities the schema's pattern accepts but no certificate should have. */
function checkValidities(doc: SourceDocument): Problem[] {
  const trust = obj(obj(obj(doc.value).spec).trust);
  const problems: Problem[] = [];
  const check = (at: (string | number)[], value: unknown, what: string) => {
    const v = str(value);
    const m = v === undefined ? null : /^([0-9]+)(d|h)$/.exec(v);
    if (!m) return;
    const hours = Number(m[1]) * (m[2] === 'd' ? 24 : 1);
    if (hours <= MAX_VALIDITY_HOURS) return;
    problems.push(
      problemAt(
        doc,
        at,
        `${what} of ${v} is more than 100 years (${MAX_VALIDITY_HOURS / 24}d); a certificate that long-lived cannot be rotated in any sensible time, and past year 9999 it cannot be written at all`,
        `use at most ${MAX_VALIDITY_HOURS / 24}d; Istio's tools/certs uses 3650d`,
      ),
    );
  };
  check(['spec', 'trust', 'rootValidity'], trust.rootValidity, 'a root validity');
  check(['spec', 'trust', 'intermediateValidity'], trust.intermediateValidity, 'an intermediate validity');
  const cm = obj(trust.certManager);
  check(['spec', 'trust', 'certManager', 'duration'], cm.duration, 'a cert-manager duration');
  check(['spec', 'trust', 'certManager', 'renewBefore'], cm.renewBefore, 'a renewBefore');
  return problems;
}

/**
 * OpenShift runs Istio's sidecars without privileged init containers only
 * with Istio's CNI node agent. The Sail operator (OpenShift Service Mesh 3)
 * installs it from an `IstioCNI` resource, which meshgen writes; the other
 * install forms would need the `cni` chart or component, which meshgen does
 * not write, so they are refused rather than written to fail on the cluster.
 *
 * @see https://istio.io/latest/docs/setup/platform-setup/openshift/
 */
function checkPlatform(doc: SourceDocument): Problem[] {
  const spec = obj(obj(doc.value).spec);
  const meshPlatform = str(spec.platform);
  const install = str(obj(spec.istio).install) ?? (spec.gitops !== undefined ? 'helm' : 'istioctl');
  if (install === 'sail') return [];
  const clusters = Array.isArray(spec.clusters) ? spec.clusters : [];
  const fix = 'set spec.istio.install: sail and install the Sail operator (OpenShift Service Mesh 3) on the cluster, which meshgen gives an IstioCNI resource';
  const problems: Problem[] = [];
  if (meshPlatform === 'openshift') {
    problems.push(problemAt(doc, ['spec', 'platform'], `OpenShift clusters need Istio's CNI node agent, which istio.install ${install} does not install from meshgen's output`, fix));
  }
  clusters.forEach((c, i) => {
    if (str(obj(c).platform) === 'openshift') {
      problems.push(
        problemAt(doc, ['spec', 'clusters', i, 'platform'], `cluster "${str(obj(c).name)}" runs OpenShift, which needs Istio's CNI node agent, and istio.install ${install} does not install it from meshgen's output`, fix),
      );
    }
  });
  return problems;
}

/** Oldest Istio release with ambient multicluster (its multi-network form is beta from 1.29). */
export const AMBIENT_MIN_ISTIO_VERSION: readonly [number, number] = [1, 27];

/**
 * Ambient meshes as Istio 1.30 supports them across clusters: multi-primary
 * (no remotes), one network per cluster (ambient's east-west gateway joins
 * networks; single-network ambient multicluster is untested upstream), not
 * on OpenShift (whose ambient install moves ztunnel and the CNI agent to
 * kube-system with settings of its own, which meshgen does not write yet).
 * `spec.ambient` only with `dataplane: ambient`; waypoints unique.
 *
 * @see https://istio.io/latest/docs/ambient/install/multicluster/
 */
function checkAmbient(doc: SourceDocument): Problem[] {
  const spec = obj(obj(doc.value).spec);
  const problems: Problem[] = [];
  if (str(spec.dataplane) !== 'ambient') {
    if (spec.ambient !== undefined) {
      problems.push(problemAt(doc, ['spec', 'ambient'], 'spec.ambient applies to ambient meshes only', 'add spec.dataplane: ambient, or remove spec.ambient'));
    }
    return problems;
  }
  const version = str(obj(spec.istio).version);
  const [major, minor] = (version ?? '').split('.').map(Number);
  if (version && (major < AMBIENT_MIN_ISTIO_VERSION[0] || (major === AMBIENT_MIN_ISTIO_VERSION[0] && minor < AMBIENT_MIN_ISTIO_VERSION[1]))) {
    problems.push(
      problemAt(doc, ['spec', 'istio', 'version'], `Istio ${version} has no ambient multicluster`, `use Istio ${AMBIENT_MIN_ISTIO_VERSION.join('.')}.0 or later (1.29 or later for its beta)`),
    );
  }
  if (str(spec.platform) === 'openshift') {
    problems.push(
      problemAt(doc, ['spec', 'platform'], 'meshgen does not write ambient installs for OpenShift (ztunnel and the CNI agent in kube-system, openshift-ambient settings)', 'use dataplane: sidecar with istio.install: sail on OpenShift'),
    );
  }
  const clusters = Array.isArray(spec.clusters) ? spec.clusters.map(obj) : [];
  const byNetwork = new Map<string, number>();
  clusters.forEach((c, i) => {
    const name = str(c.name);
    if (str(c.role) === 'remote') {
      problems.push(
        problemAt(doc, ['spec', 'clusters', i, 'role'], `cluster "${name}" is a remote, and ambient meshes are multi-primary only (Istio does not support primary-remote in ambient)`, 'make it a primary (remove role and controlPlane), or use dataplane: sidecar'),
      );
    }
    if (str(c.platform) === 'openshift') {
      problems.push(
        problemAt(doc, ['spec', 'clusters', i, 'platform'], `cluster "${name}" runs OpenShift, for which meshgen does not write ambient installs`, 'use dataplane: sidecar with istio.install: sail on OpenShift'),
      );
    }
    const network = str(c.network);
    if (network === undefined) return;
    const first = byNetwork.get(network);
    if (first === undefined) byNetwork.set(network, i);
    else {
      problems.push(
        problemAt(
          doc,
          ['spec', 'clusters', i, 'network'],
          `cluster "${name}" shares network "${network}" with cluster "${str(clusters[first].name)}": Istio supports ambient across clusters on networks of their own (one network for several clusters is untested upstream)`,
          'give each cluster a network of its own',
        ),
      );
    }
  });
  const waypoints = Array.isArray(obj(spec.ambient).waypoints) ? (obj(spec.ambient).waypoints as unknown[]).map(obj) : [];
  const seen = new Map<string, number>();
  waypoints.forEach((w, i) => {
    const key = `${str(w.namespace)}/${str(w.name) ?? 'waypoint'}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else {
      problems.push(
        problemAt(doc, ['spec', 'ambient', 'waypoints', i], `waypoint ${key} is already listed at spec.ambient.waypoints[${first}]`, 'list each waypoint once; give a second waypoint of the namespace its own name'),
      );
    }
  });
  return problems;
}

/** A GitOps engine installs with Helm charts; Argo CD needs the repository the output lives in. */
function checkGitOps(doc: SourceDocument): Problem[] {
  const spec = obj(obj(doc.value).spec);
  const gitops = obj(spec.gitops);
  const engine = str(gitops.engine);
  if (engine === undefined) return [];
  const problems: Problem[] = [];
  const install = str(obj(spec.istio).install);
  if (install !== undefined && install !== 'helm') {
    problems.push(
      problemAt(
        doc,
        ['spec', 'istio', 'install'],
        `gitops.engine ${engine} installs Istio from its Helm charts, but istio.install is ${install}`,
        'remove istio.install (helm is implied), or remove gitops',
      ),
    );
  }
  if (engine === 'argocd' && str(gitops.repoURL) === undefined) {
    problems.push(
      problemAt(doc, ['spec', 'gitops'], 'Argo CD Applications need the Git repository the output is committed to', 'add gitops.repoURL (and gitops.path if the output is not in dist/)'),
    );
  }
  return problems;
}

const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
