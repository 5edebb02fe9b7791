/**
 * `meshgen credentials fetch`: reads the token Kubernetes filled into each
 * reader-token cluster's `istio-reader-service-account` token Secret,
 * through the cluster's API with the user's own context (any auth the user
 * has, exec plugins included), and stores it in the mesh's key store.
 * Tokens are never printed; errors name the cluster and what to do.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { ISTIO_SYSTEM, READER_TOKEN_SECRET } from '../model/istio-names';
import { Problem } from '../errors';
import { planCluster } from '../model/plan';
import { ClusterModel, MeshModel, Topology } from '../model/types';
import { KubeconfigError } from './kubeconfig';
import { ContextClient, contextClient, httpStatus, networkCode, withTimeout } from './context-client';
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
    let client: ContextClient;
    try {
      client = contextClient(cluster, opts.env);
    } catch (err) {
      if (!(err instanceof KubeconfigError)) throw err;
      outcomes.push(fail(err.message, err.fix));
      continue;
    }
    const { server, tlsServerName } = client;
    const api = client.kubeConfig.makeApiClient(CoreV1Api);
    let data: Record<string, string> | undefined;
    try {
      const secret = await withTimeout(api.readNamespacedSecret({ name: READER_TOKEN_SECRET, namespace: ISTIO_SYSTEM }), opts.timeoutMs ?? 15_000);
      data = secret.data;
    } catch (err) {
      outcomes.push(fail(...describeApiError(err, cluster, server, client.usesExec)));
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

/** A message and a fix for a failed API call, without anything from the response body. */
function describeApiError(err: unknown, cluster: ClusterModel, server: string, usesExec: boolean): [string, string] {
  const status = httpStatus(err);
  if (status !== undefined) {
    if (status === 404) {
      return [
        `the token Secret ${ISTIO_SYSTEM}/${READER_TOKEN_SECRET} does not exist on the cluster`,
        `apply the cluster's folder first, as its README.md says up to its \`meshgen credentials fetch\` step: the Secret is in istio-config/ unless Istio is installed with istioctl`,
      ];
    }
    if (status === 401 || status === 403) {
      return [`the API server of context "${cluster.context}" refused to read the token Secret (HTTP ${status})`, 'use a context that may read Secrets in istio-system'];
    }
    return [`the API server of context "${cluster.context}" answered HTTP ${status}`, 'check the cluster and run the command again'];
  }
  const code = networkCode(err) ?? 'unknown error';
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
