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
import { FolderFile } from './folder-file';

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
  /**
   * Skip the dry run of kinds whose CRD is not there yet (objects that need Istio's CRDs).
   * @default false
   */
  readonly needsIstioCrds?: boolean;
}

/**
 * Retries of a failed sync. Argo CD does not retry a failed sync of the same
 * revision on its own, and an early wave can fail while the CRDs or the
 * webhook of an earlier one are still coming up.
 */
export const ARGO_SYNC_RETRY = { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } } as const;

/**
 * Lets Argo CD wait for the health of child Applications, which it stopped
 * doing in 1.8: without it sync waves of Applications do not wait for each other.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/upgrading/1.7-1.8/#health-assessment-of-argoprojioapplication-crd-has-been-removed
 */
export const ARGO_APPLICATION_HEALTH_LUA = [
  'hs = {}',
  'hs.status = "Progressing"',
  'hs.message = ""',
  'if obj.status ~= nil then',
  '  if obj.status.health ~= nil then',
  '    hs.status = obj.status.health.status',
  '    if obj.status.health.message ~= nil then',
  '      hs.message = obj.status.health.message',
  '    end',
  '  end',
  'end',
  'return hs',
].join('\n');

/**
 * What istiod changes at run time in the webhooks a chart renders, for
 * Argo CD to leave alone. The charts render the validating webhooks with
 * `failurePolicy: Ignore` and no `caBundle`; istiod's webhook controller
 * patches in `Fail` and its CA once it serves, and patches the injector's
 * `caBundle` too (istio `pkg/webhooks/validation/controller`,
 * `pkg/webhooks/webhookpatch.go`). Compared as rendered, Argo CD's self-heal
 * and istiod would flip them for ever, reopening validation each time
 * (istio/istio#52785).
 *
 * `base` renders `istiod-default-validator`, `istiod` renders
 * `istio-validator[-<revision>]-istio-system` and the sidecar injector; the
 * gateway chart renders no webhook.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/
 */
export function istioWebhookDifferences(chart: string): Record<string, unknown>[] | undefined {
  const validating = {
    group: 'admissionregistration.k8s.io',
    kind: 'ValidatingWebhookConfiguration',
    jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle', '.webhooks[]?.failurePolicy'],
  };
  const mutating = { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'] };
  if (chart === 'base') return [validating];
  if (chart === 'istiod') return [mutating, validating];
  return undefined;
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
    const ignoreDifferences = 'chart' in s ? istioWebhookDifferences(s.chart) : undefined;
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: props.name, namespace: props.namespace, annotations: { 'argocd.argoproj.io/sync-wave': String(props.wave) } },
      spec: {
        project: props.project,
        destination: { name: props.destination, namespace: ISTIO_SYSTEM },
        source,
        ignoreDifferences,
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: [
            'CreateNamespace=true',
            // Without it Argo CD compares with the ignored fields left out, but a sync still writes them back.
            ...(ignoreDifferences ? ['RespectIgnoreDifferences=true'] : []),
            ...(props.needsIstioCrds ? ['SkipDryRunOnMissingResource=true'] : []),
          ],
          retry: ARGO_SYNC_RETRY,
        },
      },
    });
    describeObject(this.resource, props.description);
  }
}

/** File of the parent Application of an Argo CD cluster folder. */
export const ARGO_APP_OF_APPS_FILE = 'argocd-app-of-apps.yaml';

/** Props of ArgoAppOfApps. */
export interface ArgoAppOfAppsProps {
  readonly name: string;
  /** Namespace of Argo CD. */
  readonly namespace: string;
  readonly project: string;
  /** Git repository, revision and path of the cluster folder. */
  readonly source: { readonly repoURL: string; readonly targetRevision: string; readonly path: string };
}

/**
 * The parent Application of a cluster folder (app of apps): Argo CD syncs
 * the folder's Applications from it, wave after wave. It lives in Argo CD's
 * own cluster, so it is a file beside the folder's kustomization, not in it.
 */
export class ArgoAppOfApps extends FolderFile {
  constructor(scope: Construct, id: string, props: ArgoAppOfAppsProps) {
    super(scope, id, {
      path: ARGO_APP_OF_APPS_FILE,
      document: argoAppOfApps(props),
      description: `Application \`${props.name}\`: the parent (app of apps) that syncs this folder's Applications wave after wave`,
      usedBy: '`kubectl apply -f`, once, on the Argo CD cluster',
    });
  }
}

/** The parent Application's document. */
export function argoAppOfApps(props: ArgoAppOfAppsProps): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: props.name, namespace: props.namespace },
    spec: {
      project: props.project,
      destination: { server: 'https://kubernetes.default.svc', namespace: props.namespace },
      source: { repoURL: props.source.repoURL, targetRevision: props.source.targetRevision, path: props.source.path },
      syncPolicy: { automated: { prune: true, selfHeal: true }, retry: ARGO_SYNC_RETRY },
    },
  };
}
