/**
 * Writes rendered folders into the output folder as one swap: everything
 * is first written to a staging folder beside them, then each cluster
 * folder is renamed into place. A failure before the swap leaves the output
 * exactly as it was; a failure during it is rolled back. Only folders that
 * carry meshgen's marker are ever replaced or removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputError } from '../errors';
import { displayPath } from '../pki/key-store';
import { MARKER_FILE, RenderedFolder } from './render';

const STAGING_PREFIX = '.meshgen-staging-';
const TRASH_PREFIX = '.meshgen-old-';

/** What a write changed. */
export interface WriteResult {
  /** Folders written (new or replaced), by name. */
  readonly written: readonly string[];
  /** Folders removed because their cluster is gone, by name. */
  readonly removed: readonly string[];
}

/** Replaces the output folder's cluster folders with `folders`. */
export function writeOutput(outdir: string, folders: readonly RenderedFolder[]): WriteResult {
  const shown = displayPath(outdir);
  const existed = fs.existsSync(outdir);
  if (existed && !fs.statSync(outdir).isDirectory()) {
    throw new OutputError(`output path ${shown} is a file, not a folder`, [
      { file: shown, message: 'is a file', fix: 'pass a folder with -o, or move the file away' },
    ]);
  }
  const names = new Set(folders.map((f) => f.name));
  const stale: string[] = [];
  if (existed) {
    for (const entry of fs.readdirSync(outdir, { withFileTypes: true })) {
      const full = path.join(outdir, entry.name);
      if (entry.name.startsWith(STAGING_PREFIX) || entry.name.startsWith(TRASH_PREFIX)) {
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      const ours = entry.isDirectory() && fs.existsSync(path.join(full, MARKER_FILE));
      if (names.has(entry.name) && !ours) {
        throw new OutputError(`cannot write ${displayPath(full)}: it exists and was not made by meshgen`, [
          {
            file: displayPath(full),
            message: `exists and has no ${MARKER_FILE} marker, so meshgen will not replace it`,
            fix: 'move it away, or write to another output folder with -o',
          },
        ]);
      }
      if (ours && !names.has(entry.name)) stale.push(entry.name);
    }
  }

  try {
    fs.mkdirSync(outdir, { recursive: true });
  } catch (err) {
    throw new OutputError(`cannot create output folder ${shown}: ${(err as NodeJS.ErrnoException).code}`);
  }
  let staging: string | undefined;
  let trash: string | undefined;
  try {
    staging = fs.mkdtempSync(path.join(outdir, STAGING_PREFIX));
    for (const folder of folders) {
      const dir = path.join(staging, folder.name);
      fs.mkdirSync(dir);
      for (const file of folder.files) {
        const target = path.join(dir, file.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, file.content, { mode: file.mode, flag: 'wx' });
        fs.chmodSync(target, file.mode);
      }
    }
    trash = fs.mkdtempSync(path.join(outdir, TRASH_PREFIX));
    swap(outdir, staging, trash, folders.map((f) => f.name), stale);
  } catch (err) {
    if (!existed) fs.rmSync(outdir, { recursive: true, force: true });
    if (err instanceof OutputError) throw err;
    throw new OutputError(`cannot write output folder ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    if (staging) fs.rmSync(staging, { recursive: true, force: true });
    if (trash) fs.rmSync(trash, { recursive: true, force: true });
  }
  return { written: folders.map((f) => f.name), removed: stale };
}

/** Renames staged folders into place and stale ones out; undoes every step on failure. */
function swap(outdir: string, staging: string, trash: string, names: readonly string[], stale: readonly string[]): void {
  const undo: (() => void)[] = [];
  try {
    for (const name of [...names, ...stale]) {
      const live = path.join(outdir, name);
      if (fs.existsSync(live)) {
        fs.renameSync(live, path.join(trash, name));
        undo.push(() => fs.renameSync(path.join(trash, name), live));
      }
      if (names.includes(name)) {
        fs.renameSync(path.join(staging, name), live);
        undo.push(() => fs.renameSync(live, path.join(staging, name)));
      }
    }
  } catch (err) {
    for (const step of undo.reverse()) step();
    throw err;
  }
}
