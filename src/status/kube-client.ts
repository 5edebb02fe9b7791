/**
 * The Kubernetes client layer of `meshgen status`: a ClusterReader over a
 * user's kube context (any auth the user has, exec plugins included), every
 * request bounded by a time limit, and a reader for the kubeconfig inside a
 * remote secret that uses only its inline credential (never a plugin, never
 * a local file). Errors say which context or server and what to do, and
 * never carry anything from a response body, a token or a plugin's output.
 */
import { AppsV1Api, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, V1Node, V1Service } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { KubeconfigError } from '../credentials/kubeconfig';
import { contextClient, httpStatus, networkCode, withTimeout } from '../credentials/context-client';
import type { ClusterModel } from '../model/types';
import { AccessResult, ClusterAccessError, ClusterReader, GatewayView, NodeView, SecretView, ServiceView } from './reader';

/** Options of contextReader(). */
export interface KubeClientOptions {
  /**
   * Environment for $KUBECONFIG.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Give up on a request after this many milliseconds.
   * @default 10000
   */
  readonly timeoutMs?: number;
}

/** Default time limit of one request. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Turns a failed request through a user's context into a ClusterAccessError; `undefined` for 404. */
function accessError(err: unknown, context: string, server: string, usesExec: boolean): ClusterAccessError | undefined {
  const status = httpStatus(err);
  if (status === 404) return undefined;
  if (status === 401) {
    return new ClusterAccessError(`the API server of context "${context}" refused its credential (HTTP 401)`, `log in again for context "${context}" (the token may have expired)`, true);
  }
  if (status === 403) {
    return new ClusterAccessError(`context "${context}" may not read this (HTTP 403)`, 'use a context that may read Secrets, ConfigMaps, Services and Deployments in istio-system', false);
  }
  if (status !== undefined) return new ClusterAccessError(`the API server of context "${context}" answered HTTP ${status}`, 'check the cluster and look again', false);
  const code = networkCode(err);
  if (usesExec && (code === undefined || code === 'ETIMEDOUT')) {
    return new ClusterAccessError(
      `no answer for context "${context}": its exec credential plugin failed or did not finish, or the API server at ${server} did not answer in time`,
      'run the plugin of that kubeconfig user by hand (it may be waiting for a login), check that the cluster is reachable, then look again',
      true,
    );
  }
  return new ClusterAccessError(
    `cannot reach the API server of context "${context}" at ${server} (${code === 'ETIMEDOUT' ? 'no answer within the time limit' : (code ?? 'unknown error')})`,
    'check that the cluster is up and that this machine can reach it (VPN, kubeconfig), then look again',
    true,
  );
}

/** Runs `call` under the time limit; 404 gives `undefined`, other failures a ClusterAccessError. */
type Guard = <T>(call: () => Promise<T>) => Promise<T | undefined>;

/** The client of `cluster`'s context and the guard its requests go through; without the context, a guard that fails every request with the reason. */
function guardedClient(cluster: ClusterModel, timeoutMs: number, env?: NodeJS.ProcessEnv): { kc?: KubeConfig; guard: Guard } {
  try {
    const { server, usesExec, kubeConfig } = contextClient(cluster, env);
    const guard: Guard = async (call) => {
      try {
        return await withTimeout(call(), timeoutMs);
      } catch (err) {
        const e = accessError(err, cluster.context, server, usesExec);
        if (e) throw e;
        return undefined;
      }
    };
    return { kc: kubeConfig, guard };
  } catch (err) {
    if (!(err instanceof KubeconfigError)) throw err;
    const failure = new ClusterAccessError(err.message, err.fix, true);
    return { guard: () => Promise.reject(failure) };
  }
}

/** A ClusterReader over the kube context of `cluster`. A kubeconfig that lacks the context makes every read fail with its reason. */
export function contextReader(cluster: ClusterModel, opts: KubeClientOptions = {}): ClusterReader {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { kc, guard } = guardedClient(cluster, timeoutMs, opts.env);
  const core = kc?.makeApiClient(CoreV1Api);
  const apps = kc?.makeApiClient(AppsV1Api);
  const custom = kc?.makeApiClient(CustomObjectsApi);
  return {
    secret: async (namespace, name) => {
      const s = await guard(() => core!.readNamespacedSecret({ name, namespace }));
      return s ? secretView(s) : undefined;
    },
    secretsLabelled: async (namespace, label, value) => {
      const list = await guard(() => core!.listNamespacedSecret({ namespace, labelSelector: `${label}=${value}` }));
      return (list?.items ?? []).map(secretView);
    },
    configMap: async (namespace, name) => {
      const c = await guard(() => core!.readNamespacedConfigMap({ name, namespace }));
      return c ? (c.data ?? {}) : undefined;
    },
    nodes: async () => {
      const list = await guard(() => core!.listNode());
      return (list?.items ?? []).map(nodeView);
    },
    configMapsNamed: async (name) => {
      const list = await guard(() => core!.listConfigMapForAllNamespaces({ fieldSelector: `metadata.name=${name}` }));
      return (list?.items ?? []).map((c) => ({ namespace: c.metadata?.namespace ?? '', data: c.data ?? {} }));
    },
    deploymentEnv: async (namespace, name) => {
      const d = await guard(() => apps!.readNamespacedDeployment({ name, namespace }));
      if (!d) return undefined;
      const env: Record<string, string> = {};
      for (const e of d.spec?.template.spec?.containers[0]?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
      return env;
    },
    namespaceLabels: async (name) => {
      const ns = await guard(() => core!.readNamespace({ name }));
      return ns ? (ns.metadata?.labels ?? {}) : undefined;
    },
    service: async (namespace, name) => {
      const s = await guard(() => core!.readNamespacedService({ name, namespace }));
      return s ? serviceView(s) : undefined;
    },
    gateway: async (namespace, name) => {
      const g = (await guard(() => custom!.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'gateways', name }))) as
        | { metadata?: { labels?: Record<string, string> }; status?: { addresses?: { value?: string }[] } }
        | undefined;
      if (!g) return undefined;
      const view: GatewayView = { labels: g.metadata?.labels ?? {}, addresses: (g.status?.addresses ?? []).flatMap((a) => (a.value ? [a.value] : [])) };
      return view;
    },
    remoteAccess: (kubeconfig) => remoteAccess(kubeconfig, timeoutMs),
  };
}

function serviceView(s: V1Service): ServiceView {
  return {
    type: s.spec?.type ?? 'ClusterIP',
    labels: s.metadata?.labels ?? {},
    ingress: (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => [i.ip, i.hostname].filter((a): a is string => !!a)),
    nodePorts: Object.fromEntries((s.spec?.ports ?? []).flatMap((p) => (p.nodePort ? [[p.name ?? String(p.port), p.nodePort]] : []))),
  };
}

function nodeView(n: V1Node): NodeView {
  const addresses = n.status?.addresses ?? [];
  return {
    name: n.metadata?.name ?? '',
    ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    externalIPs: addresses.filter((a) => a.type === 'ExternalIP').map((a) => a.address),
    internalIPs: addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address),
  };
}

function secretView(s: { metadata?: { name?: string; labels?: Record<string, string> }; data?: Record<string, string> }): SecretView {
  return { name: s.metadata?.name ?? '', labels: s.metadata?.labels ?? {}, data: s.data ?? {} };
}

type Entry = Record<string, unknown>;

/** The cluster and user of a kubeconfig text's current context (else its first), as istiod would pick them. */
function currentEntries(text: string): { cluster?: Entry; user?: Entry } {
  const doc = parse(text) as {
    'current-context'?: string;
    contexts?: { name?: string; context?: { cluster?: string; user?: string } }[];
    clusters?: { name?: string; cluster?: Entry }[];
    users?: { name?: string; user?: Entry }[];
  } | null;
  const ctx = doc?.contexts?.find((c) => c.name === doc['current-context']) ?? doc?.contexts?.[0];
  const cluster = doc?.clusters?.find((c) => c.name === ctx?.context?.cluster)?.cluster ?? doc?.clusters?.[0]?.cluster;
  const user = doc?.users?.find((u) => u.name === ctx?.context?.user)?.user ?? doc?.users?.[0]?.user;
  return { cluster, user };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Asks the server a remote secret's kubeconfig names whether its credential may list pods and
 * services cluster-wide (SelfSubjectAccessReview), as istiod would ask with it.
 */
export async function remoteAccess(kubeconfig: string, timeoutMs: number): Promise<AccessResult> {
  let cluster: Entry | undefined;
  let user: Entry | undefined;
  try {
    ({ cluster, user } = currentEntries(kubeconfig));
  } catch {
    return { kind: 'unusable', reason: 'its kubeconfig is not YAML' };
  }
  const server = str(cluster?.server);
  if (!cluster || !server) return { kind: 'unusable', reason: 'its kubeconfig names no server' };
  if (!user) return { kind: 'unusable', reason: 'its kubeconfig has no user' };
  if (user.exec !== undefined || user['auth-provider'] !== undefined) return { kind: 'unusable', reason: 'its user runs a plugin, which istiod cannot run' };
  const token = str(user.token);
  const certData = str(user['client-certificate-data']);
  const keyData = str(user['client-key-data']);
  if (!token && !(certData && keyData)) return { kind: 'unusable', reason: 'its user has no inline token or client certificate' };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'remote',
        server,
        caData: str(cluster['certificate-authority-data']),
        tlsServerName: str(cluster['tls-server-name']),
        skipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
      },
    ],
    users: [{ name: 'remote', ...(token ? { token } : { certData, keyData }) }],
    contexts: [{ name: 'remote', cluster: 'remote', user: 'remote' }],
    currentContext: 'remote',
  });
  const api = kc.makeApiClient(AuthorizationV1Api);
  const ask = (resource: string) =>
    withTimeout(
      api.createSelfSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'list', resource } } },
      }),
      timeoutMs,
    );
  try {
    const [pods, services] = await Promise.all([ask('pods'), ask('services')]);
    const denied = [pods.status?.allowed ? undefined : 'pods', services.status?.allowed ? undefined : 'services'].filter((r) => r !== undefined);
    return denied.length === 0 ? { kind: 'allowed' } : { kind: 'denied', what: `list ${denied.join(' and ')} cluster-wide` };
  } catch (err) {
    const status = httpStatus(err);
    if (status === 401) return { kind: 'unauthenticated', status };
    if (status === 403) return { kind: 'denied', what: 'ask what it may do (HTTP 403)' };
    if (status !== undefined) return { kind: 'unusable', reason: `the server answered HTTP ${status}` };
    const code = networkCode(err);
    return { kind: 'unreachable', reason: code === 'ETIMEDOUT' ? 'no answer within the time limit' : (code ?? 'unknown error') };
  }
}
