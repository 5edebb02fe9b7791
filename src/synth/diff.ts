/**
 * What a synth would change in the output folder, file by file, as unified
 * diffs, without writing anything. Values of Secrets are masked on both
 * sides, so a diff never shows key material or tokens: a changed value
 * shows as a changed fingerprint.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parseAllDocuments } from 'yaml';
import { compareStrings } from '../order';
import { GENERATED_HEADER, toYaml } from './files';
import { RenderedFolder } from './render';
import { snapshotFolder, snapshotTexts } from './disk-compare';
import { OutputPlanner } from './write';

/** One file that would change. */
export interface FileChange {
  /** Path relative to the output folder. */
  readonly path: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** Unified diff, with Secret values masked. */
  readonly patch: string;
}

/** A short fingerprint of a secret value: a diff shows that it changed, never what it is. */
function fingerprint(v: string): string {
  return `<secret, sha256 ${createHash('sha256').update(v).digest('hex').slice(0, 12)}>`;
}

/** PEM blocks of private keys, wherever they stand. */
const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;

/** Text that could hold a secret value: a Secret, a private key, a token or a client key. */
const MAY_HOLD_SECRET = /^kind:\s*Secret\s*$|PRIVATE KEY|^\s*token:|client-key-data|ca-key\.pem/m;

/**
 * `text` of the output file `file` with its secret values masked. What is
 * secret is decided by kind and field: the `data` and `stringData` values
 * of Secrets. Files that are not YAML (READMEs), and YAML that holds no
 * Secret, are shown as they are, save any private key block, which no
 * meshgen file but a Secret holds. A YAML
 * file that does not parse (a hand edit on disk) is shown as they are too,
 * unless it could hold a secret, when only its fingerprint is shown.
 */
export function maskSecrets(text: string, file = 'file.yaml'): string {
  const maskKeys = () => text.replace(PRIVATE_KEY_BLOCK, (block) => fingerprint(block));
  if (!/\.ya?ml$/.test(file)) return maskKeys();
  // No document can be a Secret without the word, unless an escape spells it; then nothing needs parsing (a fleet's diff has a kustomization per folder).
  if (!text.includes('Secret') && !text.includes('\\') && !MAY_HOLD_SECRET.test(text)) return text;
  const unreadable = () => (MAY_HOLD_SECRET.test(text) ? `${fingerprint(text)}\n` : text);
  let docs;
  try {
    const parsed = parseAllDocuments(text);
    // A syntax error does not always throw: a document with errors is as unreadable as one that throws.
    if (parsed.some((d) => d.errors.length > 0)) return unreadable();
    docs = parsed.map((d) => d.toJS() as Record<string, unknown> | null);
  } catch {
    return unreadable();
  }
  if (!docs.some((d) => d?.kind === 'Secret')) return maskKeys();
  const masked = docs.map((d) => {
    if (!d || d.kind !== 'Secret') return d;
    const out: Record<string, unknown> = { ...d };
    for (const field of ['data', 'stringData']) {
      const values = d[field] as Record<string, unknown> | undefined;
      if (!values) continue;
      out[field] = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, fingerprint(String(v))]),
      );
    }
    return out;
  });
  const header = text.startsWith(GENERATED_HEADER) ? `${GENERATED_HEADER}\n` : '';
  return header + masked.map((d) => toYaml(d)).join('---\n');
}

/** Masked texts an OutputDiff keeps for reuse. */
const MASKED_TEXTS = 256;

/** A diff fed one folder at a time, as synth's write is: only a folder that differs is compared file by file, then let go. */
export class OutputDiff {
  private readonly found: FileChange[] = [];
  private readonly maskedTexts = new Map<string, string>();

  constructor(
    private readonly outdir: string,
    private readonly planner: OutputPlanner,
  ) {}

  /** Adds the changes of `folder`, if it differs from the disk. */
  public add(folder: RenderedFolder): void {
    const { changed, snapshot } = this.planner.examine(folder);
    // What the disk holds, as the comparison read it.
    const old = changed ? snapshotTexts(snapshot) : undefined;
    this.planner.release(snapshot);
    if (!old) return;
    const next = new Map(folder.files.map((f) => [f.path, f.content]));
    for (const file of new Set([...old.keys(), ...next.keys()])) this.file(`${folder.name}/${file}`, old.get(file), next.get(file));
  }

  /** Every change, sorted by path, with the folders of clusters that left the topology. */
  public changes(): FileChange[] {
    for (const name of this.planner.remove) {
      for (const [file, content] of snapshotTexts(snapshotFolder(path.join(this.outdir, name)))) this.file(`${name}/${file}`, content, undefined);
    }
    return [...this.found].sort((a, b) => compareStrings(a.path, b.path));
  }

  private file(file: string, before: string | undefined, after: string | undefined): void {
    if (before === after) return;
    const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
    const patch = createTwoFilesPatch(
      before === undefined ? '/dev/null' : `a/${file}`,
      after === undefined ? '/dev/null' : `b/${file}`,
      this.masked(before ?? '', file),
      this.masked(after ?? '', file),
      undefined,
      undefined,
      { context: 3 },
    );
    this.found.push({ path: file, status, patch });
  }

  /** maskSecrets() of `text`, made once per text and kind of file: a cluster added to a fleet brings the same remote secret into every primary's folder. */
  private masked(text: string, file: string): string {
    const key = `${/\.ya?ml$/.test(file) ? 'yaml' : 'other'}\0${text}`;
    let masked = this.maskedTexts.get(key);
    if (masked === undefined) {
      masked = maskSecrets(text, file);
      // A few hundred texts at most, the oldest let go first: a diff of a whole fleet holds one folder at a time, not every text.
      if (this.maskedTexts.size >= MASKED_TEXTS) this.maskedTexts.delete(this.maskedTexts.keys().next().value as string);
      this.maskedTexts.set(key, masked);
    }
    return masked;
  }
}
