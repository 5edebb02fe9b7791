/**
 * Finds, for every cluster whose API another control plane reads, the
 * credential its remote secrets carry: from the user's kubeconfig, from a
 * fetched reader token, or from an external secret store. Collects every
 * problem and throws one CredentialsError; never puts a secret in a message.
 */
import { CredentialsError, Problem } from '../errors';
import { planCluster } from '../model/plan';
import { ClusterModel, CredentialSettings, MeshModel } from '../model/types';
import { credentialFor, defaultKubeconfigFiles, isLocalServer, KubeconfigError, loadKubeconfig, MergedKubeconfig, StaticCredential } from './kubeconfig';
import { readReaderCredential } from './token-store';
import { nearest } from '../model/schema-check';
import { displayPath } from '../paths';

/** The credential of one cluster, as far as it is known. */
export type ClusterCredential =
  | { readonly kind: 'static'; readonly credential: StaticCredential }
  | { readonly kind: 'external'; readonly external: NonNullable<CredentialSettings['external']> }
  | { readonly kind: 'pending'; readonly reason: string; readonly fix: string; readonly hint?: string };

/** The credentials of one mesh's clusters, by cluster name. */
export interface MeshCredentials {
  /** The credential of a cluster that others read. */
  get(cluster: string): ClusterCredential;
  /**
   * Clusters whose credentials are not known yet, with why and what to do
   * (both written into READMEs, so never of this machine), and a hint from
   * this machine's kubeconfig for the command line only.
   */
  readonly pending: readonly PendingCredential[];
}

/** A cluster whose credential is not known yet. */
export interface PendingCredential {
  readonly cluster: string;
  readonly reason: string;
  readonly fix: string;
  /** What this machine's kubeconfig suggests, e.g. the nearest context name: for the command line, never for the output. */
  readonly hint?: string;
}

/** Options of resolveMeshCredentials(). */
export interface ResolveOptions {
  /**
   * Environment for $KUBECONFIG.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Kubeconfigs already read in this run, by their file list: a fleet's kubeconfig is read and merged once, not once per cluster.
   * @default - a cache for this call
   */
  readonly kubeconfigs?: KubeconfigCache;
}

/** Merged kubeconfigs (or why they cannot be read) by file list. */
export type KubeconfigCache = Map<string, MergedKubeconfig | KubeconfigError>;

/** The kubeconfig merged from `files`, read once per `cache`. */
function cachedKubeconfig(files: readonly string[], cache: KubeconfigCache): MergedKubeconfig {
  const key = files.join('\0');
  let found = cache.get(key);
  if (found === undefined) {
    try {
      found = loadKubeconfig(files);
    } catch (err) {
      if (!(err instanceof KubeconfigError)) throw err;
      found = err;
    }
    cache.set(key, found);
  }
  if (found instanceof KubeconfigError) throw found;
  return found;
}

/** The clusters of `mesh` whose API some control plane of the mesh reads. */
export function clustersRead(mesh: MeshModel): ClusterModel[] {
  return mesh.clusters.filter((c) => planCluster(mesh, c).readBy.length > 0);
}

/** Resolves the credentials of every cluster of `mesh` that is read by another. */
export function resolveMeshCredentials(mesh: MeshModel, given: ResolveOptions = {}): MeshCredentials {
  const opts = { ...given, kubeconfigs: given.kubeconfigs ?? new Map() };
  const problems: Problem[] = [];
  const found = new Map<string, ClusterCredential>();
  for (const cluster of clustersRead(mesh)) {
    const result = resolveCluster(mesh, cluster, opts, problems);
    if (result) found.set(cluster.name, result);
  }
  if (problems.length > 0) throw new CredentialsError(`cannot find the API credentials of mesh "${mesh.name}"`, problems);
  const pending = [...found].flatMap(([cluster, c]) => (c.kind === 'pending' ? [{ cluster, reason: c.reason, fix: c.fix, ...(c.hint ? { hint: c.hint } : {}) }] : []));
  return {
    get(cluster: string): ClusterCredential {
      const c = found.get(cluster);
      if (!c) throw new CredentialsError(`no credential was resolved for cluster "${cluster}" of mesh "${mesh.name}"`);
      return c;
    },
    pending,
  };
}

function resolveCluster(mesh: MeshModel, cluster: ClusterModel, opts: ResolveOptions & { kubeconfigs: KubeconfigCache }, problems: Problem[]): ClusterCredential | undefined {
  const settings = cluster.credentials;
  const at = { file: mesh.source.file, path: `cluster "${cluster.name}" credentials` };
  if (settings.source === 'external') {
    return settings.external ? { kind: 'external', external: settings.external } : undefined;
  }
  let credential: StaticCredential;
  if (settings.source === 'reader-token') {
    const stored = readReaderCredential(mesh.trust.keyStore, cluster.name);
    if (!stored) {
      return {
        kind: 'pending',
        reason: 'its reader token has not been fetched yet',
        fix: `install cluster "${cluster.name}" as its folder's README.md says, up to its \`meshgen credentials fetch\` step, then run that step and synth again`,
      };
    }
    credential = { server: stored.server, certificateAuthorityData: stored.certificateAuthorityData, tlsServerName: stored.tlsServerName, user: { token: stored.token } };
  } else {
    const files = settings.kubeconfig.length > 0 ? settings.kubeconfig : defaultKubeconfigFiles(opts.env);
    try {
      const config = cachedKubeconfig(files, opts.kubeconfigs);
      // A file the topology names must exist; the default kubeconfig may not (a CI machine has none).
      const absent = settings.kubeconfig.filter((f) => !config.files.includes(f));
      if (absent.length > 0) {
        problems.push({
          ...at,
          message: `kubeconfig ${absent.map((f) => displayPath(f)).join(', ')} does not exist`,
          fix: 'fix credentials.kubeconfig (relative to the topology file), or remove it to read $KUBECONFIG or ~/.kube/config',
        });
        return undefined;
      }
      // One rule, wherever the kubeconfig comes from: a context it lacks leaves this cluster's remote secrets pending.
      if (!config.contexts.has(cluster.context)) return missingContext(cluster, config, settings.kubeconfig.length > 0);
      credential = credentialFor(config, cluster.context);
    } catch (err) {
      if (!(err instanceof KubeconfigError)) throw err;
      problems.push({ ...at, message: err.message, fix: err.fix });
      return undefined;
    }
  }
  if (settings.server) credential = { ...credential, server: settings.server };
  if (isLocalServer(credential.server)) {
    problems.push({
      ...at,
      message: `the API server ${credential.server} is on the local machine, so the other clusters' istiod cannot reach it (typical of kind)`,
      fix: 'set credentials.server to the address the other clusters reach it at, e.g. https://<cluster>-control-plane:6443 on a kind network',
    });
    return undefined;
  }
  return { kind: 'static', credential };
}

/**
 * The pending credential of a cluster whose context the kubeconfig lacks.
 * Reason and fix go into READMEs, so they name no path of this machine;
 * the nearest context name goes into the hint, for the command line.
 */
function missingContext(cluster: ClusterModel, config: MergedKubeconfig, named: boolean): ClusterCredential {
  const files = `${config.files.length} file${config.files.length === 1 ? '' : 's'} read`;
  const near = nearest(cluster.context, [...config.contexts.keys()]);
  return {
    kind: 'pending',
    reason: `context "${cluster.context}" is not in the kubeconfig${named ? ' that credentials.kubeconfig names' : ''} (${files})`,
    fix: named
      ? `add context "${cluster.context}" to that kubeconfig, or correct the cluster's context`
      : 'run synth where the kubeconfig has that context, set credentials.kubeconfig to a kubeconfig that has it, or use credentials.source: reader-token or external',
    ...(near ? { hint: `did you mean context "${near}"? (a context of ${config.files.map((f) => displayPath(f)).join(', ')})` } : {}),
  };
}
