/**
 * One chart per cluster: assembles the constructs a cluster's plan calls
 * for. The topology rules (which cluster gets which objects) live in
 * `model/plan.ts`; the constructs only know how to draw one concept.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { TopologyError } from '../errors';
import { CacertsSecret } from '../constructs/cacerts-secret';
import { ControlPlane } from '../constructs/control-plane';
import { CrossNetworkGateway } from '../constructs/cross-network-gateway';
import { EastWestGateway } from '../constructs/east-west-gateway';
import { ExposeIstiod } from '../constructs/expose-istiod';
import { ExternalRemoteSecret } from '../constructs/external-remote-secret';
import { FederatedServiceExport, FederatedServiceImport, FederationGateway } from '../constructs/federated-service';
import { ReaderTokenSecret } from '../constructs/reader-token-secret';
import { RemoteSecret } from '../constructs/remote-secret';
import { MeshCredentials } from '../credentials/resolve';
import { remoteKubeconfig } from '../credentials/remote-kubeconfig';
import { IstioOperator } from '../constructs/istio-operator';
import { IstioSystemNamespace } from '../constructs/istio-system-namespace';
import { RemoteControlPlane } from '../constructs/remote-control-plane';
import { HelloWorld, SampleNamespace, Sleep } from '../constructs/samples';
import { ClusterPlan, planCluster } from '../model/plan';
import { FederationPlan, NO_FEDERATION } from '../model/federation-plan';
import { ClusterModel, DEFAULT_TRUST_DOMAIN, MeshModel } from '../model/types';
import { MeshPki } from '../pki/key-store';

/** Props of ClusterChart. */
export interface ClusterChartProps {
  /** The mesh the cluster belongs to. */
  readonly mesh: MeshModel;
  /** The cluster this chart is for; must be one of `mesh.clusters`. */
  readonly cluster: ClusterModel;
  /** CA material of the mesh. */
  readonly pki: MeshPki;
  /** API credentials of the mesh's clusters, for remote secrets. */
  readonly credentials: MeshCredentials;
  /**
   * What the cluster gets from the federations of its mesh.
   * @default - none
   */
  readonly federation?: FederationPlan;
  /**
   * Root certificates (PEM) of other meshes this mesh trusts (federation trust: trust-bundles).
   * @default - none
   */
  readonly trustRoots?: readonly string[];
}

/** helloworld v1 and v2 alternate over the clusters that run it, in name order, so calls show both. */
export function helloWorldVersion(mesh: MeshModel, cluster: ClusterModel): 'v1' | 'v2' {
  const running = mesh.clusters.filter((c) => c.samples.includes('helloworld'));
  return running.indexOf(cluster) % 2 === 0 ? 'v1' : 'v2';
}

/** meshConfig of a primary: trust domain, federation aliases and roots, DNS proxying. */
function meshConfigFor(mesh: MeshModel, fed: FederationPlan, trustRoots: readonly string[]): Record<string, unknown> {
  const proxyMetadata: Record<string, string> = {};
  if (fed.dnsCapture) proxyMetadata.ISTIO_META_DNS_CAPTURE = 'true';
  if (fed.dnsAutoAllocate) proxyMetadata.ISTIO_META_DNS_AUTO_ALLOCATE = 'true';
  const config: Record<string, unknown> = {};
  if (mesh.trustDomain !== DEFAULT_TRUST_DOMAIN) config.trustDomain = mesh.trustDomain;
  if (fed.trustDomainAliases.length > 0) config.trustDomainAliases = [...fed.trustDomainAliases];
  if (trustRoots.length > 0) config.caCertificates = trustRoots.map((pem) => ({ pem }));
  if (Object.keys(proxyMetadata).length > 0) config.defaultConfig = { proxyMetadata };
  return config;
}

/** Everything one cluster needs; its id is the cluster name. */
export class ClusterChart extends Chart {
  /** The mesh. */
  public readonly mesh: MeshModel;
  /** The cluster. */
  public readonly cluster: ClusterModel;
  /** What the topology asks of this cluster. */
  public readonly plan: ClusterPlan;
  /** API credentials of the mesh's clusters. */
  public readonly credentials: MeshCredentials;
  /** What the cluster gets from its mesh's federations. */
  public readonly federation: FederationPlan;
  /** IstioOperator documents, in the order `istioctl install` must take them. */
  public readonly istioctlInputs: readonly IstioOperator[];

  constructor(scope: Construct, props: ClusterChartProps) {
    super(scope, props.cluster.name, { disableResourceNameHashes: true });
    const { mesh, cluster, pki, credentials } = props;
    if (!mesh.clusters.includes(cluster)) {
      throw new TopologyError(`cluster "${cluster.name}" is not a cluster of mesh "${mesh.name}"`);
    }
    this.mesh = mesh;
    this.cluster = cluster;
    const plan = planCluster(mesh, cluster);
    const fed = props.federation ?? NO_FEDERATION;
    this.federation = fed;
    this.plan = plan;
    this.credentials = credentials;
    const revision = mesh.istio.revision;

    new IstioSystemNamespace(this, 'Namespace', { network: plan.networkLabel, controlPlaneClusters: plan.controlPlaneClusters });
    new CacertsSecret(this, 'Cacerts', { files: pki.cacerts(cluster.name) });

    const inputs: IstioOperator[] = [];
    if (cluster.role === 'remote') {
      if (!plan.primary || plan.primary.role !== 'primary') {
        throw new TopologyError(`remote "${cluster.name}" needs a primary of mesh "${mesh.name}" as its controlPlane`);
      }
      if (!plan.remotePilotAddress || !plan.injectionPath) {
        throw new TopologyError(`remote "${cluster.name}" needs the east-west gateway address of "${plan.primary.name}" (eastWestGateway.address)`);
      }
      inputs.push(
        new RemoteControlPlane(this, 'RemoteControlPlane', {
          injectionPath: plan.injectionPath,
          remotePilotAddress: plan.remotePilotAddress,
          primary: plan.primary.name,
          hub: mesh.istio.hub,
          tag: mesh.istio.version,
          revision,
        }).operator,
      );
    } else {
      inputs.push(
        new ControlPlane(this, 'ControlPlane', {
          meshID: mesh.meshID,
          clusterName: cluster.name,
          network: cluster.network,
          hub: mesh.istio.hub,
          tag: mesh.istio.version,
          revision,
          externalIstiod: plan.exposeIstiod,
          meshConfig: meshConfigFor(mesh, fed, props.trustRoots ?? []),
        }).operator,
      );
    }
    if (plan.eastWestGateway || fed.exporting) {
      inputs.push(
        new EastWestGateway(this, 'EastWestGateway', {
          network: cluster.network,
          revision,
          serviceType: cluster.eastWestGateway.serviceType,
          serviceAnnotations: cluster.eastWestGateway.annotations,
        }).operator,
      );
    }
    if (plan.exposeIstiod) new ExposeIstiod(this, 'ExposeIstiod', { revision });
    if (plan.exposeServices) new CrossNetworkGateway(this, 'CrossNetworkGateway');
    for (const imp of fed.imports) {
      new FederatedServiceImport(this, `Import-${imp.export.host}`, {
        host: imp.export.host,
        service: imp.export.service,
        namespace: imp.export.namespace,
        from: imp.export.from,
        ports: imp.export.ports,
        endpoints: imp.endpoints.map((c) => ({
          address: c.eastWestGateway.address ?? '',
          locality: c.locality,
          cluster: c.name,
        })),
        resolution: imp.resolution,
        address: imp.address,
        split: imp.export.split,
      });
    }
    for (const exp of fed.exports) {
      new FederatedServiceExport(this, `Export-${exp.host}`, {
        host: exp.host,
        service: exp.service,
        namespace: exp.namespace,
        ports: exp.ports,
        selector: exp.selector,
        to: exp.to,
      });
    }
    if (fed.exports.length > 0) new FederationGateway(this, 'FederationGateway', { hosts: [...new Set(fed.exports.map((e) => e.host))] });
    if (cluster.credentials.source === 'reader-token' && plan.readBy.length > 0) new ReaderTokenSecret(this, 'ReaderToken');
    for (const target of plan.reads) {
      const credential = credentials.get(target.name);
      if (credential.kind === 'static') {
        new RemoteSecret(this, `RemoteSecret-${target.name}`, { cluster: target.name, kubeconfig: remoteKubeconfig(target.name, credential.credential) });
      } else if (credential.kind === 'external') {
        new ExternalRemoteSecret(this, `ExternalRemoteSecret-${target.name}`, {
          cluster: target.name,
          storeName: credential.external.storeName,
          storeKind: credential.external.storeKind,
          key: credential.external.key,
          property: credential.external.property,
        });
      }
    }
    if (cluster.samples.length > 0) {
      new SampleNamespace(this, 'SampleNamespace', { revision });
      if (cluster.samples.includes('helloworld')) new HelloWorld(this, 'HelloWorld', { version: helloWorldVersion(mesh, cluster) });
      if (cluster.samples.includes('sleep')) new Sleep(this, 'Sleep');
    }
    this.istioctlInputs = inputs;
  }
}
