/**
 * One chart per cluster: assembles the constructs a cluster's plan calls
 * for. The topology rules (which cluster gets which objects) live in
 * `model/plan.ts`; the constructs only know how to draw one concept.
 *
 * Long because it holds the five install forms (istioctl, Helm, Sail, Flux, Argo CD) of one chart, each a short method.
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { TopologyError } from '../errors';
import { ArgoAppOfApps, ArgoApplication } from '../constructs/argocd';
import { CacertsCertificate } from '../constructs/cacerts-certificate';
import { CACERTS_SECRET_NAME, CacertsSecret } from '../constructs/cacerts-secret';
import { placeObject } from '../constructs/description';
import { EastWestGatewayManifests } from '../constructs/east-west-gateway-manifests';
import { FluxHelmRelease, FluxHelmRepository, FluxKustomization } from '../constructs/flux';
import { FolderFile } from '../constructs/folder-file';
import { ISTIO_SYSTEM } from '../constructs/names';
import { SAIL_ZTUNNEL_NAMESPACE, SailIstio, SailIstioCni, SailZTunnel } from '../constructs/sail';
import { AmbientEastWestGateway, Waypoint as AmbientWaypoint } from '../constructs/ambient';
import { ControlPlane } from '../constructs/control-plane';
import { CrossNetworkGateway } from '../constructs/cross-network-gateway';
import { EastWestGateway } from '../constructs/east-west-gateway';
import { ExposeIstiod } from '../constructs/expose-istiod';
import { ExternalRemoteSecret } from '../constructs/external-remote-secret';
import { FederatedServiceExport, FederatedServiceImport, FederationGateway } from '../constructs/federated-service';
import { ReaderTokenSecret } from '../constructs/reader-token-secret';
import { RemoteSecret, RemoteSecretManifests, RemoteSecretProps } from '../constructs/remote-secret';
import { MeshCredentials } from '../credentials/resolve';
import { remoteKubeconfig } from '../credentials/remote-kubeconfig';
import { IstioOperator } from '../constructs/istio-operator';
import { IstioSystemNamespace } from '../constructs/istio-system-namespace';
import { RemoteControlPlane } from '../constructs/remote-control-plane';
import { HelloWorld, SampleNamespace, Sleep } from '../constructs/samples';
import { awaitingAddress, ClusterPlan, planCluster } from '../model/plan';
import { FederationPlan, needsEastWestGateway, NO_FEDERATION } from '../model/federation-plan';
import {
  baseValues,
  CNI_RELEASE,
  cniValues,
  EASTWEST_RELEASE,
  gatewayValues,
  installMode,
  istiodRelease,
  istiodValues,
  meshConfigFor,
  pilotEnv,
  ZTUNNEL_RELEASE,
  ztunnelValues,
} from '../model/install-values';
import { ClusterModel, GitOpsSettings, MeshModel } from '../model/types';
import { MeshPki } from '../pki/key-store';
import { RootRotation } from '../pki/manifest';
import { TrustFacts, trustFactsOf } from '../pki/trust-facts';
import { holdsSecretValues } from '../secrets/secret-manifest';
import { CONFIG_FOLDER, ISTIO_FOLDER, PREREQS_FOLDER, SECRETS_FOLDER } from './folders';

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
  /**
   * Root rotations of the meshes in trustRoots, with the roots trusted now.
   * @default - none
   */
  readonly peerRotations?: readonly PeerRotation[];
  /**
   * How the remote secrets are made: a RemoteSecret construct each, which
   * any cdk8s app synthesizes, or (`manifests`) one RemoteSecretManifests
   * holding them as plain manifests, which only meshgen's renderer
   * (renderCluster) writes. A fleet has one remote secret per pair of
   * clusters, so meshgen's own synth takes the second: same files, no
   * ApiObject each.
   * @default 'constructs'
   */
  readonly remoteSecrets?: 'constructs' | 'manifests';
}

/** A root rotation of another mesh that this cluster trusts through trust bundles. */
export interface PeerRotation {
  readonly mesh: string;
  readonly rotation: RootRotation;
  /** The PEM roots of that mesh this output trusts. */
  readonly roots: readonly string[];
}

/** helloworld v1 and v2 alternate over the clusters that run it, in name order, so calls show both. */
export function helloWorldVersion(mesh: MeshModel, cluster: ClusterModel): 'v1' | 'v2' {
  const running = mesh.clusters.filter((c) => c.samples.includes('helloworld'));
  return running.indexOf(cluster) % 2 === 0 ? 'v1' : 'v2';
}


/** What a cluster's README says besides its files: the facts the chart was built from. */
export interface ReadmeFacts {
  /** What the topology asks of the cluster. */
  readonly plan: ClusterPlan;
  /** API credentials of the mesh's clusters. */
  readonly credentials: MeshCredentials;
  /** What the cluster gets from its mesh's federations. */
  readonly federation: FederationPlan;
  /** The root rotation of the key store, if one was ever made: the README says what its stage needs. */
  readonly rootRotation?: RootRotation;
  /** Root rotations of other meshes this cluster trusts. */
  readonly peerRotations: readonly PeerRotation[];
  /** What the cluster trusts, as fingerprints. */
  readonly trustFacts: TrustFacts;
}

/** Everything one cluster needs. Its folder is named after the cluster, whatever the construct id. */
export class ClusterChart extends Chart {
  /** The mesh. */
  public readonly mesh: MeshModel;
  /** The cluster. */
  public readonly cluster: ClusterModel;
  /** What the topology asks of this cluster. */
  public readonly plan: ClusterPlan;
  /** What this cluster trusts, as fingerprints, for the folder's marker. */
  public readonly trustFacts: TrustFacts;
  /** What the README says besides the files. */
  public readonly readme: ReadmeFacts;
  /** IstioOperator documents, in the order `istioctl install` must take them. */
  public readonly istioctlInputs: readonly IstioOperator[];
  /**
   * What must exist before istiod starts, because istiod reads it only then: the `istio-system` namespace and
   * the CA (`cacerts`). The one definition of "before istiod": the README's first kubectl step is the objects
   * under this scope, and Argo CD's first wave holds them (with the remote secrets, which need no order).
   */
  public readonly prereqs: Construct;

  constructor(scope: Construct, id: string, props: ClusterChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { mesh, cluster, pki, credentials } = props;
    if (!mesh.clusters.includes(cluster)) {
      throw new TopologyError(`cluster "${cluster.name}" is not a cluster of mesh "${mesh.name}"`);
    }
    this.mesh = mesh;
    this.cluster = cluster;
    const plan = planCluster(mesh, cluster);
    const fed = props.federation ?? NO_FEDERATION;
    this.plan = plan;

    const mode = installMode(mesh);
    const ambient = mesh.dataplane === 'ambient';
    const meshConfig = meshConfigFor(mesh, fed, props.trustRoots ?? [], pki.rootRotation !== undefined);
    const needsGateway = needsEastWestGateway(plan, fed);
    if (cluster.role === 'remote' && (!plan.servedBy || plan.servedBy.role !== 'primary')) {
      throw new TopologyError(`remote "${cluster.name}" needs a primary of mesh "${mesh.name}" as its controlPlane`);
    }
    const awaiting = awaitingAddress(plan);

    // Before istiod: the namespace and the CA it reads at start.
    const prereqs = new Construct(this, 'Prereqs');
    this.prereqs = prereqs;
    // Remote secrets need no order: istiod watches for them and reads one whenever it appears. They need no
    // CRD either, so Argo CD applies them in its first wave beside the prereqs, and kubectl with the rest.
    const remoteSecrets = new Construct(this, 'RemoteSecrets');
    new IstioSystemNamespace(prereqs, 'Namespace', { network: plan.networkLabel, controlPlaneClusters: plan.controlPlaneClusters });
    const ca = this.cacerts(prereqs, pki);
    const certificate = ca.kind === 'Certificate';
    this.trustFacts = trustFactsOf(pki.rootCertPem, certificate ? undefined : pki.cacerts(cluster.name)['cert-chain.pem'], props.trustRoots ?? []);
    this.readme = {
      plan,
      credentials,
      federation: fed,
      rootRotation: pki.rootRotation,
      peerRotations: props.peerRotations ?? [],
      trustFacts: this.trustFacts,
    };
    if (awaiting) {
      // A remote whose istiod address is not known yet gets the namespace and its CA now, the rest once it is.
      this.istioctlInputs = [];
      return;
    }

    // The install itself, in exactly one form.
    const inputs: IstioOperator[] = [];
    if (mode === 'istioctl') {
      inputs.push(...this.istioctlInstall(plan, meshConfig, needsGateway && !ambient));
    } else if (mode === 'sail') {
      this.sailInstall(plan, meshConfig);
    } else if (mode === 'helm') {
      this.helmValuesFiles(plan, meshConfig, needsGateway);
    }
    // Flux and Argo CD are written once the config group is known: an engine must not point at a folder that does not exist.

    // After istiod: objects that need Istio's CRDs or its sidecar injector.
    const config = new Construct(this, 'Config');
    this.configObjects(config, plan, fed, needsGateway);
    this.remoteSecrets(remoteSecrets, plan, credentials, props.remoteSecrets ?? 'constructs');

    // Engines apply the two groups from folders of their own, in order.
    const hasConfig = config.node.findAll().some((c) => ApiObject.isApiObject(c));
    // With Flux, istiod waits for a CA that appears some time after it is applied: cert-manager's, or a sealed Secret the controller unseals.
    const waitFor = certificate || cluster.secrets.encryption === 'sealed-secrets' ? ca : undefined;
    if (mode === 'flux') this.fluxInstall(plan, meshConfig, needsGateway, hasConfig, waitFor);
    if (mode === 'argocd') this.argoInstall(plan, meshConfig, needsGateway, hasConfig);
    if (mode !== 'istioctl') placeAll(config, CONFIG_FOLDER);
    if (mode === 'argocd') for (const scope of [prereqs, remoteSecrets]) placeAll(scope, PREREQS_FOLDER);
    this.istioctlInputs = inputs;
  }

  /** The CA istiod reads at start: a cert-manager Certificate, or the `cacerts` Secret from the key store. */
  private cacerts(prereqs: Construct, pki: MeshPki): ApiObject {
    const { mesh, cluster } = this;
    const byo = mesh.trust.byo;
    if (byo?.kind !== 'cert-manager') return new CacertsSecret(prereqs, 'Cacerts', { files: pki.cacerts(cluster.name) }).resource;
    const profile = mesh.trust.profile;
    return new CacertsCertificate(prereqs, 'Cacerts', {
      cluster: cluster.name,
      issuerRef: byo.issuerRef,
      duration: byo.duration,
      renewBefore: byo.renewBefore,
      keyBits: profile.keyBits,
      ...(profile.curve ? { curve: profile.curve } : {}),
      organization: profile.organization,
      commonName: profile.intermediateCommonName,
      extraSANs: profile.extraSANs,
    }).resource;
  }

  /** The objects that need Istio's CRDs or its sidecar injector, in `config`. */
  private configObjects(config: Construct, plan: ClusterPlan, fed: FederationPlan, needsGateway: boolean): void {
    const { mesh, cluster } = plan;
    const revision = mesh.istio.revision;
    const ambient = mesh.dataplane === 'ambient';
    if (ambient && needsGateway) {
      new AmbientEastWestGateway(config, 'EastWestGateway', { network: cluster.network, revision });
    } else if (installMode(mesh) === 'sail' && needsGateway) {
      new EastWestGatewayManifests(config, 'EastWestGateway', {
        network: cluster.network,
        revision,
        serviceType: cluster.eastWestGateway.serviceType,
        serviceAnnotations: cluster.eastWestGateway.annotations,
      });
    }
    if (plan.exposeIstiod) new ExposeIstiod(config, 'ExposeIstiod', { revision });
    if (plan.exposeServices) new CrossNetworkGateway(config, 'CrossNetworkGateway');
    this.federationObjects(config, fed);
    if (plan.readerTokenSecret) new ReaderTokenSecret(config, 'ReaderToken');
    for (const w of mesh.ambient.waypoints) {
      new AmbientWaypoint(config, `Waypoint-${w.namespace}-${w.name}`, { namespace: w.namespace, name: w.name, for: w.for, global: w.global, revision });
    }
    if (cluster.samples.length > 0) {
      new SampleNamespace(config, 'SampleNamespace', { revision, ambient });
      if (cluster.samples.includes('helloworld')) new HelloWorld(config, 'HelloWorld', { version: helloWorldVersion(mesh, cluster), global: ambient });
      if (cluster.samples.includes('sleep')) new Sleep(config, 'Sleep');
    }
  }

  /** True when `obj` is one of the objects that must exist before istiod starts (under `prereqs`). */
  public isBeforeIstiod(obj: IConstruct): boolean {
    return obj.node.scopes.includes(this.prereqs);
  }

  /**
   * The Sail operator's resources: the `Istio`; on OpenShift the `IstioCNI` it needs; in an ambient mesh the
   * `IstioCNI` and `ZTunnel` with the ambient profile, as the Sail operator's ambient multicluster guide writes
   * them (ztunnel in its own namespace, which istiod is told to trust).
   */
  private sailInstall(plan: ClusterPlan, meshConfig: Record<string, unknown>): void {
    const { mesh, cluster } = plan;
    const ambient = mesh.dataplane === 'ambient';
    if (ambient) {
      new SailIstioCni(this, 'SailCni', { version: mesh.istio.version, profile: 'ambient' });
      new SailZTunnel(this, 'SailZTunnel', { version: mesh.istio.version, values: { multiCluster: { clusterName: cluster.name }, network: cluster.network } });
    } else if (cluster.platform === 'openshift') {
      new SailIstioCni(this, 'SailCni', { version: mesh.istio.version });
    }
    const values = withoutKeys(istiodValues(plan, meshConfig), ['profile', 'revision']);
    new SailIstio(this, 'Sail', {
      name: mesh.istio.revision ?? 'default',
      version: mesh.istio.version,
      profile: plan.servedBy ? 'remote' : ambient ? 'ambient' : undefined,
      values: ambient ? { ...values, pilot: { ...(values.pilot as Record<string, unknown> | undefined), trustedZtunnelNamespace: SAIL_ZTUNNEL_NAMESPACE } } : values,
    });
  }

  /** The IstioOperator documents of `istioctl install`. */
  private istioctlInstall(plan: ClusterPlan, meshConfig: Record<string, unknown>, needsGateway: boolean): IstioOperator[] {
    const { mesh, cluster } = plan;
    const revision = mesh.istio.revision;
    const inputs: IstioOperator[] = [];
    if (plan.servedBy) {
      inputs.push(
        new RemoteControlPlane(this, 'RemoteControlPlane', {
          injectionPath: plan.injectionPath as string,
          remotePilotAddress: plan.remotePilotAddress as string,
          primary: plan.servedBy.name,
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
          meshConfig,
          pilotEnv: pilotEnv(meshConfig, mesh),
          profile: mesh.dataplane === 'ambient' ? 'ambient' : undefined,
        }).operator,
      );
    }
    if (needsGateway) {
      inputs.push(
        new EastWestGateway(this, 'EastWestGateway', {
          network: cluster.network,
          revision,
          serviceType: cluster.eastWestGateway.serviceType,
          serviceAnnotations: cluster.eastWestGateway.annotations,
        }).operator,
      );
    }
    return inputs;
  }

  /**
   * Istio's charts with their values, as `helm upgrade --install` takes them, in install order: base, istiod, then
   * the east-west gateway; in an ambient mesh base, istiod, the CNI agent and ztunnel, as Istio's ambient install
   * orders them (its east-west gateway is a Gateway API object istiod programs).
   */
  private charts(plan: ClusterPlan, meshConfig: Record<string, unknown>, needsGateway: boolean): HelmChartInstall[] {
    const charts: HelmChartInstall[] = [
      { release: 'istio-base', chart: 'base', values: baseValues(plan), what: "Istio's CRDs and cluster roles" },
      {
        release: istiodRelease(plan.mesh.istio.revision),
        chart: 'istiod',
        values: istiodValues(plan, meshConfig),
        what: plan.servedBy ? 'the remote profile' : plan.mesh.dataplane === 'ambient' ? 'the control plane (istiod), ambient profile' : 'the control plane (istiod)',
      },
    ];
    if (plan.mesh.dataplane === 'ambient') {
      charts.push(
        { release: CNI_RELEASE, chart: 'cni', values: cniValues(plan), what: "Istio's CNI node agent, ambient profile" },
        { release: ZTUNNEL_RELEASE, chart: 'ztunnel', values: ztunnelValues(plan), what: `ztunnel on every node, as cluster \`${plan.cluster.name}\` on network \`${plan.cluster.network}\`` },
      );
      return charts;
    }
    if (needsGateway) {
      charts.push({ release: EASTWEST_RELEASE, chart: 'gateway', values: gatewayValues(plan), what: `the east-west gateway of network \`${plan.cluster.network}\`` });
    }
    return charts;
  }

  /** Values files for `helm upgrade --install` of Istio's charts. */
  private helmValuesFiles(plan: ClusterPlan, meshConfig: Record<string, unknown>, needsGateway: boolean): void {
    for (const c of this.charts(plan, meshConfig, needsGateway)) {
      new FolderFile(this, `Values-${c.release}`, {
        path: `helm/${c.release}.values.yaml`,
        document: c.values,
        description: `values of chart \`${c.chart}\`, release \`${c.release}\`: ${c.what}`,
        helm: { release: c.release, chart: c.chart },
      });
    }
  }

  /** Flux: the charts as HelmReleases in `istio/`, applied before `istio-config/` by two Kustomizations. */
  private fluxInstall(plan: ClusterPlan, meshConfig: Record<string, unknown>, needsGateway: boolean, hasConfig: boolean, caObject?: ApiObject): void {
    const gitops = plan.mesh.gitops as GitOpsSettings;
    const flux = gitops.flux;
    const istio = new Construct(this, 'FluxIstio');
    new FluxHelmRepository(istio, 'Repository', { name: 'istio', namespace: ISTIO_SYSTEM, interval: flux.interval });
    let previous: string | undefined;
    for (const c of this.charts(plan, meshConfig, needsGateway)) {
      new FluxHelmRelease(istio, `Release-${c.release}`, {
        name: c.release,
        namespace: ISTIO_SYSTEM,
        chart: c.chart,
        version: plan.mesh.istio.version,
        repository: 'istio',
        values: c.values,
        dependsOn: previous ? [previous] : undefined,
        interval: flux.interval,
        description: `HelmRelease \`${c.release}\`: chart \`${c.chart}\`, ${c.what}`,
      });
      previous = c.release;
    }
    placeAll(istio, ISTIO_FOLDER);
    const base = `./${gitops.path}/${plan.cluster.name}`;
    const common = { namespace: 'flux-system', sourceName: flux.sourceName, sourceNamespace: flux.sourceNamespace, interval: flux.interval };
    const before: string[] = [];
    // A CA that cert-manager makes, or the controller unseals, must exist before istiod starts: its own Kustomization waits for it.
    if (caObject) {
      const sealed = caObject.kind === 'Secret';
      placeObject(caObject, PREREQS_FOLDER);
      new FluxKustomization(this, 'FluxKustomizationCA', {
        ...common,
        name: `${plan.cluster.name}-istio-ca`,
        path: `${base}/${PREREQS_FOLDER}`,
        healthChecks: sealed ? [{ apiVersion: 'v1', kind: 'Secret', name: CACERTS_SECRET_NAME, namespace: ISTIO_SYSTEM }] : undefined,
        description: sealed
          ? `Kustomization \`${plan.cluster.name}-istio-ca\`: the SealedSecret in \`${PREREQS_FOLDER}/\`, waited for until the controller has unsealed \`cacerts\``
          : `Kustomization \`${plan.cluster.name}-istio-ca\`: the cert-manager Certificate in \`${PREREQS_FOLDER}/\`, waited for until \`cacerts\` exists`,
      });
      before.push(`${plan.cluster.name}-istio-ca`);
    }
    // SOPS files are decrypted by Flux itself, from a folder of their own; the CA among them must be there before istiod.
    const secrets = this.cluster.secrets;
    const holdsSecrets = (c: IConstruct) =>
      (ApiObject.isApiObject(c) && holdsSecretValues(c.toJson())) || (RemoteSecretManifests.isRemoteSecretManifests(c) && c.entries.length > 0);
    if (secrets.encryption === 'sops' && this.node.findAll().some(holdsSecrets)) {
      new FluxKustomization(this, 'FluxKustomizationSecrets', {
        ...common,
        name: `${plan.cluster.name}-istio-secrets`,
        path: `${base}/${SECRETS_FOLDER}`,
        sopsDecryptionSecret: secrets.decryptionSecret,
        description: `Kustomization \`${plan.cluster.name}-istio-secrets\`: decrypts the SOPS files in \`${SECRETS_FOLDER}/\` with the age identity in Secret \`${secrets.decryptionSecret}\` and applies them`,
      });
      before.push(`${plan.cluster.name}-istio-secrets`);
    }
    new FluxKustomization(this, 'FluxKustomizationIstio', {
      ...common,
      name: `${plan.cluster.name}-istio`,
      path: `${base}/${ISTIO_FOLDER}`,
      dependsOn: before.length > 0 ? before : undefined,
      description: `Kustomization \`${plan.cluster.name}-istio\`: installs \`${ISTIO_FOLDER}/\` and waits until every release is ready`,
    });
    if (!hasConfig) return;
    new FluxKustomization(this, 'FluxKustomizationConfig', {
      ...common,
      name: `${plan.cluster.name}-istio-config`,
      path: `${base}/${CONFIG_FOLDER}`,
      dependsOn: [`${plan.cluster.name}-istio`],
      description: `Kustomization \`${plan.cluster.name}-istio-config\`: applies \`${CONFIG_FOLDER}/\` once Istio is ready`,
    });
  }

  /** Argo CD: Applications for the CA secret, the three charts and the config, in sync waves. */
  private argoInstall(plan: ClusterPlan, meshConfig: Record<string, unknown>, needsGateway: boolean, hasConfig: boolean): void {
    const gitops = plan.mesh.gitops as GitOpsSettings;
    const name = plan.cluster.name;
    const common = { namespace: gitops.argocd.namespace, project: gitops.argocd.project, destination: plan.cluster.argocdCluster };
    const git = (folder: string) => ({ repoURL: gitops.repoURL as string, targetRevision: gitops.targetRevision, path: `${gitops.path}/${name}/${folder}` });
    new ArgoAppOfApps(this, 'AppOfApps', { name: `${name}-istio`, namespace: common.namespace, project: common.project, source: { ...git(''), path: `${gitops.path}/${name}` } });
    new ArgoApplication(this, 'AppPrereqs', {
      ...common,
      name: `${name}-istio-prereqs`,
      source: git(PREREQS_FOLDER),
      wave: -2,
      description: `Application \`${name}-istio-prereqs\`: \`${PREREQS_FOLDER}/\` (namespace, CA secret, remote secrets), before istiod`,
    });
    let wave = -1;
    for (const c of this.charts(plan, meshConfig, needsGateway)) {
      new ArgoApplication(this, `App-${c.release}`, {
        ...common,
        name: `${name}-${c.release}`,
        source: { chart: c.chart, version: plan.mesh.istio.version, releaseName: c.release, values: c.values },
        wave: wave++,
        description: `Application \`${name}-${c.release}\`: chart \`${c.chart}\`, ${c.what}`,
      });
    }
    if (!hasConfig) return;
    new ArgoApplication(this, 'AppConfig', {
      ...common,
      name: `${name}-istio-config`,
      source: git(CONFIG_FOLDER),
      needsIstioCrds: true,
      wave,
      description: `Application \`${name}-istio-config\`: \`${CONFIG_FOLDER}/\`, once Istio is installed`,
    });
  }

  /** Federation objects of this cluster. */
  private federationObjects(scope: Construct, fed: FederationPlan): void {
    for (const imp of fed.imports) {
      new FederatedServiceImport(scope, `Import-${imp.export.host}`, {
        host: imp.export.host,
        service: imp.export.service,
        namespace: imp.export.namespace,
        from: imp.export.from,
        ports: imp.export.ports,
        endpoints: imp.endpoints.map((c) => ({ address: c.eastWestGateway.address ?? '', port: c.eastWestGateway.port, locality: c.locality, cluster: c.name })),
        resolution: imp.resolution,
        address: imp.address,
        split: imp.export.split,
      });
    }
    for (const exp of fed.exports) {
      new FederatedServiceExport(scope, `Export-${exp.host}`, {
        host: exp.host,
        service: exp.service,
        namespace: exp.namespace,
        ports: exp.ports,
        selector: exp.selector,
        to: exp.to,
      });
    }
    if (fed.exports.length > 0) new FederationGateway(scope, 'FederationGateway', { hosts: [...new Set(fed.exports.map((e) => e.host))] });
  }

  /**
   * Remote secrets (or ExternalSecrets) for every cluster this cluster's istiod reads, in the order it reads them.
   * As manifests, each run of remote secrets between ExternalSecrets is one RemoteSecretManifests.
   */
  private remoteSecrets(scope: Construct, plan: ClusterPlan, credentials: MeshCredentials, form: 'constructs' | 'manifests'): void {
    // The manifests are written with their keys sorted, as an ApiObject writes them unless cdk8s is told not to sort.
    const asManifests = form === 'manifests' && !process.env.CDK8S_DISABLE_SORT;
    let run: RemoteSecretProps[] = [];
    const endRun = () => {
      if (run.length > 0) new RemoteSecretManifests(scope, `RemoteSecrets-${run[0].cluster}`, run);
      run = [];
    };
    for (const target of plan.reads) {
      const credential = credentials.get(target.name);
      if (credential.kind === 'static') {
        const secret = { cluster: target.name, kubeconfig: remoteKubeconfig(target.name, credential.credential) };
        if (asManifests) run.push(secret);
        else new RemoteSecret(scope, `RemoteSecret-${target.name}`, secret);
      } else if (credential.kind === 'external') {
        endRun();
        new ExternalRemoteSecret(scope, `ExternalRemoteSecret-${target.name}`, {
          cluster: target.name,
          storeName: credential.external.storeName,
          storeKind: credential.external.storeKind,
          key: credential.external.key,
          property: credential.external.property,
        });
      }
    }
    endRun();
  }
}

/** A Helm chart install of a cluster. */
export interface HelmChartInstall {
  readonly release: string;
  readonly chart: 'base' | 'istiod' | 'gateway' | 'cni' | 'ztunnel';
  readonly values: Record<string, unknown>;
  /** What it installs, for READMEs. */
  readonly what: string;
}



/** Places every Kubernetes object under `scope` in `folder`. */
function placeAll(scope: Construct, folder: string): void {
  for (const c of scope.node.findAll()) if (ApiObject.isApiObject(c) || RemoteSecretManifests.isRemoteSecretManifests(c)) placeObject(c, folder);
}

function withoutKeys(values: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => !keys.includes(k)));
}
