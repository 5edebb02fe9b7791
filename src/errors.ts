/**
 * Typed errors shared by every layer.
 *
 * Library code throws these; only the CLI catches them, prints them to
 * stderr and sets the exit code. Messages never contain key material.
 */

/** One thing wrong with the input, with where it is and how to fix it. */
export interface Problem {
  /** File the problem is in, as the user named it. */
  readonly file?: string;
  /** 1-based line in `file`. */
  readonly line?: number;
  /** 1-based column in `file`. */
  readonly column?: number;
  /** Dotted path inside the document, e.g. `spec.clusters[1].network`. */
  readonly path?: string;
  /** What is wrong, naming the bad value. */
  readonly message: string;
  /** What to do about it. */
  readonly fix?: string;
}

/** Formats a problem as `file:line:col: path: message` plus an indented fix line. */
export function formatProblem(p: Problem): string {
  let where = p.file ?? '';
  if (p.file && p.line !== undefined) {
    where += `:${p.line}`;
    if (p.column !== undefined) where += `:${p.column}`;
  }
  const head = [where, p.path].filter((s) => s && s.length > 0).join(': ');
  const text = head ? `${head}: ${p.message}` : p.message;
  return p.fix ? `${text}\n    fix: ${p.fix}` : text;
}

/** Problems listed in an error message; the rest are counted. All stay in `problems`. */
export const MAX_LISTED_PROBLEMS = 50;

/** Base class of every error meshgen reports to its user. */
export class MeshgenError extends Error {
  /** Every problem found; the message lists them all. */
  public readonly problems: readonly Problem[];
  /** The first line of the message, without the problems. */
  public readonly summary: string;

  constructor(summary: string, problems: readonly Problem[] = []) {
    const shown = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${formatProblem(p).replace(/\n/g, '\n  ')}`);
    if (problems.length > MAX_LISTED_PROBLEMS) shown.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more`);
    const body = shown.join('\n');
    super(body ? `${summary}\n${body}` : summary);
    this.name = new.target.name;
    this.problems = problems;
    this.summary = summary;
  }
}

/** The topology files cannot be read, parsed or are invalid. */
export class TopologyError extends MeshgenError {}

/** The key store is inconsistent or cannot be read or written. */
export class KeyStoreError extends MeshgenError {}

/** The output folder cannot be written as asked. */
export class OutputError extends MeshgenError {}

/** Cluster API credentials cannot be found, read or used. */
export class CredentialsError extends MeshgenError {}
