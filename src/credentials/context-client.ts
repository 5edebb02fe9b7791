/**
 * The client layer shared by the commands that talk to clusters with the
 * user's own kube contexts (`credentials fetch`, `status`): a cluster's
 * context as a @kubernetes/client-node KubeConfig (any auth the user has,
 * exec plugins included), its server, and a time limit for each request.
 * Nothing here puts a token, a response body or a plugin's output into a
 * message.
 */
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { ClusterModel } from '../model/types';
import { defaultKubeconfigFiles, KubeconfigError, kubeconfigFiles, loadKubeconfig, MergedKubeconfig, missingContext, userToken } from './kubeconfig';

/** A cluster's kube context, ready to make API clients from. */
export interface ContextClient {
  /** The context's KubeConfig (this context only, current). */
  readonly kubeConfig: KubeConfig;
  /** The API server URL of the context. */
  readonly server: string;
  /** `tls-server-name` of the context's cluster, if set. */
  readonly tlsServerName?: string;
  /** The context's user runs an exec credential plugin, which may be what does not answer. */
  readonly usesExec: boolean;
}

/**
 * The kube context of `cluster`, from `credentials.kubeconfig` or the
 * default kubeconfig files (`$KUBECONFIG` of `env`, else ~/.kube/config).
 * Throws KubeconfigError when the context or its server is missing.
 */
export function contextClient(cluster: ClusterModel, env?: NodeJS.ProcessEnv): ContextClient & { readonly config: MergedKubeconfig } {
  const config = loadKubeconfig(cluster.credentials.kubeconfig.length > 0 ? cluster.credentials.kubeconfig : defaultKubeconfigFiles(env));
  const { server, tlsServerName } = contextServer(config, cluster.context);
  const usesExec = config.users.get(String(config.contexts.get(cluster.context)?.value.user ?? ''))?.value.exec !== undefined;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(singleContextKubeconfig(config, cluster.context));
  kubeConfig.setCurrentContext(cluster.context);
  return { config, kubeConfig, server, ...(tlsServerName ? { tlsServerName } : {}), usesExec };
}

/** The server (and tls-server-name) of `context`, or a KubeconfigError. */
export function contextServer(config: MergedKubeconfig, context: string): { server: string; tlsServerName?: string } {
  const ctx = config.contexts.get(context);
  const where = kubeconfigFiles(config);
  if (!ctx) throw missingContext(config, context);
  const cluster = config.clusters.get(String(ctx.value.cluster ?? ''))?.value;
  const server = cluster?.server;
  if (typeof server !== 'string') throw new KubeconfigError(`context "${context}" has no cluster with a server in ${where}`, 'give the context a cluster entry with a server URL');
  const tlsServerName = cluster?.['tls-server-name'];
  return { server, ...(typeof tlsServerName === 'string' ? { tlsServerName } : {}) };
}

/**
 * One context of a merged kubeconfig as a standalone file, with file
 * references made absolute. A tokenFile becomes the token it holds:
 * @kubernetes/client-node reads only `token` and `token-file`, and would
 * send none.
 */
export function singleContextKubeconfig(config: MergedKubeconfig, context: string): string {
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
  const userEntry = config.users.get(userName);
  const { tokenFile: _dropped, ...user } = absolute(userEntry, ['client-certificate', 'client-key']);
  const token = userEntry ? userToken(userEntry) : undefined;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: absolute(config.clusters.get(clusterName), ['certificate-authority']) }],
    users: [{ name: userName, user: token === undefined ? user : { ...user, token } }],
    contexts: [{ name: context, context: ctx.value }],
    'current-context': context,
  });
}

/** Rejects with code ETIMEDOUT when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The HTTP status of a failed call, if the server answered. */
export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The system error code of a failed call that got no answer (ECONNREFUSED, ETIMEDOUT, a TLS error…). */
export function networkCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.cause?.code === 'string') return e.cause.code;
  return undefined;
}
