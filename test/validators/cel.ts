/**
 * The CEL rules (`x-kubernetes-validations`) of CRDs, evaluated the way a
 * Kubernetes 1.32+ API server evaluates them when an object is created:
 * each rule at its schema node with `self` bound to the value there, typed
 * from the schema (integers as CEL ints, `date-time` strings as timestamps,
 * property names escaped), and no `oldSelf`. Rules that read `oldSelf` are
 * transition rules, which the server only runs on updates.
 *
 * The environment is @bufbuild/cel with the CEL standard library, the
 * strings extension and the Kubernetes libraries the rules here call
 * (`KUBERNETES_LIBRARIES`). A rule that calls anything else does not compile,
 * and `compileRule` says which function is missing.
 *
 * @see https://kubernetes.io/docs/reference/using-api/cel/
 */
import { celEnv, isCelError, parse, plan, run, type CelInput, type CelResult } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { fieldSchema, type Schema, type ValidationRule } from './crds';
import { URL_LIBRARY } from './k8s-url';

/** Kubernetes CEL libraries implemented here: the rules of the CRDs checked call only the URL library. */
export const KUBERNETES_LIBRARIES = { urls: URL_LIBRARY } as const;

const ENV = celEnv({ funcs: [...strings, ...Object.values(KUBERNETES_LIBRARIES).flat()] });

/** Calls the planner evaluates itself rather than through the function table. */
const PLANNER_CALLS = new Set(['_[_]', '_[?_]', '_?._', '_?_:_', '_&&_', '_||_', '@not_strictly_false', '__not_strictly_false__']);

/** A compiled rule: a check, or the reason it is not run on create. */
export type CompiledRule =
  | { readonly kind: 'check'; readonly evaluate: (self: CelInput) => CelResult }
  | { readonly kind: 'transition' };

type Expr = { exprKind: { case: string | undefined; value?: unknown } };
type Call = { function: string; target?: Expr; args: Expr[] };
type Comprehension = { iterVar: string; iterVar2: string; accuVar: string; iterRange: Expr; accuInit: Expr; loopCondition: Expr; loopStep: Expr; result: Expr };

/** What a rule refers to: the functions it calls and the variables it reads that nothing binds. */
interface References {
  /** Each call, with the names it may resolve to (also `ns.f` for a call on a bare name, which may be a namespace). */
  readonly calls: Map<string, string[]>;
  readonly unbound: Set<string>;
  oldSelf: boolean;
}

function resolves(name: string): boolean {
  return PLANNER_CALLS.has(name) || ENV.funcs.find(name) !== undefined;
}

/** Walks a parsed expression; `bound` holds `self` and the variables of the comprehensions around it. */
function scan(expr: Expr | undefined, bound: ReadonlySet<string>, refs: References): void {
  const { case: kind, value } = expr?.exprKind ?? { case: undefined };
  switch (kind) {
    case 'identExpr': {
      const name = (value as { name: string }).name;
      if (name === 'oldSelf') refs.oldSelf = true;
      else if (!bound.has(name)) refs.unbound.add(name);
      return;
    }
    case 'selectExpr':
      return scan((value as { operand: Expr }).operand, bound, refs);
    case 'callExpr': {
      const call = value as Call;
      const target = call.target?.exprKind;
      const namespace = target?.case === 'identExpr' && !bound.has((target.value as { name: string }).name) ? `${(target.value as { name: string }).name}.${call.function}` : undefined;
      refs.calls.set(call.function, [...(refs.calls.get(call.function) ?? []), call.function, ...(namespace ? [namespace] : [])]);
      if (!(namespace && resolves(namespace))) scan(call.target, bound, refs);
      for (const arg of call.args) scan(arg, bound, refs);
      return;
    }
    case 'listExpr':
      for (const e of (value as { elements: Expr[] }).elements) scan(e, bound, refs);
      return;
    case 'structExpr':
      for (const entry of (value as { entries: { keyKind: { case: string; value: unknown }; value: Expr }[] }).entries) {
        if (entry.keyKind.case === 'mapKey') scan(entry.keyKind.value as Expr, bound, refs);
        scan(entry.value, bound, refs);
      }
      return;
    case 'comprehensionExpr': {
      const c = value as Comprehension;
      scan(c.iterRange, bound, refs);
      scan(c.accuInit, bound, refs);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter((v) => v !== ''));
      for (const e of [c.loopCondition, c.loopStep, c.result]) scan(e, inner, refs);
      return;
    }
    default:
      return; // a constant
  }
}

const compiled = new Map<string, CompiledRule>();

/**
 * Parses and plans a rule, and checks what the planner would only find out
 * when the rule runs: that the environment has every function it calls and
 * that it reads no variable but `self`, `oldSelf` and those of its macros.
 * Throws when the rule cannot be compiled. Unlike the API server, this does
 * not type-check a rule against the schema (a field the schema lacks shows
 * up only when an object reaches the rule).
 */
export function compileRule(rule: ValidationRule): CompiledRule {
  const key = JSON.stringify([rule.rule, rule.optionalOldSelf ?? false]);
  const known = compiled.get(key);
  if (known) return known;
  const parsed = parse(rule.rule);
  const refs: References = { calls: new Map(), unbound: new Set(), oldSelf: false };
  scan(parsed.expr as Expr, new Set(['self']), refs);
  const missing = [...refs.calls].filter(([, names]) => !names.some(resolves)).map(([call]) => call);
  if (missing.length > 0) throw new Error(`rule ${JSON.stringify(rule.rule)} calls ${missing.join(', ')}, which this CEL environment does not have`);
  if (refs.unbound.size > 0) throw new Error(`rule ${JSON.stringify(rule.rule)} reads ${[...refs.unbound].join(', ')}: only self and oldSelf are declared`);
  if (rule.optionalOldSelf) throw new Error(`rule ${JSON.stringify(rule.rule)} has optionalOldSelf, which needs CEL optional values`);
  let result: CompiledRule;
  if (refs.oldSelf) {
    result = { kind: 'transition' };
  } else {
    const program = plan(ENV, parsed);
    result = { kind: 'check', evaluate: (self) => program({ self }) };
  }
  compiled.set(key, result);
  return result;
}

/** Every rule of a schema, with its path in the schema. */
export function rulesOf(schema: Schema, at = ''): { at: string; rule: ValidationRule }[] {
  const out = (schema['x-kubernetes-validations'] ?? []).map((rule) => ({ at: at || '.', rule }));
  for (const [name, sub] of Object.entries(schema.properties ?? {})) out.push(...rulesOf(sub, `${at}.${name}`));
  if (typeof schema.additionalProperties === 'object') out.push(...rulesOf(schema.additionalProperties, `${at}.*`));
  if (schema.items) out.push(...rulesOf(schema.items, `${at}[*]`));
  return out;
}

// ------------------------------------------------------------ values for `self`

const RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

/** A property name as CEL rules spell it (k8s.io/apiserver/pkg/cel `Escape`), or undefined when rules cannot reach it. */
export function escapeProperty(name: string): string | undefined {
  if (name === '' || /^[0-9]/.test(name)) return undefined;
  if (RESERVED.has(name)) return `__${name}__`;
  if (/[^a-zA-Z0-9\-./_]/.test(name)) return undefined;
  return name.replace(/__|[-./]/g, (s) => ({ __: '__underscores__', '.': '__dot__', '-': '__dash__', '/': '__slash__' })[s]!);
}

/** A value with no schema below it (preserved unknown fields): integers as ints, everything else as it is. */
function dynamicValue(value: unknown): CelInput {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(dynamicValue);
  if (value !== null && typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, dynamicValue(v)]));
  return value as CelInput;
}

/** Converts a string as the API server does for a string schema with this format. */
function formattedString(value: string, format: unknown): CelInput {
  const converter = format === 'date-time' || format === 'date' ? 'timestamp' : format === 'duration' ? 'duration' : undefined;
  if (format === 'byte') return new Uint8Array(Buffer.from(value, 'base64'));
  if (!converter) return value;
  const converted = run(`${converter}(s)`, { s: format === 'date' ? `${value}T00:00:00Z` : value });
  if (isCelError(converted)) throw new Error(`${JSON.stringify(value)} is not a valid ${format}: ${converted.message}`);
  return converted as CelInput;
}

/** `value` as the CEL value of a node with schema `schema`. */
export function celValue(value: unknown, schema: Schema | undefined): CelInput {
  if (value === null || value === undefined) return null;
  if (!schema) return dynamicValue(value);
  if (schema['x-kubernetes-int-or-string']) return typeof value === 'number' ? BigInt(value) : (value as string);
  if (schema.type === 'integer' && typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (schema.type === 'string' && typeof value === 'string') return formattedString(value, schema.format);
  if (Array.isArray(value)) return value.map((v) => celValue(v, schema.items));
  if (typeof value !== 'object') return value as CelInput;
  const entries = Object.entries(value as Record<string, unknown>);
  if (schema.properties || schema['x-kubernetes-embedded-resource']) {
    const props: Record<string, Schema | undefined> = { ...schema.properties };
    // An embedded resource always has its type and metadata, whatever its schema lists.
    if (schema['x-kubernetes-embedded-resource']) for (const p of ['apiVersion', 'kind', 'metadata']) props[p] ??= undefined;
    const map = new Map<string, CelInput>();
    for (const [k, v] of entries) {
      const name = Object.hasOwn(props, k) ? escapeProperty(k) : undefined;
      if (name !== undefined) map.set(name, celValue(v, props[k]));
    }
    return map;
  }
  if (typeof schema.additionalProperties === 'object') return new Map(entries.map(([k, v]) => [k, celValue(v, schema.additionalProperties as Schema)]));
  return dynamicValue(value);
}

// ------------------------------------------------------------ evaluation

/** What checking one object found. */
export interface CelReport {
  /** Rule failures and evaluation errors, each naming the field path, the rule and its message. */
  readonly problems: string[];
  /** Rules evaluated (a rule under a list counts once per item). */
  readonly evaluated: number;
  /** Transition rules met and not run, as on create. */
  readonly transitions: number;
  /** The rules that ran, as `at: rule`, to tell which ones the objects reached. */
  readonly ran: Set<string>;
}

/**
 * The schema as rules see it at the root of an object: the API server
 * exposes only `metadata.name` and `metadata.generateName` to CEL.
 */
function rootSchema(schema: Schema): Schema {
  const metadata: Schema = { type: 'object', properties: { name: { type: 'string' }, generateName: { type: 'string' } } };
  return { ...schema, properties: { ...schema.properties, metadata } };
}

/** Evaluates every rule of `schema` that `obj` reaches. */
export function checkCel(obj: unknown, schema: Schema): CelReport {
  const report = { problems: [] as string[], evaluated: 0, transitions: 0, ran: new Set<string>() };
  const visit = (value: unknown, node: Schema, at: string, schemaAt: string) => {
    if (value === null || value === undefined) return;
    const rules = node['x-kubernetes-validations'] ?? [];
    if (rules.length > 0) {
      let self: CelInput;
      try {
        self = celValue(value, node);
      } catch (err) {
        report.problems.push(`${at || '.'}: ${(err as Error).message}`);
        return;
      }
      for (const rule of rules) {
        const program = compileRule(rule);
        if (program.kind === 'transition') {
          report.transitions++;
          continue;
        }
        report.evaluated++;
        report.ran.add(`${schemaAt || '.'}: ${rule.rule}`);
        const result = program.evaluate(self);
        if (result === true) continue;
        const why = isCelError(result) ? `error: ${result.message}` : result === false ? (rule.message ?? `failed rule: ${rule.rule}`) : `rule gave ${String(result)}, not a bool`;
        report.problems.push(`${at || '.'}: ${why} (rule: ${rule.rule})`);
      }
    }
    if (Array.isArray(value)) {
      if (node.items) value.forEach((item, i) => visit(item, node.items!, `${at}[${i}]`, `${schemaAt}[*]`));
      return;
    }
    if (typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = fieldSchema(node, k);
      if (sub) visit(v, sub, `${at}.${k}`, sub === node.additionalProperties ? `${schemaAt}.*` : `${schemaAt}.${k}`);
    }
  };
  visit(obj, rootSchema(schema), '', '');
  return report;
}
