/**
 * Parsed topology documents that remember where each value came from, so
 * that every problem can name its file, line and column.
 */
import { readFileSync } from 'node:fs';
import { Document, isMap, isPair, isScalar, LineCounter, parseAllDocuments } from 'yaml';
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

/** Renders a document path as `spec.clusters[1].network`. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** A problem located at `path` in `doc`. */
export function problemAt(
  doc: SourceDocument,
  path: DocPath,
  message: string,
  fix?: string,
  opts?: { key?: boolean },
): Problem {
  const pos = doc.locate(path, opts) ?? doc.locate(path.slice(0, -1));
  return { file: doc.file, line: pos?.line, column: pos?.column, path: formatPath(path) || undefined, message, fix };
}

/** Reads a topology file; unreadable files become problems, not exceptions. */
export function readSource(file: string, what = 'the topology file'): { text?: string; problem?: Problem } {
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
    return {
      problem: {
        file,
        message: `cannot read ${what}: ${reason}`,
        fix: 'pass the path of a readable mesh.yaml with -f',
      },
    };
  }
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
      problems.push({
        file,
        line: pos.line,
        column: pos.col,
        message: `not valid YAML: ${err.message.split('\n')[0]}`,
        fix: 'correct the YAML syntax at this line (indentation, quotes, a duplicate key)',
      });
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
