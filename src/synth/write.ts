/**
 * Writes rendered folders into the output folder as one swap: everything
 * is first written to a staging folder beside them, then each cluster
 * folder is renamed into place. A failure before the swap leaves the output
 * exactly as it was; a failure during it is rolled back, and whatever cannot
 * be rolled back is kept and named, never deleted.
 *
 * Only folders that carry meshgen's marker file, naming a mesh of the
 * topology being written, are ever replaced or removed. A lock file keeps
 * two runs from writing one output folder at once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputError } from '../errors';
import { displayPath } from '../paths';
import { MARKER_FILE, markerMesh, markerSopsRecipients, RenderedFolder } from './render';
import { checkSopsConfig, sopsConfigText, updateSopsConfig } from './sops-config';

const STAGING_PREFIX = '.meshgen-staging-';
const TRASH_PREFIX = '.meshgen-old-';
const LOCK_FILE = '.meshgen-lock';

/** What a write changed. */
export interface WriteResult {
  /** Folders written (new or replaced), by name. */
  readonly written: readonly string[];
  /** Folders removed because their cluster left the topology, by name. */
  readonly removed: readonly string[];
  /** meshgen folders of meshes not in this topology, left alone, by name. */
  readonly foreign: readonly string[];
}

/** The mesh named by the marker of `dir`, if `dir` is a folder meshgen made. */
export function ownerOf(dir: string): string | undefined {
  return markerMesh(readMarker(dir));
}

/** The text of the marker of `dir`, or '' when it has none. */
function readMarker(dir: string): string {
  try {
    const marker = path.join(dir, MARKER_FILE);
    if (!fs.lstatSync(dir).isDirectory() || !fs.lstatSync(marker).isFile()) return '';
    return fs.readFileSync(marker, 'utf8');
  } catch {
    return '';
  }
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
  for (const f of folders) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(f.name)) throw new OutputError(`cannot write a folder named ${JSON.stringify(f.name)}: not a DNS-1123 label`);
    // A Secret still waiting for its encryption has no file yet: writing the folder without it would lose it.
    if (f.secrets && f.secrets.length > 0) {
      throw new OutputError(`folder "${f.name}" has ${f.secrets.length} Secret(s) that are not encrypted yet`, [
        { file: f.secrets[0].path, message: `is to be encrypted (secrets.encryption: ${f.secrets[0].settings.encryption})`, fix: 'pass the folders through encryptFolders() before writeOutput()' },
      ]);
    }
  }
  try {
    fs.mkdirSync(outdir, { recursive: true });
  } catch (err) {
    throw new OutputError(`cannot create output folder ${shown}: ${(err as NodeJS.ErrnoException).code}`, [
      { file: shown, message: 'cannot be created', fix: 'choose an output folder whose parent exists and is writable' },
    ]);
  }
  const lock = path.join(outdir, LOCK_FILE);
  try {
    fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
  } catch (err) {
    if (!existed) fs.rmSync(outdir, { recursive: true, force: true });
    const busy = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new OutputError(busy ? `output folder ${shown} is locked by another meshgen run` : `cannot write to output folder ${shown}`, [
      {
        file: displayPath(lock),
        message: busy ? 'exists' : `cannot be created (${(err as NodeJS.ErrnoException).code})`,
        fix: busy ? 'wait for the other run; if none is running, a run was killed: remove the lock file' : 'check the folder permissions',
      },
    ]);
  }
  try {
    return writeLocked(outdir, folders);
  } catch (err) {
    if (!existed) fs.rmSync(outdir, { recursive: true, force: true });
    throw err;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function writeLocked(outdir: string, folders: readonly RenderedFolder[]): WriteResult {
  const names = new Map(folders.map((f) => [f.name, f.mesh]));
  const meshes = new Set(folders.map((f) => f.mesh));
  const stale: string[] = [];
  const foreign: string[] = [];
  for (const entry of fs.readdirSync(outdir, { withFileTypes: true })) {
    const full = path.join(outdir, entry.name);
    if (entry.name.startsWith(TRASH_PREFIX)) {
      throw new OutputError(`an earlier meshgen run was interrupted while replacing folders in ${displayPath(outdir)}`, [
        {
          file: displayPath(full),
          message: 'holds the previous versions of the folders that run replaced',
          fix: 'move back what you need, then remove this folder and run synth again',
        },
      ]);
    }
    if (entry.name.startsWith(STAGING_PREFIX)) {
      // Staging folders only ever hold copies that were never swapped in.
      fs.rmSync(full, { recursive: true, force: true });
      continue;
    }
    const owner = ownerOf(full);
    const wanted = names.get(entry.name);
    if (wanted !== undefined && owner !== wanted) {
      throw new OutputError(`cannot write ${displayPath(full)}: it exists and was not made by meshgen for mesh "${wanted}"`, [
        {
          file: displayPath(full),
          message: owner === undefined ? `exists and has no ${MARKER_FILE} marker` : `was made for mesh "${owner}"`,
          fix: 'move it away, or write to another output folder with -o',
        },
      ]);
    }
    if (owner !== undefined && wanted === undefined) {
      if (meshes.has(owner)) stale.push(entry.name);
      else foreign.push(entry.name);
    }
  }

  // .sops.yaml lists the SOPS folders of every mesh whose folders remain, this run's and others'.
  const sopsRecipients = new Map<string, readonly string[]>();
  for (const f of folders) {
    const marker = f.files.find((file) => file.path === MARKER_FILE);
    const recipients = marker ? markerSopsRecipients(marker.content) : undefined;
    if (recipients) sopsRecipients.set(f.name, recipients);
  }
  for (const name of foreign) {
    const recipients = markerSopsRecipients(readMarker(path.join(outdir, name)));
    if (recipients) sopsRecipients.set(name, recipients);
  }
  const sopsConfig = sopsConfigText(sopsRecipients);
  checkSopsConfig(outdir, sopsConfig !== undefined);

  const staging = fs.mkdtempSync(path.join(outdir, STAGING_PREFIX));
  try {
    for (const folder of folders) {
      const dir = path.join(staging, folder.name);
      fs.mkdirSync(dir, { mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      for (const file of folder.files) {
        const target = path.join(dir, file.path);
        fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
        fs.writeFileSync(target, file.content, { mode: file.mode, flag: 'wx' });
        fs.chmodSync(target, file.mode);
      }
    }
    swap(outdir, staging, folders.map((f) => f.name), stale);
    updateSopsConfig(outdir, sopsConfig);
  } catch (err) {
    if (err instanceof OutputError) throw err;
    throw new OutputError(`cannot write output folder ${displayPath(outdir)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return { written: folders.map((f) => f.name), removed: stale, foreign };
}

/**
 * Renames staged folders into place and stale ones out. On failure every
 * step is undone that can be; if an undo fails too, the old folders stay in
 * the trash folder, which is named in the error and never deleted.
 */
function swap(outdir: string, staging: string, names: readonly string[], stale: readonly string[]): void {
  const trash = fs.mkdtempSync(path.join(outdir, TRASH_PREFIX));
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
    const failed: string[] = [];
    for (const step of undo.reverse()) {
      try {
        step();
      } catch (undoErr) {
        failed.push((undoErr as Error).message);
      }
    }
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (failed.length > 0) {
      throw new OutputError(`cannot replace folders in ${displayPath(outdir)} (${code}), and the rollback failed too`, [
        {
          file: displayPath(trash),
          message: 'holds the previous versions of the replaced folders',
          fix: 'move them back into the output folder by hand, then remove this folder',
        },
      ]);
    }
    fs.rmSync(trash, { recursive: true, force: true });
    throw err;
  }
  fs.rmSync(trash, { recursive: true, force: true });
}
