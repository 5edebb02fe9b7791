/**
 * Checks a document against its JSON Schema and turns every schema error
 * into a problem that names the file, line, path, bad value and fix.
 */
import type Ajv from 'ajv';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { Problem } from '../errors';
import { toDnsLabel } from './names';
import { federationSchema, meshSchema } from './schema';
import { describeValue, DocPath, problemAt, SourceDocument } from './source';

/** The schemas that `npm run build` compiles ahead of time (scripts/precompile-schema.js), by name. */
export const PRECOMPILED_SCHEMAS: Readonly<Record<string, object>> = { Mesh: meshSchema, MeshFederation: federationSchema };

/** The Ajv every topology schema is compiled with, at build time and at run time alike. */
export function newAjv(extra: Options = {}): Ajv {
  // Loaded here only: a built meshgen uses the precompiled validators and never loads Ajv's compiler.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: AjvClass } = require('ajv') as typeof import('ajv');
  return new AjvClass({ allErrors: true, strict: true, verbose: true, ...extra });
}

const compiled = new Map<object, ValidateFunction>();
let ajv: Ajv | undefined;

/** The build's precompiled validators by name, when meshgen runs from lib/; none from the TypeScript sources. */
function precompiled(): Record<string, ValidateFunction> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./schema-validators.js') as Record<string, ValidateFunction>;
  } catch (err) {
    // Only the file's own absence means "not built": a module it needs that is missing is an error to see.
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (err as Error).message.includes("'./schema-validators.js'")) return {};
    throw err;
  }
}

/** The validator of `schema`: precompiled by the build when there is one, else compiled once per process. */
function validatorOf(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate) return validate;
  const name = Object.keys(PRECOMPILED_SCHEMAS).find((n) => PRECOMPILED_SCHEMAS[n] === schema);
  validate = name !== undefined ? precompiled()[name] : undefined;
  if (!validate) {
    ajv ??= newAjv();
    validate = ajv.compile(schema);
  }
  compiled.set(schema, validate);
  return validate;
}

/** Every problem `doc` has against `schema`; empty when it conforms. */
export function checkSchema(doc: SourceDocument, schema: object): Problem[] {
  const validate = validatorOf(schema);
  if (validate(doc.value)) return [];
  const errors = dedupe(validate.errors ?? []);
  return errors.map((e) => toProblem(doc, e));
}

/** Keeps one error per value: a bad name fails both pattern and maxLength. */
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  const out: ErrorObject[] = [];
  for (const e of errors) {
    const extra = e.keyword === 'additionalProperties' ? e.params.additionalProperty : e.keyword === 'required' ? e.params.missingProperty : '';
    const id = `${e.instancePath}|${e.keyword === 'maxLength' ? 'pattern' : e.keyword}|${extra}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(e);
  }
  return out;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function toProblem(doc: SourceDocument, e: ErrorObject): Problem {
  const path: DocPath = pointerToPath(e.instancePath);
  const parent = e.parentSchema as { description?: string; properties?: Record<string, { description?: string }> } | undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const valid = Object.keys(parent?.properties ?? {});
      const near = nearest(key, valid);
      const hint = near ? `did you mean "${near}"? ` : 'remove it; ';
      return problemAt(doc, [...path, key], `unknown key "${key}"`, `${hint}valid keys here: ${valid.join(', ')}`, { key: true });
    }
    case 'required': {
      const key = String(e.params.missingProperty);
      const what = parent?.properties?.[key]?.description;
      return problemAt(doc, path, `missing required key "${key}"`, `add "${key}:"${what ? ` (${what})` : ''}`);
    }
    case 'type': {
      const want = String(e.params.type);
      const fix = want === 'string' && typeof e.data !== 'object' ? 'put the value in quotes, so YAML reads it as a string (e.g. "1.30")' : `write ${article(want)} here`;
      return problemAt(doc, path, `must be ${article(want)}, got ${describeValue(e.data, { nullAs: 'null' })}`, fix);
    }
    case 'const':
      return problemAt(
        doc,
        path,
        `must be "${String(e.params.allowedValue)}", got ${describeValue(e.data, { nullAs: 'null' })}`,
        `set it to ${String(e.params.allowedValue)}`,
      );
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      return problemAt(doc, path, `${describeValue(e.data, { nullAs: 'null' })} is not one of: ${allowed.join(', ')}`, `use one of: ${allowed.join(', ')}`);
    }
    case 'pattern':
    case 'maxLength':
      if (e.schemaPath.includes('/dnsLabel/')) {
        const fixed = toDnsLabel(String(e.data), '') || undefined;
        return problemAt(
          doc,
          path,
          `${describeValue(e.data, { nullAs: 'null' })} is not a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters)`,
          fixed ? `rename it, e.g. "${fixed}"` : 'rename it to a DNS-1123 label',
        );
      }
      if (e.keyword === 'pattern') {
        return problemAt(doc, path, `${describeValue(e.data, { nullAs: 'null' })} does not have the expected form`, parent?.description ?? `match ${String(e.params.pattern)}`);
      }
      return problemAt(doc, path, `${describeValue(e.data, { nullAs: 'null' })} is longer than ${String(e.params.limit)} characters`, 'shorten it');
    case 'minLength':
      return problemAt(doc, path, 'must not be empty', parent?.description ?? 'give a value');
    case 'minItems':
      return problemAt(
        doc,
        path,
        `has no entries; at least ${String(e.params.limit)} needed`,
        parent?.description ? `add an entry: ${parent.description}` : 'add an entry',
      );
    default:
      return problemAt(doc, path, e.message ?? `fails the schema's ${e.keyword} rule`);
  }
}

function article(type: string): string {
  const noun = type === 'object' ? 'mapping' : type === 'array' ? 'list' : type;
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}


/** The candidate closest to `word` by edit distance, if it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
