/**
 * Parsed topology documents that remember where each value came from, so
 * that every problem can name its file, line and column.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Document, ErrorCode, isMap, isPair, isScalar, LineCounter, parseAllDocuments } from 'yaml';
import { Problem } from '../errors';

/** A path inside a document: keys and array indexes. */
export type DocPath = readonly (string | number)[];

/** One YAML document of a topology file. */
export interface SourceDocument {
  /** File as the user named it. */
  readonly file: string;
  /** Zero-based index of the document in the file. */
  readonly index: number;
  /** The document as plain data. */
  readonly value: unknown;
  /** 1-based line and column of the value at `path`, or of its key with `key: true`. */
  locate(path: DocPath, opts?: { key?: boolean }): { line: number; column: number } | undefined;
}

/**
 * Renders a document path as `spec.clusters[1].network`. With `quoteKeys`,
 * a key that is not a plain name is written `["cluster.local"]`, as peer
 * files' keys may be.
 */
export function formatPath(path: DocPath, opts: { quoteKeys?: boolean } = {}): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (opts.quoteKeys && !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += `[${JSON.stringify(seg)}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/**
 * A value as a message names it: `a list`, `a mapping`, or the value in JSON.
 * A missing value is `empty`, a YAML null `null` with `nullAs: 'null'`.
 */
export function describeValue(value: unknown, opts: { nullAs?: 'empty' | 'null' } = {}): string {
  if (value === null) return opts.nullAs ?? 'empty';
  if (value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/**
 * A problem located at `path` in `doc` (at the key itself with `key`).
 * `file` and `shownPath` replace the file and path as the user sees them,
 * as a peer file's reader names them.
 */
export function problemAt(
  doc: SourceDocument,
  path: DocPath,
  message: string,
  fix?: string,
  opts?: { key?: boolean; file?: string; shownPath?: string },
): Problem {
  const pos = doc.locate(path, opts) ?? doc.locate(path.slice(0, -1));
  const shown = opts?.shownPath ?? formatPath(path);
  return { file: opts?.file ?? doc.file, line: pos?.line, column: pos?.column, path: shown || undefined, message, fix };
}

/** Reads a topology file; unreadable files become problems, not exceptions. */
export function readSource(file: string): { text?: string; problem?: Problem } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EISDIR'
          ? 'is a folder, not a file'
          : e.code === 'EACCES'
            ? 'permission denied'
            : (e.code ?? e.message);
    const fix =
      e.code === 'ENOENT'
        ? `check the path: it is read from ${process.cwd()}, so ${file} means ${path.resolve(file)}`
        : e.code === 'EISDIR'
          ? `pass a file in that folder, such as ${path.join(file, 'mesh.yaml')}`
          : e.code === 'EACCES'
            ? 'make the file readable by this user, or pass a copy that is'
            : 'pass the path of a readable mesh.yaml with -f';
    return { problem: { file, message: reason, fix } };
  }
}

/** What a YAML syntax error means in plain words, and how to fix it. */
interface YamlSyntax {
  /** The parser's error code. */
  readonly code: ErrorCode;
  /**
   * The parser's messages this entry explains, where one code covers several mistakes.
   * @default - every message of the code
   */
  readonly message?: RegExp;
  readonly says: string;
  readonly fix: string;
}

/**
 * The parser's syntax errors in plain words, first match first. The parser's
 * own words follow in parentheses, for searching.
 */
const YAML_SYNTAX: readonly YamlSyntax[] = [
  {
    code: 'BLOCK_AS_IMPLICIT_KEY',
    says: 'a value holds ": ", which YAML reads as a second key on the same line (or a line indented deeper than the keys beside it continues the value above)',
    fix: 'quote the value (key: "a: b"), put a nested mapping on its own lines indented under its key, or indent the line like the keys beside it',
  },
  {
    code: 'MULTILINE_IMPLICIT_KEY',
    says: 'a key runs over more than one line, usually because the line above lacks its ":" or a quote is not closed',
    fix: 'end each key with ":" on its own line, and close every quote on the line that opens it',
  },
  {
    // The parser reports an unclosed [ or { in block context as an indentation error.
    code: 'BAD_INDENT',
    message: /^Flow (sequence|map)/,
    says: 'a list [ or mapping { opened here is not closed, or a line of it is not indented further than its key',
    fix: 'close it with ] or } on the same line, or indent each of its lines further than the key it belongs to',
  },
  {
    code: 'BAD_INDENT',
    says: 'this line is indented differently from the keys or list items beside it',
    fix: 'indent it with the same number of spaces as its siblings (two more than its parent key)',
  },
  {
    code: 'MISSING_CHAR',
    message: /^Sequence item without - indicator/,
    says: 'a line of a list item is indented less than the item\'s other keys, or an item lacks its "- "',
    fix: 'indent it like the keys of the item above (two spaces past its "-"), or start a new item with "- "',
  },
  {
    code: 'MISSING_CHAR',
    message: /^Implicit map keys need to be followed by map values/,
    says: 'a key has no ":" after it',
    fix: 'add ":" after the key (a space follows it), or quote the text if it is a value',
  },
  {
    code: 'MISSING_CHAR',
    says: 'a quote, bracket or brace opened here is not closed',
    fix: 'close the quote ("…" or \'…\'), the list ([…]) or the mapping ({…}) on the line that opens it',
  },
  { code: 'TAB_AS_INDENT', says: 'a tab indents this line, and YAML allows only spaces there', fix: 'replace the tabs with spaces' },
  { code: 'DUPLICATE_KEY', says: 'this key appears twice in the same mapping', fix: 'keep one of the two and delete the other' },
  {
    code: 'UNEXPECTED_TOKEN',
    says: 'a character here does not fit where it stands, such as a stray "-", ":" or bracket',
    fix: 'remove it, or quote the value it belongs to',
  },
  {
    code: 'BLOCK_IN_FLOW',
    says: 'an indented block stands inside [ ] or { }',
    fix: 'write that list or mapping either on one line with [ ] and { }, or as indented lines, not both',
  },
  { code: 'BAD_SCALAR_START', says: 'a value starts with a character YAML reserves (@ or `)', fix: 'quote the value' },
  {
    code: 'BAD_DQ_ESCAPE',
    says: 'a backslash in a double-quoted value starts no valid escape',
    fix: 'use single quotes for the value, or write the backslash twice (\\\\)',
  },
  { code: 'MULTIPLE_ANCHORS', says: 'a value has two anchors (&name)', fix: 'keep one anchor per value' },
  { code: 'MULTIPLE_TAGS', says: 'a value has two tags (!tag)', fix: 'remove the extra tag; a topology file needs none' },
  { code: 'NON_STRING_KEY', says: 'a key is a list or mapping, not a name', fix: 'use a plain name as the key' },
  { code: 'KEY_OVER_1024_CHARS', says: 'a key on one line is longer than YAML allows (1024 characters)', fix: 'shorten the key' },
];

/** A YAML syntax error as a problem: plain words and a fix, the parser's message kept in parentheses. */
function yamlSyntaxProblem(code: ErrorCode, parserMessage: string): { message: string; fix: string } {
  const known = YAML_SYNTAX.find((e) => e.code === code && (!e.message || e.message.test(parserMessage)));
  if (!known) return { message: `not valid YAML: ${parserMessage}`, fix: 'correct the YAML syntax at this line (indentation, quotes, a duplicate key)' };
  return { message: `not valid YAML: ${known.says} (${parserMessage})`, fix: known.fix };
}

/** Parses every YAML document of `text`; syntax errors become problems. */
export function parseSource(file: string, text: string): { docs: SourceDocument[]; problems: Problem[] } {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema (so `no` stays a string); merge keys (`<<: *defaults`) are allowed.
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, merge: true });
  const docs: SourceDocument[] = [];
  const problems: Problem[] = [];
  const all: Document[] = Array.isArray(parsed) ? parsed : [];
  all.forEach((doc, index) => {
    const errors = [...doc.errors];
    for (const err of errors) {
      const pos = lineCounter.linePos(err.pos[0]);
      problems.push({ file, line: pos.line, column: pos.col, ...yamlSyntaxProblem(err.code, err.message.split('\n')[0]) });
    }
    // An empty document (a trailing `---`, or only comments) holds nothing to check.
    if (errors.length > 0 || doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      const message = (err as Error).message;
      const alias = /alias.*?: (\S+)$/.exec(message)?.[1];
      const at = alias ? text.indexOf(`*${alias}`) : -1;
      const pos = at >= 0 ? lineCounter.linePos(at) : undefined;
      problems.push({
        file,
        line: pos?.line,
        column: pos?.col,
        message: /excessive alias count/i.test(message)
          ? `document ${index + 1} expands too many aliases`
          : `document ${index + 1}: ${message.split('\n')[0]}`,
        fix: 'define each anchor (&name) before its aliases (*name), and write repeated values out instead of nesting aliases',
      });
      return;
    }
    const locate = (path: DocPath, opts?: { key?: boolean }) => {
      let offset: number | undefined;
      if (opts?.key && path.length > 0) {
        const parent = doc.getIn(path.slice(0, -1), true);
        if (isMap(parent)) {
          const last = path[path.length - 1];
          const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
          const keyNode = pair?.key as { range?: [number, number, number] } | undefined;
          offset = keyNode?.range?.[0];
        }
      } else {
        const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
        offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0];
      }
      if (offset === undefined) return undefined;
      const pos = lineCounter.linePos(offset);
      return { line: pos.line, column: pos.col };
    };
    docs.push({ file, index, value, locate });
  });
  return { docs, problems };
}
