/**
 * The CustomResourceDefinitions that meshgen's objects are checked against:
 * Istio 1.30.3's (vendor/istio) and the upstream CRDs of Flux, Argo CD,
 * cert-manager, external-secrets, the Sail operator and Sealed Secrets
 * (test/fixtures/crds/upstream, sources in its SOURCE.md). Owns finding the
 * schema that serves an apiVersion and kind, and the copy of the CRDs that
 * the v1.20 test API server can read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

const REPO = path.resolve(__dirname, '..', '..');

/** Istio's CRDs, as the charts of the Istio release meshgen installs ship them. */
export const ISTIO_CRDS = path.join(REPO, 'vendor', 'istio', '1.30.3', 'crd-all.gen.yaml');

/** The upstream CRDs of the other projects whose objects meshgen writes. */
export const UPSTREAM_CRDS = path.join(REPO, 'test', 'fixtures', 'crds', 'upstream');

/** An OpenAPI v3 schema node of a CRD, with Kubernetes' extensions. */
export type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
  [keyword: string]: unknown;
};

/** One CEL rule of a schema node. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** A CustomResourceDefinition, as far as these checks read it. */
export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Schema }; [field: string]: unknown }[];
    [field: string]: unknown;
  };
}

/** The schema of one served version of a CRD. */
export interface ServedVersion {
  /** `metadata.name` of the CRD. */
  readonly crd: string;
  readonly schema: Schema;
}

/** Every `.yaml` file under the upstream folder, sorted. */
export function upstreamCrdFiles(): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name.endsWith('.yaml')) out.push(full);
    }
  };
  visit(UPSTREAM_CRDS);
  return out;
}

/** The CRDs in a YAML file (other documents are left out). */
export function readCrds(file: string): Crd[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Crd | null)
    .filter((d): d is Crd => d?.kind === 'CustomResourceDefinition');
}

let served: Map<string, ServedVersion> | undefined;

/** Every served version of every CRD, keyed `group/version/Kind` (an object's `apiVersion/kind`). */
export function servedVersions(): Map<string, ServedVersion> {
  if (served) return served;
  const map = new Map<string, ServedVersion>();
  for (const file of [ISTIO_CRDS, ...upstreamCrdFiles()]) {
    for (const crd of readCrds(file)) {
      for (const v of crd.spec.versions) {
        if (!v.served || !v.schema) continue;
        map.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, { crd: crd.metadata.name, schema: v.schema.openAPIV3Schema });
      }
    }
  }
  served = map;
  return map;
}

/** The schema of field `name` of an object with schema `node`: a listed property, else the map's value schema. */
export function fieldSchema(node: Schema, name: string): Schema | undefined {
  if (node.properties && Object.hasOwn(node.properties, name)) return node.properties[name];
  return typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
}

/** The schema serving `apiVersion` and `kind`, or undefined when no CRD here serves it. */
export function servedVersion(apiVersion: string, kind: string): ServedVersion | undefined {
  return servedVersions().get(`${apiVersion}/${kind}`);
}

/**
 * A CRD as the v1.20 test API server can take it, with kubectl's client-side
 * validation on. Only what 1.20 cannot read is removed:
 * - `x-kubernetes-validations` (CEL rules, Kubernetes 1.23+): not in 1.20's
 *   CRD schema, so kubectl rejects it as an unknown field (and the server
 *   would drop it). test/validators/cel.ts evaluates those rules instead.
 * - `selectableFields` of a version (1.30+): likewise unknown to 1.20. It
 *   only adds field selectors for listing; it validates nothing.
 * - `default: ""`: 1.20 reads an empty-string default as null and refuses
 *   the whole CRD ("default: Invalid value: "null": … must be of type
 *   string"); external-secrets and Sail have such defaults. A default fills
 *   in a missing field and never rejects an object.
 */
export function forApiServer120(crd: Crd): Crd {
  const versions = crd.spec.versions.map(({ selectableFields: _, ...v }) =>
    v.schema ? { ...v, schema: { ...v.schema, openAPIV3Schema: schemaFor120(v.schema.openAPIV3Schema) } } : v,
  );
  return { ...crd, spec: { ...crd.spec, versions } };
}

/** A schema node and its sub-schemas without the keywords 1.20 cannot read (property names are kept as they are). */
function schemaFor120(node: Schema): Schema {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'x-kubernetes-validations' || (k === 'default' && v === '')) continue;
    if (k === 'properties' || k === 'patternProperties') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([name, sub]) => [name, schemaFor120(sub)]));
    } else if ((k === 'items' || k === 'additionalProperties' || k === 'not') && typeof v === 'object' && v !== null) {
      out[k] = schemaFor120(v as Schema);
    } else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) {
      out[k] = (v as Schema[]).map(schemaFor120);
    } else {
      out[k] = v;
    }
  }
  return out as Schema;
}
