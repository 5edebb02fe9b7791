/**
 * YAML text laid out as go-yaml v3 (`go.yaml.in/yaml/v3`, through which the
 * Go `sops` tool writes its files) lays it out, for the values a Kubernetes
 * Secret and a sops metadata block hold: mappings, sequences, strings,
 * integers and booleans. Nested blocks align to multiples of the indent,
 * sequences are indented under their key, the first key of a mapping in a
 * sequence item follows the `- `, multi-line strings are literal blocks,
 * and a string is quoted only when YAML would read it as something else.
 */

/** Text of `value` (a mapping at the top) as go-yaml v3 writes it with `indent`, ending in a newline. */
export function goYaml(value: Readonly<Record<string, unknown>>, indent: number, headComments: readonly string[] = []): string {
  const lines: string[] = [...headComments];
  emitMapping(value, 0, indent, lines, undefined);
  return `${lines.join('\n')}\n`;
}

/** The indent of a block nested in one at `column` (go-yaml's emitter rounds up to the indent). */
function nested(column: number, indent: number): number {
  return indent * Math.floor((column + indent) / indent);
}

/**
 * Emits the entries of `map` at `column`. With `first`, the first entry
 * continues a line already started (`- ` of a sequence item).
 */
function emitMapping(map: Readonly<Record<string, unknown>>, column: number, indent: number, lines: string[], first: string | undefined): void {
  const entries = Object.entries(map);
  if (entries.length === 0) throw new Error('an empty mapping has no block form');
  entries.forEach(([key, v], i) => {
    const head = i === 0 && first !== undefined ? `${first}${scalar(key)}:` : `${' '.repeat(column)}${scalar(key)}:`;
    emitValue(v, head, column, indent, lines);
  });
}

/** Emits `value` after `head` (`key:` or `-`), whose block starts at `column`. */
function emitValue(value: unknown, head: string, column: number, indent: number, lines: string[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      lines.push(`${head} []`);
      return;
    }
    lines.push(head);
    const at = nested(column, indent);
    for (const item of value) emitItem(item, at, indent, lines);
    return;
  }
  if (value !== null && typeof value === 'object') {
    if (Object.keys(value).length === 0) {
      lines.push(`${head} {}`);
      return;
    }
    lines.push(head);
    emitMapping(value as Record<string, unknown>, nested(column, indent), indent, lines, undefined);
    return;
  }
  if (typeof value === 'string' && value.includes('\n')) {
    const at = nested(column, indent);
    const body = value.replace(/\n+$/, '');
    const trailing = value.length - body.length;
    const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
    // A first line that starts with a space needs an explicit indentation indicator.
    const indicator = /^[ \n]/.test(value) ? String(indent) : '';
    lines.push(`${head} |${indicator}${chomp}`);
    const text = chomp === '+' ? value.slice(0, -1) : body;
    for (const line of text.split('\n')) lines.push(line === '' ? '' : `${' '.repeat(at)}${line}`);
    return;
  }
  lines.push(`${head} ${scalar(value)}`);
}

/** Emits one sequence item at `column`. */
function emitItem(item: unknown, column: number, indent: number, lines: string[]): void {
  const dash = `${' '.repeat(column)}- `;
  if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0) {
    // The item's mapping starts after the dash, two columns in.
    emitMapping(item as Record<string, unknown>, column + 2, indent, lines, dash);
    return;
  }
  emitValue(item, dash.trimEnd(), column + 2 - indent, indent, lines);
}

/** A scalar as go-yaml writes it: plain, single-quoted or double-quoted. */
function scalar(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`cannot write ${value}: only integers are supported`);
    return String(value);
  }
  if (value === null || value === undefined) return 'null';
  if (typeof value !== 'string') throw new Error(`cannot write a ${typeof value} as YAML`);
  if (readsAsOtherType(value)) return doubleQuoted(value);
  if (plainAllowed(value)) return value;
  return /^[\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]*$/u.test(value) ? `'${value.replace(/'/g, "''")}'` : doubleQuoted(value);
}

/** True when a plain scalar would be read as a boolean (YAML 1.1 included), a number, null or a timestamp. */
function readsAsOtherType(s: string): boolean {
  if (s === '') return true;
  if (/^(true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(s)) return true;
  if (/^(null|Null|NULL|~)$/.test(s)) return true;
  if (/^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return true;
  if (/^0(b[01_]+|o?[0-7_]+|x[0-9a-fA-F_]+)$/.test(s)) return true;
  if (/^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$/.test(s)) return true;
  // Base-60 floats of YAML 1.1 (190:20:30.15), which go-yaml quotes.
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*$/.test(s)) return true;
  return /^\d{4}-\d\d?-\d\d?([Tt ]|$)/.test(s);
}

/** libyaml's analysis of whether `s` may be written plain in block context. */
function plainAllowed(s: string): boolean {
  if (/^[ \t]|[ \t]$/.test(s)) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s) && !(/^[-?:]/.test(s) && s.length > 1 && !/^[-?:][ \t]/.test(s))) return false;
  if (/: |:$| #/.test(s)) return false;
  return /^[\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]*$/u.test(s);
}

function doubleQuoted(s: string): string {
  return JSON.stringify(s);
}
