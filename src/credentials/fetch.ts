/**
 * `meshgen credentials fetch`: reads the token Kubernetes filled into each
 * reader-token cluster's `istio-reader-service-account` token Secret,
 * through the cluster's API with the user's own context (any auth the user
 * has, exec plugins included), and stores it in the mesh's key store.
 * Tokens are never printed; errors name the cluster and what to do.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { ISTIO_SYSTEM } from '../constructs/names';
import { READER_TOKEN_SECRET } from '../constructs/reader-token-secret';
import { Problem } from '../errors';
import { displayPath } from '../paths';
import { planCluster } from '../model/plan';
import { ClusterModel, MeshModel, Topology } from '../model/types';
import { defaultKubeconfigFiles, KubeconfigError, loadKubeconfig, MergedKubeconfig, userToken } from './kubeconfig';
import { writeReaderCredential } from './token-store';
import { withStoreLock } from '../pki/store-io';
import type { LockOptions } from '../lock';

/** Outcome of one cluster's fetch. */
export type FetchOutcome =
  | { readonly mesh: string; readonly cluster: string; readonly status: 'new' | 'updated' | 'unchanged' }
  | { readonly mesh: string; readonly cluster: string; readonly status: 'failed'; readonly problem: Problem };

/** Options of fetchReaderTokens(). */
export interface FetchOptions {
  /**
   * Only these clusters.
   * @default - every cluster with credentials.source: reader-token
   */
  readonly clusters?: readonly string[];
  /**
   * Environment for $KUBECONFIG.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Give up on a cluster's API after this many milliseconds.
   * @default 15000
   */
  readonly timeoutMs?: number;
  /**
   * How long to wait for another run's lock of the key store, and where to say so.
   * @default - DEFAULT_LOCK_TIMEOUT_MS, nothing said
   */
  readonly lock?: LockOptions;
}

/** The clusters of `topology` that get a reader token Secret (planCluster's readerTokenSecret), restricted to `names` if given. */
export function readerTokenClusters(topology: Topology, names?: readonly string[]): { mesh: MeshModel; cluster: ClusterModel }[] {
  const all = topology.meshes.flatMap((mesh) => mesh.clusters.map((cluster) => ({ mesh, cluster })));
  return all.filter(({ mesh, cluster }) => planCluster(mesh, cluster).readerTokenSecret && (!names || names.includes(cluster.name)));
}

/** Fetches and stores the reader token of every selected cluster; never throws for one cluster's failure. */
export async function fetchReaderTokens(topology: Topology, opts: FetchOptions = {}): Promise<FetchOutcome[]> {
  const outcomes: FetchOutcome[] = [];
  for (const { mesh, cluster } of readerTokenClusters(topology, opts.clusters)) {
    const fail = (message: string, fix: string): FetchOutcome => ({
      mesh: mesh.name,
      cluster: cluster.name,
      status: 'failed',
      problem: { path: `cluster "${cluster.name}"`, message, fix },
    });
    let config: MergedKubeconfig;
    let server: string;
    let tlsServerName: string | undefined;
    try {
      config = loadKubeconfig(cluster.credentials.kubeconfig.length > 0 ? cluster.credentials.kubeconfig : defaultKubeconfigFiles(opts.env));
      ({ server, tlsServerName } = serverOf(config, cluster.context));
    } catch (err) {
      if (!(err instanceof KubeconfigError)) throw err;
      outcomes.push(fail(err.message, err.fix));
      continue;
    }
    const kc = new KubeConfig();
    kc.loadFromString(singleContextKubeconfig(config, cluster.context));
    kc.setCurrentContext(cluster.context);
    const api = kc.makeApiClient(CoreV1Api);
    let data: Record<string, string> | undefined;
    try {
      const secret = await withTimeout(api.readNamespacedSecret({ name: READER_TOKEN_SECRET, namespace: ISTIO_SYSTEM }), opts.timeoutMs ?? 15_000);
      data = secret.data;
    } catch (err) {
      const usesExec = config.users.get(String(config.contexts.get(cluster.context)?.value.user ?? ''))?.value.exec !== undefined;
      outcomes.push(fail(...describeApiError(err, cluster, server, usesExec)));
      continue;
    }
    const token = data?.token;
    const ca = data?.['ca.crt'];
    if (!token || !ca) {
      outcomes.push(
        fail(
          `the token Secret ${ISTIO_SYSTEM}/${READER_TOKEN_SECRET} has no ${!token ? 'token' : 'ca.crt'} yet: Kubernetes' token controller has not filled it in`,
          'check that istio-reader-service-account exists (Istio is installed on this cluster), wait a few seconds, and run the command again',
        ),
      );
      continue;
    }
    // The key store's lock is held for the write only: a synth reading the tokens meanwhile waits, a slow API server does not block it.
    const status = await withStoreLock(
      mesh.trust.keyStore,
      async () =>
        writeReaderCredential(mesh.trust.keyStore, cluster.name, {
          server,
          certificateAuthorityData: ca,
          token: Buffer.from(token, 'base64').toString('utf8'),
          // Kept for the remote secret, which must check the server's certificate the way this kubeconfig does.
          ...(tlsServerName ? { tlsServerName } : {}),
        }),
      opts.lock,
    );
    outcomes.push({ mesh: mesh.name, cluster: cluster.name, status });
  }
  return outcomes;
}

function serverOf(config: MergedKubeconfig, context: string): { server: string; tlsServerName?: string } {
  const ctx = config.contexts.get(context);
  const where = config.files.length > 0 ? config.files.map(displayPath).join(', ') : '(no kubeconfig file found)';
  if (!ctx) throw new KubeconfigError(`context "${context}" is not in ${where}`, 'point credentials.kubeconfig (or $KUBECONFIG) at the file that has it');
  const cluster = config.clusters.get(String(ctx.value.cluster ?? ''))?.value;
  const server = cluster?.server;
  if (typeof server !== 'string') throw new KubeconfigError(`context "${context}" has no cluster with a server in ${where}`, 'give the context a cluster entry with a server URL');
  const tlsServerName = cluster?.['tls-server-name'];
  return { server, ...(typeof tlsServerName === 'string' ? { tlsServerName } : {}) };
}

/**
 * One context of a merged kubeconfig as a standalone file, with file references made absolute. A tokenFile
 * becomes the token it holds: @kubernetes/client-node reads only `token` and `token-file`, and would send none.
 */
function singleContextKubeconfig(config: MergedKubeconfig, context: string): string {
  const ctx = config.contexts.get(context)!;
  const clusterName = String(ctx.value.cluster);
  const userName = String(ctx.value.user);
  const absolute = (entry: { file: string; value: Record<string, unknown> } | undefined, keys: string[]) => {
    const value = { ...(entry?.value ?? {}) };
    for (const key of keys) {
      if (typeof value[key] === 'string' && entry) value[key] = path.resolve(path.dirname(entry.file), value[key] as string);
    }
    return value;
  };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: absolute(config.clusters.get(clusterName), ['certificate-authority']) }],
    users: [{ name: userName, user: withToken(config.users.get(userName), absolute(config.users.get(userName), ['client-certificate', 'client-key'])) }],
    contexts: [{ name: context, context: ctx.value }],
    'current-context': context,
  });
}

/** The user entry with its token as client-go would pick it (tokenFile over token), and no tokenFile. */
function withToken(entry: { file: string; value: Record<string, unknown> } | undefined, value: Record<string, unknown>): Record<string, unknown> {
  const token = entry ? userToken(entry) : undefined;
  const { tokenFile: _dropped, ...rest } = value;
  return token === undefined ? rest : { ...rest, token };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A message and a fix for a failed API call, without anything from the response body. */
function describeApiError(err: unknown, cluster: ClusterModel, server: string, usesExec: boolean): [string, string] {
  const e = err as { code?: number | string; cause?: { code?: string }; message?: string };
  if (typeof e.code === 'number') {
    if (e.code === 404) {
      return [
        `the token Secret ${ISTIO_SYSTEM}/${READER_TOKEN_SECRET} does not exist on the cluster`,
        `apply the cluster's folder first, as its README.md says up to its \`meshgen credentials fetch\` step: the Secret is in istio-config/ unless Istio is installed with istioctl`,
      ];
    }
    if (e.code === 401 || e.code === 403) {
      return [`the API server of context "${cluster.context}" refused to read the token Secret (HTTP ${e.code})`, 'use a context that may read Secrets in istio-system'];
    }
    return [`the API server of context "${cluster.context}" answered HTTP ${e.code}`, 'check the cluster and run the command again'];
  }
  const code = typeof e.code === 'string' ? e.code : (e.cause?.code ?? 'unknown error');
  if (code === 'ETIMEDOUT' && usesExec) {
    return [
      `no answer for context "${cluster.context}" within the time limit: its exec credential plugin did not finish, or the API server at ${server} did not answer`,
      'run the plugin of that kubeconfig user by hand (it may be waiting for a login), check that the cluster is reachable, then run the command again',
    ];
  }
  return [
    `cannot reach the API server of context "${cluster.context}" at ${server} (${code})`,
    'check that the cluster is up and that this machine can reach it (VPN, kubeconfig), then run the command again',
  ];
}
