/**
 * Argo CD Applications that install Istio from its Helm charts and apply
 * the rest of a cluster folder, ordered with sync waves: the CA secret
 * first, then the CRDs (`base`), istiod, the east-west gateway, and last the
 * objects that need Istio's CRDs.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#applications
 * @see https://istio.io/latest/docs/setup/install/helm/
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { describeObject } from './description';
import { ISTIO_CHART_REPOSITORY } from './flux';
import { ISTIO_SYSTEM } from './names';

/** Where an Application takes its manifests from. */
export type ArgoSource =
  | { readonly chart: string; readonly version: string; readonly releaseName: string; readonly values: Record<string, unknown> }
  | { readonly repoURL: string; readonly targetRevision: string; readonly path: string };

/** Props of ArgoApplication. */
export interface ArgoApplicationProps {
  readonly name: string;
  /** Namespace of Argo CD. */
  readonly namespace: string;
  readonly project: string;
  /** The cluster's name in Argo CD. */
  readonly destination: string;
  readonly source: ArgoSource;
  /** Sync wave: lower waves are synced and healthy first. */
  readonly wave: number;
  /** One line for the README. */
  readonly description: string;
}

/** An Argo CD Application (argoproj.io/v1alpha1). */
export class ArgoApplication extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: ArgoApplicationProps) {
    super(scope, id);
    const s = props.source;
    const source =
      'chart' in s
        ? {
            repoURL: ISTIO_CHART_REPOSITORY,
            chart: s.chart,
            targetRevision: s.version,
            helm: { releaseName: s.releaseName, ...(Object.keys(s.values).length > 0 ? { valuesObject: s.values } : {}) },
          }
        : { repoURL: s.repoURL, targetRevision: s.targetRevision, path: s.path };
    // istiod patches the validating webhook's failurePolicy at run time; Argo CD would fight it forever.
    const ignoreDifferences =
      'chart' in s && s.chart === 'base'
        ? [{ group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', jsonPointers: ['/webhooks/0/failurePolicy'] }]
        : undefined;
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: props.name, namespace: props.namespace, annotations: { 'argocd.argoproj.io/sync-wave': String(props.wave) } },
      spec: {
        project: props.project,
        destination: { name: props.destination, namespace: ISTIO_SYSTEM },
        source,
        ignoreDifferences,
        syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
      },
    });
    describeObject(this.resource, props.description);
  }
}
