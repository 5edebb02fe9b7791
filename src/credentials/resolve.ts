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

/** The credential of one cluster, as far as it is known. */
export type ClusterCredential =
  | { readonly kind: 'static'; readonly credential: StaticCredential }
  | { readonly kind: 'external'; readonly external: NonNullable<CredentialSettings['external']> }
  | { readonly kind: 'pending'; readonly reason: string; readonly fix: string };

/** The credentials of one mesh's clusters, by cluster name. */
export interface MeshCredentials {
  /** The credential of a cluster that others read. */
  get(cluster: string): ClusterCredential;
  /** Clusters whose credentials are not known yet, with why and what to do. */
  readonly pending: readonly { readonly cluster: string; readonly reason: string; readonly fix: string }[];
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
  const pending = [...found].flatMap(([cluster, c]) => (c.kind === 'pending' ? [{ cluster, reason: c.reason, fix: c.fix }] : []));
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
        fix: `apply its folder as <output folder>/${cluster.name}/README.md says, up to its \`meshgen credentials fetch\` step, then run that and synth again`,
      };
    }
    credential = { server: stored.server, certificateAuthorityData: stored.certificateAuthorityData, tlsServerName: stored.tlsServerName, user: { token: stored.token } };
  } else {
    const files = settings.kubeconfig.length > 0 ? settings.kubeconfig : defaultKubeconfigFiles(opts.env);
    try {
      const config = cachedKubeconfig(files, opts.kubeconfigs);
      if (!settings.explicit && (config.files.length === 0 || !config.contexts.has(cluster.context))) {
        return {
          kind: 'pending',
          // No paths here: the reason goes into READMEs, which must not depend on the machine.
          reason: `context "${cluster.context}" was not found in the kubeconfig (${config.files.length} file${config.files.length === 1 ? '' : 's'} read)`,
          fix: 'set credentials.kubeconfig to the kubeconfig that has it, or credentials.source: reader-token or external',
        };
      }
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
