/**
 * Reads the user's kubeconfig files with kubectl's merge rules and turns one
 * context into the static credential that istiod can use: the API server,
 * its CA, and a bearer token or a client certificate. Plugins (exec,
 * auth-provider) run on the user's machine and cannot be used by istiod.
 *
 * Merge rules (kubectl): files are read in order; missing files are skipped;
 * the first file to define a cluster, user or context name wins, as does the
 * first `current-context`. Relative paths inside a file are relative to it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CORE_SCHEMA, load } from 'js-yaml';
import { displayPath } from '../paths';

/** A credential istiod can use as is. */
export interface StaticCredential {
  /** API server URL. */
  readonly server: string;
  /** Base64 PEM of the CA that signed the API server's certificate. */
  readonly certificateAuthorityData: string;
  /** SNI name to verify the server certificate against, if the kubeconfig sets one. */
  readonly tlsServerName?: string;
  /** The user part: a bearer token, or a client certificate and key (base64 PEM). */
  readonly user: { readonly token: string } | { readonly clientCertificateData: string; readonly clientKeyData: string };
}

/** Why a context gave no credential. */
export class KubeconfigError extends Error {
  constructor(
    message: string,
    /** What to do about it. */
    public readonly fix: string,
  ) {
    super(message);
  }
}

interface Named<T> {
  readonly file: string;
  readonly value: T;
}

/** The merged view of a set of kubeconfig files. */
export interface MergedKubeconfig {
  /** Files that existed and were read, in order. */
  readonly files: readonly string[];
  readonly clusters: ReadonlyMap<string, Named<Record<string, unknown>>>;
  readonly users: ReadonlyMap<string, Named<Record<string, unknown>>>;
  readonly contexts: ReadonlyMap<string, Named<Record<string, unknown>>>;
}

/** The kubeconfig files kubectl would read: $KUBECONFIG's list, else ~/.kube/config. */
export function defaultKubeconfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = env.KUBECONFIG;
  if (list !== undefined && list.trim() !== '') return list.split(path.delimiter).filter((p) => p !== '');
  return [path.join(os.homedir(), '.kube', 'config')];
}

/** Reads and merges `files`; a file that exists but cannot be parsed is an error. */
export function loadKubeconfig(files: readonly string[]): MergedKubeconfig {
  const read: string[] = [];
  const clusters = new Map<string, Named<Record<string, unknown>>>();
  const users = new Map<string, Named<Record<string, unknown>>>();
  const contexts = new Map<string, Named<Record<string, unknown>>>();
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KubeconfigError(`cannot read kubeconfig ${displayPath(file)} (${(err as NodeJS.ErrnoException).code})`, 'check its permissions');
    }
    let doc: Record<string, unknown>;
    try {
      // js-yaml, with the YAML 1.2 core schema the topology's parser uses too: a fleet's kubeconfig (hundreds of
      // contexts, each with its CA and token) parses in a third of the time, and no source positions are needed.
      doc = ((load(text, { schema: CORE_SCHEMA }) as unknown) ?? {}) as Record<string, unknown>;
    } catch (err) {
      // The line only: js-yaml's message quotes the text around the error, which may be a token or a client key.
      const line = (err as { mark?: { line?: number } }).mark?.line;
      throw new KubeconfigError(`kubeconfig ${displayPath(file)} is not valid YAML${line !== undefined ? ` (line ${line + 1})` : ''}`, 'repair it, e.g. with kubectl config view');
    }
    read.push(file);
    const collect = (key: string, field: string, into: Map<string, Named<Record<string, unknown>>>) => {
      const list = Array.isArray(doc[key]) ? (doc[key] as Record<string, unknown>[]) : [];
      for (const entry of list) {
        const name = entry?.name;
        if (typeof name === 'string' && !into.has(name)) into.set(name, { file, value: (entry[field] ?? {}) as Record<string, unknown> });
      }
    };
    collect('clusters', 'cluster', clusters);
    collect('users', 'user', users);
    collect('contexts', 'context', contexts);
  }
  return { files: read, clusters, users, contexts };
}

/** Reads a file named in a kubeconfig (relative to that kubeconfig) as base64. */
function fileAsBase64(ref: string, kubeconfig: string, what: string): string {
  const full = path.resolve(path.dirname(kubeconfig), ref);
  try {
    return fs.readFileSync(full).toString('base64');
  } catch (err) {
    throw new KubeconfigError(
      `${what} file ${displayPath(full)} named in ${displayPath(kubeconfig)} cannot be read (${(err as NodeJS.ErrnoException).code})`,
      'fix the path in the kubeconfig, or embed the data (kubectl config view --raw --flatten)',
    );
  }
}

/** `<key>-data` as given, or the file `<key>` (relative to the kubeconfig) as base64. */
function inlineOrFile(entry: Record<string, unknown>, key: string, kubeconfig: string): string | undefined {
  const data = entry[`${key}-data`];
  if (typeof data === 'string' && data !== '') return data;
  const ref = entry[key];
  return typeof ref === 'string' ? fileAsBase64(ref, kubeconfig, key) : undefined;
}

/** The kubeconfig files a merged kubeconfig was read from, for messages; says so when there were none. */
export function kubeconfigFiles(config: MergedKubeconfig): string {
  return config.files.length > 0 ? config.files.map(displayPath).join(', ') : 'the kubeconfig (no kubeconfig file was found: neither $KUBECONFIG nor ~/.kube/config names one that exists)';
}

/** The error for a context the merged kubeconfig lacks. */
export function missingContext(config: MergedKubeconfig, context: string): KubeconfigError {
  return new KubeconfigError(`context "${context}" is not in ${kubeconfigFiles(config)}`, 'fix the cluster\'s context, or point credentials.kubeconfig (or $KUBECONFIG) at the file that has it');
}

/** The static credential of `context`, or a KubeconfigError saying why there is none. */
export function credentialFor(config: MergedKubeconfig, context: string): StaticCredential {
  const where = kubeconfigFiles(config);
  const ctx = config.contexts.get(context);
  if (!ctx) throw missingContext(config, context);
  const clusterName = String(ctx.value.cluster ?? '');
  const userName = String(ctx.value.user ?? '');
  const cluster = config.clusters.get(clusterName);
  if (!cluster) throw new KubeconfigError(`context "${context}" names cluster "${clusterName}", which is not in ${where}`, 'repair the kubeconfig');
  const server = cluster.value.server;
  if (typeof server !== 'string' || server === '') {
    throw new KubeconfigError(`cluster "${clusterName}" of context "${context}" has no server in ${displayPath(cluster.file)}`, 'repair the kubeconfig');
  }
  const ca = inlineOrFile(cluster.value, 'certificate-authority', cluster.file);
  if (!ca) {
    throw new KubeconfigError(
      `cluster "${clusterName}" of context "${context}" has no certificate authority in ${displayPath(cluster.file)}, so istiod could not verify its API server`,
      'add certificate-authority-data to the kubeconfig, or use credentials.source: reader-token (its token Secret carries the CA)',
    );
  }
  const user = config.users.get(userName);
  if (!user) throw new KubeconfigError(`context "${context}" names user "${userName}", which is not in ${where}`, 'repair the kubeconfig');
  const u = user.value;
  const plugin = u.exec !== undefined ? 'an exec plugin' : u['auth-provider'] !== undefined ? 'an auth-provider plugin' : undefined;
  if (plugin) {
    throw new KubeconfigError(
      `user "${userName}" of context "${context}" authenticates with ${plugin}, which runs on your machine and cannot be used by istiod in another cluster`,
      'use credentials.source: reader-token for this cluster: meshgen emits the token Secret of istio-reader-service-account and `meshgen credentials fetch` reads its token',
    );
  }
  const tlsServerName = typeof cluster.value['tls-server-name'] === 'string' ? (cluster.value['tls-server-name'] as string) : undefined;
  const token = userToken(user);
  if (token !== undefined) return { server, certificateAuthorityData: ca, tlsServerName, user: { token } };
  const certData = inlineOrFile(u, 'client-certificate', user.file);
  const keyData = inlineOrFile(u, 'client-key', user.file);
  if (certData && keyData) return { server, certificateAuthorityData: ca, tlsServerName, user: { clientCertificateData: certData, clientKeyData: keyData } };
  throw new KubeconfigError(
    `user "${userName}" of context "${context}" has no token or client certificate that istiod could use`,
    'use credentials.source: reader-token for this cluster',
  );
}

/** A kubeconfig user's bearer token, as client-go picks it: a tokenFile (relative to its kubeconfig) wins over an inline token. */
export function userToken(user: { readonly file: string; readonly value: Record<string, unknown> }): string | undefined {
  const u = user.value;
  if (typeof u.tokenFile === 'string' && u.tokenFile !== '') return Buffer.from(fileAsBase64(u.tokenFile, user.file, 'tokenFile'), 'base64').toString('utf8').trim();
  return typeof u.token === 'string' && u.token !== '' ? u.token : undefined;
}

/** True when a server URL points at the local machine, so other clusters cannot reach it. */
export function isLocalServer(server: string): boolean {
  try {
    const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host.startsWith('127.') || host === '::1' || host === '0.0.0.0';
  } catch {
    return false;
  }
}
