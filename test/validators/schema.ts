/**
 * Structural checks of custom resources: against the OpenAPI schema of the
 * CRD version that serves them (test/validators/crds.ts) with unknown fields
 * rejected, as `kubectl apply --validate=strict` does, plus the list
 * uniqueness that the API server enforces (`x-kubernetes-list-type` set and
 * map); and against the models that @kubernetes-models publishes for Flux,
 * Argo CD, cert-manager, external-secrets and Sealed Secrets, generated from
 * those projects' Go API types (they also check `metadata` as ObjectMeta,
 * and string formats).
 */
import Ajv, { type ValidateFunction } from 'ajv';
import * as argoCd from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import * as certManager from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import * as externalSecrets from '@kubernetes-models/external-secrets/external-secrets.io/v1';
import * as fluxHelm from '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2';
import * as fluxKustomize from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1';
import * as fluxSource from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import * as sealedSecrets from '@kubernetes-models/sealed-secrets/bitnami.com/v1alpha1';
import { fieldSchema, servedVersion, type Schema } from './crds';

/** An object of the API, as read from a manifest. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  [field: string]: unknown;
}

// ------------------------------------------------------------ the CRD's schema

/**
 * The schema with every object closed: the API server prunes fields its
 * schema does not list (and kubectl's strict validation rejects them), except
 * under `x-kubernetes-preserve-unknown-fields`. An embedded resource keeps
 * its apiVersion, kind and metadata, and so does the root, whose `metadata`
 * is ObjectMeta, which the API server checks itself.
 */
export function closedSchema(schema: Schema): Schema {
  const close = (node: Schema): Schema => {
    const out: Schema = { ...node };
    if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, close(v)]));
    if (typeof node.additionalProperties === 'object') out.additionalProperties = close(node.additionalProperties);
    if (node.items && !Array.isArray(node.items)) out.items = close(node.items);
    if (node.type === 'object' && !node['x-kubernetes-preserve-unknown-fields'] && node.additionalProperties === undefined) {
      out.additionalProperties = false;
      if (node['x-kubernetes-embedded-resource']) {
        out.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...out.properties };
      }
    }
    return out;
  };
  const root = close(schema);
  return { ...root, properties: { ...root.properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } } };
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();

/** Duplicates in lists the schema declares as sets or maps, which the API server rejects. */
function listDuplicates(value: unknown, node: Schema, at: string, out: string[]): void {
  if (Array.isArray(value)) {
    const type = node['x-kubernetes-list-type'];
    if (type === 'set' || type === 'map') {
      const keys = node['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const id = JSON.stringify(type === 'set' ? item : keys.map((k) => (item as Record<string, unknown>)?.[k]));
        if (seen.has(id)) out.push(`${at}[${i}]: duplicate ${type === 'set' ? 'value' : `entry for keys ${keys.join(', ')}`} ${id}`);
        seen.add(id);
      });
    }
    if (node.items) value.forEach((item, i) => listDuplicates(item, node.items!, `${at}[${i}]`, out));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    const sub = fieldSchema(node, k);
    if (sub) listDuplicates(v, sub, `${at}.${k}`, out);
  }
}

/** Problems of `obj` against its CRD's schema; throws when no CRD here serves its apiVersion and kind. */
export function checkSchema(obj: KubeObject): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const served = servedVersion(obj.apiVersion, obj.kind);
  if (!served) throw new Error(`no CRD here serves ${obj.apiVersion} ${obj.kind}`);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(closedSchema(served.schema));
    validators.set(key, validate);
  }
  const problems = validate(obj)
    ? []
    : (validate.errors ?? []).map((e) => {
        const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : e.keyword === 'enum' ? ` ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}` : '';
        return `${e.instancePath || '/'} ${e.message}${extra}`;
      });
  listDuplicates(obj, served.schema, '', problems);
  return problems;
}

// ------------------------------------------------------------ published models

type ModelClass = (new (data: unknown) => { validate(): void }) & { apiVersion?: string; kind?: string };

/** The @kubernetes-models module of each API version meshgen writes. */
const MODELS: Record<string, Record<string, unknown>> = {
  'argoproj.io/v1alpha1': argoCd,
  'cert-manager.io/v1': certManager,
  'external-secrets.io/v1': externalSecrets,
  'helm.toolkit.fluxcd.io/v2': fluxHelm,
  'kustomize.toolkit.fluxcd.io/v1': fluxKustomize,
  'source.toolkit.fluxcd.io/v1': fluxSource,
  'bitnami.com/v1alpha1': sealedSecrets,
};

const MODEL_GROUPS = new Set(Object.keys(MODELS).map((v) => v.split('/')[0]));

/** Whether published models cover this API group (then every version and kind of it must have one). */
export function hasModels(apiVersion: string): boolean {
  return MODEL_GROUPS.has(apiVersion.split('/')[0]);
}

/** Problems of `obj` against its published model, which must exist. */
export function checkModel(obj: KubeObject): string[] {
  const model = MODELS[obj.apiVersion]?.[obj.kind] as ModelClass | undefined;
  if (!model || model.apiVersion !== obj.apiVersion || model.kind !== obj.kind) return [`no @kubernetes-models model for ${obj.apiVersion} ${obj.kind}: add its module to MODELS`];
  try {
    new model(obj).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    return errors ? errors.map((e) => `${e.instancePath || '/'} ${e.message}`) : [(err as Error).message];
  }
}
