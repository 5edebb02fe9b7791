/**
 * Flux objects that install Istio from its Helm charts: a HelmRepository,
 * HelmReleases ordered with dependsOn, and Kustomizations that apply
 * sub-folders of the cluster folder in order (Istio first, with `wait`,
 * then what needs Istio's CRDs and istiod).
 *
 * @see https://fluxcd.io/flux/components/helm/helmreleases/
 * @see https://fluxcd.io/flux/components/kustomize/kustomizations/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { describeObject } from './description';

/** Istio's Helm chart repository. */
export const ISTIO_CHART_REPOSITORY = 'https://istio-release.storage.googleapis.com/charts';

/** Props of FluxHelmRepository. */
export interface FluxHelmRepositoryProps {
  /** metadata.name, which the HelmReleases name as their source. */
  readonly name: string;
  /** metadata.namespace. */
  readonly namespace: string;
  /** How often Flux reads the repository's index, e.g. `10m`. */
  readonly interval: string;
}

/** A Flux HelmRepository of Istio's charts. */
export class FluxHelmRepository extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: FluxHelmRepositoryProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmRepository',
      metadata: { name: props.name, namespace: props.namespace },
      spec: { url: ISTIO_CHART_REPOSITORY, interval: props.interval },
    });
    describeObject(this.resource, `HelmRepository \`${props.name}\`: Istio's charts`);
  }
}

/** Props of FluxHelmRelease. */
export interface FluxHelmReleaseProps {
  /** Release (and object) name. */
  readonly name: string;
  readonly namespace: string;
  /** Chart name in Istio's repository. */
  readonly chart: string;
  /** Chart version: the Istio release. */
  readonly version: string;
  /** The HelmRepository, in `namespace`. */
  readonly repository: string;
  readonly values: Record<string, unknown>;
  /**
   * HelmReleases (in `namespace`) to install first.
   * @default - none
   */
  readonly dependsOn?: readonly string[];
  readonly interval: string;
  /** One line for the README. */
  readonly description: string;
}

/**
 * How a HelmRelease retries a failed install or upgrade. Without it Flux
 * remediates and then gives up: a remote's releases, whose pods wait for
 * the primary's istiod to inject them, fail when the remote reconciles
 * first and would stay Stalled. `RetryOnFailure` (helm-controller 1.4,
 * Flux 2.7) retries with an upgrade after the interval, without
 * uninstalling or rolling back what is there.
 *
 * @see https://fluxcd.io/flux/components/helm/helmreleases/#install-strategy
 */
export const FLUX_RETRY = { name: 'RetryOnFailure', retryInterval: '2m' } as const;

/** How long a release may take to become ready, a remote's waiting for its primary included. */
export const FLUX_RELEASE_TIMEOUT = '10m';

/** A Flux HelmRelease (helm.toolkit.fluxcd.io/v2) of one of Istio's charts. */
export class FluxHelmRelease extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: FluxHelmReleaseProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: props.name, namespace: props.namespace },
      spec: {
        interval: props.interval,
        timeout: FLUX_RELEASE_TIMEOUT,
        releaseName: props.name,
        chart: { spec: { chart: props.chart, version: props.version, sourceRef: { kind: 'HelmRepository', name: props.repository } } },
        dependsOn: props.dependsOn && props.dependsOn.length > 0 ? props.dependsOn.map((name) => ({ name })) : undefined,
        install: { strategy: { ...FLUX_RETRY } },
        upgrade: { strategy: { ...FLUX_RETRY } },
        values: Object.keys(props.values).length > 0 ? props.values : undefined,
      },
    });
    describeObject(this.resource, props.description);
  }
}

/** Props of FluxKustomization. */
export interface FluxKustomizationProps {
  readonly name: string;
  readonly namespace: string;
  /** Path of the folder in the Git repository. */
  readonly path: string;
  readonly sourceName: string;
  readonly sourceNamespace: string;
  readonly interval: string;
  /**
   * Kustomizations (in `namespace`) to reconcile first.
   * @default - none
   */
  readonly dependsOn?: readonly string[];
  /**
   * Decrypt SOPS files with the age identity in this Secret (in `namespace`, under a key ending in `.agekey`).
   * @default - no decryption
   */
  readonly sopsDecryptionSecret?: string;
  /**
   * Objects to wait for besides those applied, such as a Secret another controller makes; Flux waits until they exist.
   * @default - none
   */
  readonly healthChecks?: readonly { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly namespace: string }[];
  /** One line for the README. */
  readonly description: string;
}

/** A Flux Kustomization (kustomize.toolkit.fluxcd.io/v1) that applies one sub-folder and waits for it to be ready. */
export class FluxKustomization extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: FluxKustomizationProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: props.name, namespace: props.namespace },
      spec: {
        interval: props.interval,
        path: props.path,
        prune: true,
        wait: true,
        timeout: '10m',
        sourceRef: { kind: 'GitRepository', name: props.sourceName, namespace: props.sourceNamespace },
        dependsOn: props.dependsOn && props.dependsOn.length > 0 ? props.dependsOn.map((name) => ({ name })) : undefined,
        decryption: props.sopsDecryptionSecret ? { provider: 'sops', secretRef: { name: props.sopsDecryptionSecret } } : undefined,
        healthChecks: props.healthChecks && props.healthChecks.length > 0 ? props.healthChecks.map((h) => ({ ...h })) : undefined,
      },
    });
    describeObject(this.resource, props.description);
  }
}
