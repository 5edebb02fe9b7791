/**
 * Checks generated objects against Istio's own API definitions, vendored
 * under vendor/istio/: the CRD OpenAPI schemas (networking, security, …),
 * the IstioOperator Go types (`types.go`) and the Helm values proto
 * (`values_types.proto`). Each returns the list of problems found.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { servedVersions } from '../validators/crds';
import { REPO } from './index';

const VENDOR = path.join(REPO, 'vendor', 'istio');

// ---------------------------------------------------------------- CRD schemas

type Schema = Record<string, unknown>;

/**
 * Kubernetes prunes unknown fields instead of rejecting them; close every
 * object schema that lists its properties so that a misspelt field fails.
 */
function closeSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node as Schema)) out[k] = closeSchema(v);
  if (out.properties && out['x-kubernetes-preserve-unknown-fields'] !== true && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

let crdSchemas: Map<string, Schema> | undefined;
const crdValidators = new Map<string, ValidateFunction>();
const crdAjv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

function loadCrds(): Map<string, Schema> {
  if (crdSchemas) return crdSchemas;
  const map = new Map<string, Schema>();
  // Istio 1.30.3's CRDs and the other projects' upstream CRDs (test/fixtures/crds/upstream, see its SOURCE.md).
  for (const [key, served] of servedVersions()) {
    const schema = closeSchema(served.schema) as Schema;
    // metadata is checked by the API server, not by the CRD schema.
    const props = { ...(schema.properties as Schema), apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
    map.set(key, { ...schema, properties: props });
  }
  crdSchemas = map;
  return map;
}

/** Problems of an Istio object against its CRD schema; throws for kinds that are not Istio CRDs. */
export function checkAgainstCrd(obj: { apiVersion: string; kind: string }): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const schema = loadCrds().get(key);
  if (!schema) throw new Error(`no Istio 1.30.3 CRD (nor an upstream CRD under test/fixtures/crds/upstream) serves ${obj.apiVersion} ${obj.kind}`);
  let validate = crdValidators.get(key);
  if (!validate) {
    validate = crdAjv.compile(schema);
    crdValidators.set(key, validate);
  }
  if (validate(obj)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

// ------------------------------------------------------- values_types.proto

interface ProtoField {
  type: string;
  map: boolean;
}

let protoMessages: Map<string, Map<string, ProtoField>> | undefined;
let protoEnums: Set<string> | undefined;

function loadProto(): { messages: Map<string, Map<string, ProtoField>>; enums: Set<string> } {
  if (protoMessages && protoEnums) return { messages: protoMessages, enums: protoEnums };
  const text = fs.readFileSync(path.join(VENDOR, 'master', 'values_types.proto'), 'utf8').replace(/\/\/.*$/gm, '');
  const messages = new Map<string, Map<string, ProtoField>>();
  const enums = new Set<string>();
  const stack: { kind: string; name: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const open = /^(message|enum|oneof)\s+(\w+)\s*\{/.exec(line);
    if (open) {
      stack.push({ kind: open[1], name: open[2] });
      if (open[1] === 'message') messages.set(open[2], new Map());
      if (open[1] === 'enum') enums.add(open[2]);
      continue;
    }
    if (line.startsWith('}')) {
      stack.pop();
      continue;
    }
    const msg = [...stack].reverse().find((s) => s.kind === 'message');
    if (!msg || stack[stack.length - 1]?.kind === 'enum') continue;
    const field = /^(?:repeated\s+)?(map<\s*\w+\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*\d+\s*(?:\[([^\]]*)\])?\s*;/.exec(line);
    if (!field) continue;
    const isMap = field[1].startsWith('map<');
    const type = isMap ? field[2] : field[1];
    const jsonName = /json_name\s*=\s*"([^"]+)"/.exec(field[4] ?? '')?.[1];
    const names = new Set([field[3], jsonName ?? field[3].replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]);
    for (const n of names) messages.get(msg.name)?.set(n, { type, map: isMap });
  }
  protoMessages = messages;
  protoEnums = enums;
  return { messages, enums };
}

const OPEN_PROTO_TYPES = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.Any', 'google.protobuf.ListValue']);

/** Keys of `values` (an IstioOperator's spec.values, or Helm values) that Istio's values schema does not define. */
export function checkValues(values: unknown): string[] {
  const { messages, enums } = loadProto();
  const problems: string[] = [];
  const walk = (value: unknown, type: string, at: string) => {
    if (OPEN_PROTO_TYPES.has(type) || type.startsWith('google.protobuf.') || enums.has(type)) return;
    const fields = messages.get(type);
    if (!fields) return; // scalar
    if (typeof value !== 'object' || value === null) {
      problems.push(`${at}: ${type} must be a mapping`);
      return;
    }
    const items = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v] as const) : [['', value] as const];
    for (const [suffix, item] of items) {
      for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
        const f = fields.get(k);
        if (!f) problems.push(`${at}${suffix}.${k}: not a field of ${type}`);
        else if (f.map) for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) walk(mv, f.type, `${at}${suffix}.${k}.${mk}`);
        else walk(v, f.type, `${at}${suffix}.${k}`);
      }
    }
  };
  walk(values, 'Values', 'values');
  return problems;
}

// ------------------------------------------------------------- types.go (IOP)

let goStructs: Map<string, Map<string, string>> | undefined;

function loadGoTypes(): Map<string, Map<string, string>> {
  if (goStructs) return goStructs;
  const text = fs.readFileSync(path.join(VENDOR, 'master', 'iop_types.go.txt'), 'utf8');
  const structs = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const open = /^type\s+(\w+)\s+struct\s*\{/.exec(line);
    if (open) {
      current = new Map();
      structs.set(open[1], current);
      continue;
    }
    if (line === '}') {
      current = undefined;
      continue;
    }
    if (!current || line.startsWith('//') || !line) continue;
    const embedded = /^(\w+)$/.exec(line);
    if (embedded) {
      current.set(`...${embedded[1]}`, embedded[1]);
      continue;
    }
    const field = /^\w+\s+([\w.*[\]]+(?:\[[\w.]+\][\w.*]+)?)\s+`json:"([^",]*)/.exec(line);
    if (field && field[2] && field[2] !== '-') current.set(field[2], field[1].replace(/^[*[\]]+/, ''));
  }
  goStructs = structs;
  return structs;
}

/** Problems of an IstioOperator against Istio's Go types; `spec.values` is checked against the values proto. */
export function checkIstioOperator(iop: { apiVersion: string; kind: string; metadata: unknown; spec: Record<string, unknown> }): string[] {
  const structs = loadGoTypes();
  const problems: string[] = [];
  if (iop.apiVersion !== 'install.istio.io/v1alpha1' || iop.kind !== 'IstioOperator') problems.push('not an install.istio.io/v1alpha1 IstioOperator');
  const fieldsOf = (type: string): Map<string, string> | undefined => {
    const s = structs.get(type);
    if (!s) return undefined;
    const all = new Map<string, string>();
    for (const [k, v] of s) {
      if (k.startsWith('...')) for (const [ek, ev] of fieldsOf(v) ?? []) all.set(ek, ev);
      else all.set(k, v);
    }
    return all;
  };
  const walk = (value: unknown, type: string, at: string) => {
    const fields = fieldsOf(type);
    if (!fields || typeof value !== 'object' || value === null) return; // external or scalar type
    const items = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v] as const) : [['', value] as const];
    for (const [suffix, item] of items) {
      for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
        const t = fields.get(k);
        if (!t) problems.push(`${at}${suffix}.${k}: not a field of ${type}`);
        else if (k !== 'values') walk(v, t, `${at}${suffix}.${k}`);
      }
    }
  };
  walk(iop.spec, 'IstioOperatorSpec', 'spec');
  if (iop.spec.values !== undefined) problems.push(...checkValues(iop.spec.values).map((p) => `spec.${p}`));
  return problems;
}

// ------------------------------------------------------------ chart values

/**
 * The dotted keys of maps a vendored Istio chart's values.yaml defines
 * (vendor/istio/<chart>/values.yaml). Newer charts keep their defaults under
 * `_internal_defaults_do_not_set`, which they read as the top level.
 */
export function chartValueKeys(chart: 'gateway-chart' | 'ztunnel-chart' | 'istio-cni-chart'): Set<string> {
  const doc = parseYaml(fs.readFileSync(path.join(VENDOR, chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const keys = new Set<string>();
  const visit = (v: unknown, at: string) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
    for (const [k, child] of Object.entries(v)) {
      keys.add(at ? `${at}.${k}` : k);
      visit(child, at ? `${at}.${k}` : k);
    }
  };
  visit(doc._internal_defaults_do_not_set ?? doc, '');
  return keys;
}
