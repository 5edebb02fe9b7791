/**
 * The settings of a cluster's Istio install, in the forms the installers
 * read: meshConfig, and the Helm values of Istio's `base`, `istiod` and
 * `gateway` charts (which istioctl's IstioOperator, Flux, Argo CD and the
 * Sail operator all carry). One source, so every install method sets the
 * same mesh ID, cluster name, network and remote settings.
 */
import { FederationPlan } from './federation-plan';
import { ClusterPlan } from './plan';
import { DEFAULT_TRUST_DOMAIN, InstallMethod, MeshModel } from './types';

/** Name of the east-west gateway release, Deployment and Service. */
export const EASTWEST_RELEASE = 'istio-eastwestgateway';

/**
 * How a cluster's Istio gets installed, all choices in one: istioctl, Helm
 * values files, Sail, or a GitOps engine (which always installs the Helm
 * charts; validation allows an engine only with install: helm).
 */
export function installMode(mesh: MeshModel): InstallMethod | 'flux' | 'argocd' {
  return mesh.gitops?.engine ?? mesh.istio.install;
}

/** Helm release name of istiod: `istiod`, or `istiod-<revision>`. */
export function istiodRelease(revision?: string): string {
  return revision ? `istiod-${revision}` : 'istiod';
}

/**
 * meshConfig of a primary: trust domain, federation aliases and roots, DNS
 * proxying. Extra roots (caCertificates) reach proxies only through the
 * agent's xDS proxy config (`PROXY_CONFIG_XDS_AGENT`), and istiod reads them
 * only with `ISTIO_MULTIROOT_MESH` (see pilotEnv), as Istio's multi-root
 * tests set both. `multiRoot` sets both for a root rotation, whose two roots
 * travel in root-cert.pem.
 */
export function meshConfigFor(mesh: MeshModel, fed: FederationPlan, trustRoots: readonly string[], multiRoot = false): Record<string, unknown> {
  const proxyMetadata: Record<string, string> = {};
  if (fed.dnsCapture) proxyMetadata.ISTIO_META_DNS_CAPTURE = 'true';
  if (fed.dnsAutoAllocate) proxyMetadata.ISTIO_META_DNS_AUTO_ALLOCATE = 'true';
  if (trustRoots.length > 0 || multiRoot) proxyMetadata.PROXY_CONFIG_XDS_AGENT = 'true';
  const config: Record<string, unknown> = {};
  if (mesh.trustDomain !== DEFAULT_TRUST_DOMAIN) config.trustDomain = mesh.trustDomain;
  if (mesh.dataplane === 'ambient' && mesh.ambient.globalServices.length > 0) config.serviceScopeConfigs = serviceScopeConfigs(mesh);
  if (fed.trustDomainAliases.length > 0) config.trustDomainAliases = [...fed.trustDomainAliases];
  if (trustRoots.length > 0) config.caCertificates = trustRoots.map((pem) => ({ pem }));
  if (Object.keys(proxyMetadata).length > 0) config.defaultConfig = { proxyMetadata };
  return config;
}

/** Label that makes a Service of an ambient mesh global, as the ambient profile's serviceScopeConfigs selects it. */
export const GLOBAL_SERVICE_LABEL = 'istio.io/global';

/**
 * meshConfig.serviceScopeConfigs of an ambient mesh with global services:
 * the ambient profile's own entry (Services labelled `istio.io/global:
 * "true"`), which a list of ours would otherwise replace, then one entry per
 * `ambient.globalServices` item, selecting its namespace by name and its
 * Services by their labels (every Service of it when none are given).
 *
 * @see https://github.com/istio/istio/blob/1.30.3/manifests/helm-profiles/ambient.yaml
 */
function serviceScopeConfigs(mesh: MeshModel): Record<string, unknown>[] {
  return [
    { servicesSelector: { matchExpressions: [{ key: GLOBAL_SERVICE_LABEL, operator: 'In', values: ['true'] }] }, scope: 'GLOBAL' },
    ...mesh.ambient.globalServices.map((g) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': g.namespace } },
      ...(Object.keys(g.selector).length > 0 ? { servicesSelector: { matchLabels: { ...g.selector } } } : {}),
      scope: 'GLOBAL',
    })),
  ];
}

/**
 * istiod's environment (values `pilot.env`): multi-root trust when proxies
 * get roots through the agent's xDS config, that is with extra roots in
 * meshConfig or once the key store has gone through a root rotation; and in
 * an ambient mesh, ambient's multi-network support (off by default in
 * `pilot/pkg/features/ambient.go`; without it istiod has no `istio-east-west`
 * gateway class and reaches no other network).
 */
export function pilotEnv(meshConfig: Record<string, unknown>, mesh?: Pick<MeshModel, 'dataplane'>): Record<string, string> | undefined {
  const metadata = (meshConfig.defaultConfig as { proxyMetadata?: Record<string, string> } | undefined)?.proxyMetadata;
  const env: Record<string, string> = {
    ...(mesh?.dataplane === 'ambient' ? { AMBIENT_ENABLE_MULTI_NETWORK: 'true' } : {}),
    ...(metadata?.PROXY_CONFIG_XDS_AGENT === 'true' ? { ISTIO_MULTIROOT_MESH: 'true' } : {}),
  };
  return Object.keys(env).length > 0 ? env : undefined;
}

/** Values of the `base` chart: the remote profile on a remote, nothing else. */
export function baseValues(plan: ClusterPlan): Record<string, unknown> {
  return plan.servedBy ? { profile: 'remote' } : {};
}

/**
 * Values of the `istiod` chart. A primary: mesh ID, cluster name, network,
 * externalIstiod when it serves remotes, meshConfig. A remote (Istio's
 * "Helm" install steps): `profile: remote`, its cluster name, the injection
 * path, the primary's address, `global.configCluster`, and the network on a
 * multi-network mesh.
 */
export function istiodValues(plan: ClusterPlan, meshConfig: Record<string, unknown>): Record<string, unknown> {
  const { mesh, cluster } = plan;
  const release = { hub: mesh.istio.hub, tag: mesh.istio.version };
  const revision = mesh.istio.revision ? { revision: mesh.istio.revision } : {};
  if (plan.servedBy) {
    return {
      profile: 'remote',
      ...revision,
      global: {
        ...release,
        multiCluster: { clusterName: cluster.name },
        ...(plan.multiNetwork ? { network: cluster.network } : {}),
        configCluster: true,
        remotePilotAddress: plan.remotePilotAddress,
      },
      istiodRemote: { injectionPath: plan.injectionPath },
    };
  }
  const env = pilotEnv(meshConfig, mesh);
  return {
    ...(mesh.dataplane === 'ambient' ? { profile: 'ambient' } : {}),
    ...revision,
    global: { ...release, ...primaryGlobalValues({ meshID: mesh.meshID, clusterName: cluster.name, network: cluster.network, externalIstiod: plan.exposeIstiod }) },
    ...(env ? { pilot: { env } } : {}),
    ...(Object.keys(meshConfig).length > 0 ? { meshConfig } : {}),
  };
}

/** Helm release of Istio's CNI node agent (chart `cni`), as Istio's ambient install names it. */
export const CNI_RELEASE = 'istio-cni';
/** Helm release of ztunnel (chart `ztunnel`). */
export const ZTUNNEL_RELEASE = 'ztunnel';

/**
 * Values of the `cni` chart in an ambient mesh: the ambient profile (which
 * turns on its ambient redirection), the mesh's image source and revision.
 *
 * @see https://istio.io/latest/docs/ambient/install/multicluster/multi-primary_multi-network/
 */
export function cniValues(plan: ClusterPlan): Record<string, unknown> {
  const { mesh } = plan;
  return {
    profile: 'ambient',
    ...(mesh.istio.revision ? { revision: mesh.istio.revision } : {}),
    global: { hub: mesh.istio.hub, tag: mesh.istio.version },
  };
}

/**
 * Values of the `ztunnel` chart in an ambient mesh: the cluster's name and
 * network, which ztunnel reports as its own (a ztunnel without them says
 * cluster `Kubernetes` and no network), as Istio's multicluster steps set
 * them, with the mesh's image source and istiod revision. The chart takes
 * its settings at the top level (it lifts `global.*` there itself), so
 * `network` here is the guide's `global.network`.
 */
export function ztunnelValues(plan: ClusterPlan): Record<string, unknown> {
  const { mesh, cluster } = plan;
  return {
    hub: mesh.istio.hub,
    tag: mesh.istio.version,
    ...(mesh.istio.revision ? { revision: mesh.istio.revision } : {}),
    multiCluster: { clusterName: cluster.name },
    network: cluster.network,
  };
}

/** The identity of a primary's istiod, as `values.global` carries it. */
export interface PrimaryIdentity {
  /** values.global.meshID. */
  readonly meshID: string;
  /** values.global.multiCluster.clusterName. */
  readonly clusterName: string;
  /** values.global.network. */
  readonly network: string;
  /**
   * values.global.externalIstiod: istiod also serves remote clusters through the east-west gateway.
   * @default false
   */
  readonly externalIstiod?: boolean;
}

/**
 * `values.global` of a primary's istiod, the same in the istiod chart's
 * values and an IstioOperator's `spec.values`: mesh ID, cluster name,
 * network, and `externalIstiod` when it serves remotes.
 */
export function primaryGlobalValues(id: PrimaryIdentity): Record<string, unknown> {
  return { meshID: id.meshID, multiCluster: { clusterName: id.clusterName }, network: id.network, ...(id.externalIstiod ? { externalIstiod: true } : {}) };
}

/** Service annotation that lets Istio use node addresses for a NodePort east-west gateway. */
export const NODE_SELECTOR_ANNOTATION = 'traffic.istio.io/nodeSelector';

/**
 * Annotations of the east-west gateway Service: on NodePort, `traffic.istio.io/nodeSelector: '{}'`
 * (every node's address) unless the topology sets it, then the topology's own.
 */
export function eastWestServiceAnnotations(serviceType: string | undefined, annotations: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { ...(serviceType === 'NodePort' ? { [NODE_SELECTOR_ANNOTATION]: '{}' } : {}), ...annotations };
}

/** Values of the `gateway` chart for the east-west gateway (`networkGateway` sets its network, ports and env). */
export function gatewayValues(plan: ClusterPlan): Record<string, unknown> {
  const gw = plan.cluster.eastWestGateway;
  const nodePort = gw.serviceType === 'NodePort';
  const annotations = eastWestServiceAnnotations(gw.serviceType, gw.annotations);
  const service: Record<string, unknown> = {};
  if (nodePort) service.type = 'NodePort';
  if (Object.keys(annotations).length > 0) service.annotations = annotations;
  return {
    name: EASTWEST_RELEASE,
    ...(plan.mesh.istio.revision ? { revision: plan.mesh.istio.revision } : {}),
    networkGateway: plan.cluster.network,
    ...(Object.keys(service).length > 0 ? { service } : {}),
  };
}
