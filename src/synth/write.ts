/**
 * Writes rendered folders into the output folder as one change, which a
 * kill at any point leaves complete or not made at all:
 *
 * 1. every folder that changed (and `.sops.yaml`) is staged in a staging
 *    folder beside them: of a folder on disk, the files that are new or
 *    differ are written, and the files it holds that are no longer rendered
 *    are named in the journal; a folder not on disk is staged whole. All of
 *    it is flushed to disk;
 * 2. a journal (`.meshgen-journal.json`) names the folders to put in place,
 *    to patch (with the files each drops) and to remove; it is written and
 *    flushed: this is the commit;
 * 3. each live folder to patch moves into a trash folder, out of the
 *    output; there its dropped files and the previous versions of the files
 *    it gets move aside (into the trash's `.meshgen-dropped` and
 *    `.meshgen-replaced`, apart, so that no path of one passes through a
 *    link moved into the other), its staged files move in, and it moves
 *    back into place. A folder staged whole takes the place of the live
 *    one, which moves to the trash, as do removed folders. All of it is
 *    flushed, and the journal is removed: the write is done;
 * 4. the trash and the staging folder are renamed to `.meshgen-removing-*`
 *    and deleted. Nothing here can fail the write: what is left, the next
 *    run deletes the same way (and says what it cannot). A staging folder
 *    that still holds a folder was never committed: only then does a run
 *    say that it discarded a write.
 *
 * The next run that takes the output's lock and finds a journal checks it,
 * then does steps 3 and 4 again, which is safe to repeat: a staged file is
 * either still staged or in place, a dropped file either in the folder or
 * aside, and a folder being patched is either in place or in the trash,
 * never both. The output is then the complete new one. A staging folder
 * without a journal was never committed and is removed: the output is the
 * complete old one. Either way the run says so. A failure within step 3 of
 * a running write is rolled back, from what it moved aside, the journal
 * removed last.
 *
 * A folder is changed out of sight, by renames only, so a reader that
 * opens the output's files by path sees a folder whole, old or new, or
 * (while its few changed files move, a fraction of a millisecond) not at
 * all; never half of one. (A process whose working folder is inside one,
 * or that holds it open, sees it change in place.) Adding a cluster
 * changes every primary's folder of a fleet by a few files: each costs
 * those files' renames and two of the folder, not one per file it keeps.
 *
 * Only folders that carry meshgen's marker file, naming a mesh of the
 * topology being written, are ever replaced or removed, and one run writes
 * at a time (src/lock.ts). Journals of earlier meshgen versions (folders
 * staged whole, or with carry lists of the files they keep) are finished as
 * they were begun.
 *
 * Long because the crash-safe write (plan, stage, journal, commit, recover, roll back) must stay in one place.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OutputError } from '../errors';
import { LockOptions, withLock } from '../lock';
import { displayPath, fsyncDir, makeFolders } from '../paths';
import { MARKER_FILE, markerMesh, markerSopsRecipients } from './marker';
import type { PendingSecret, RenderedFile, RenderedFolder } from './render';
import { compareSnapshot, FolderReadAhead, FolderSnapshot, snapshotFolder } from './disk-compare';
import { checkSopsConfig, isOwnSopsConfig, SOPS_CONFIG_FILE, sopsConfigText } from './sops-config';

const STAGING_PREFIX = '.meshgen-staging-';
const TRASH_PREFIX = '.meshgen-old-';
/** In a trash folder of this meshgen: the folder holds only replaced output, safe to remove once no journal names it. */
const TRASH_MARK = '.meshgen-trash';
const LOCK_FILE = '.meshgen-lock';
const JOURNAL_FILE = '.meshgen-journal.json';
/** The format of this version's journals; earlier versions wrote `meshgen-output-journal`, which is still finished. */
const JOURNAL_FORMAT = 'meshgen-output-journal/2';
/** In the staging folder of an earlier meshgen version: one carry list per staged cluster folder. Not a DNS label, so never a cluster's folder. */
const CARRY_DIR = '.meshgen-carry';
/** In the trash: what patched folders replaced, and the files they dropped, under each folder's name, for a rollback. Not DNS labels. */
const REPLACED_DIR = '.meshgen-replaced';
const DROPPED_DIR = '.meshgen-dropped';
/** What a finished write leaves to delete (its trash and staging folder) is renamed to this first, then deleted: a kill midway leaves a name the next run removes. */
const REMOVING_PREFIX = '.meshgen-removing-';
/** The names a write gives its staging and trash folders. */
const STAGING_NAME = new RegExp(`^${STAGING_PREFIX}[0-9a-f]+$`);
const TRASH_NAME = new RegExp(`^${TRASH_PREFIX}[0-9a-f]+$`);
/** A folder name the output may hold: a DNS label (a cluster's name). */
const FOLDER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What a write changed. */
export interface WriteResult {
  /** Folders written (new or replaced), by name. */
  readonly written: readonly string[];
  /** Folders that already held exactly what was rendered, left untouched, by name. */
  readonly unchanged: readonly string[];
  /** Folders removed because their cluster left the topology, by name. */
  readonly removed: readonly string[];
  /** meshgen folders of meshes not in this topology, left alone, by name. */
  readonly foreign: readonly string[];
}

/** Options of writeOutput(). */
export interface WriteOptions {
  /**
   * How long to wait for another run's lock of the output folder, and where to say what is waited for or recovered.
   * @default - DEFAULT_LOCK_TIMEOUT_MS, nothing said
   */
  readonly lock?: LockOptions;
}

/** The plan of a committed write, as its journal records it. */
interface Journal {
  /** `…/2` for journals with patches, which a meshgen version that knows no patches must not follow (it would put the staged files in place of whole folders). */
  readonly format: typeof JOURNAL_FORMAT | 'meshgen-output-journal';
  readonly staging: string;
  readonly trash: string;
  /** Folders (and `.sops.yaml`) staged to take the place of the live ones, or to patch them (`patch`). */
  readonly install: readonly string[];
  /** Folders to remove, and `.sops.yaml` when no folder uses SOPS any more. */
  readonly remove: readonly string[];
  /** Every staged folder has a carry list: the journals of the meshgen version before patches. */
  readonly carryLists?: true;
  /** Folders of `install` that are patched, not replaced whole: for each, the files it drops. */
  readonly patch?: Readonly<Record<string, readonly string[]>>;
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

/** Makes the output folder if it is missing; a file in its place, or a parent that cannot hold it, is an error. */
export function ensureOutputFolder(outdir: string): void {
  const shown = displayPath(outdir);
  if (fs.existsSync(outdir) && !fs.statSync(outdir).isDirectory()) {
    throw new OutputError(`output path ${shown} is a file, not a folder`, [
      { file: shown, message: 'is a file', fix: 'pass a folder with -o, or move the file away' },
    ]);
  }
  try {
    makeFolders(outdir);
  } catch (err) {
    throw new OutputError(`cannot create output folder ${shown}: ${(err as NodeJS.ErrnoException).code}`, [
      { file: shown, message: 'cannot be created', fix: 'choose an output folder whose parent exists and is writable' },
    ]);
  }
}

/** Replaces the output folder's cluster folders with `folders`. */
export async function writeOutput(outdir: string, folders: readonly RenderedFolder[], opts: WriteOptions = {}): Promise<WriteResult> {
  const existed = fs.existsSync(outdir);
  for (const f of folders) {
    checkFolderName(f.name);
    // A Secret still waiting for its encryption has no file yet: writing the folder without it would lose it.
    if (f.secrets && f.secrets.length > 0) throw unencrypted(f);
  }
  ensureOutputFolder(outdir);
  let wrote = false;
  try {
    return await withOutputLock(
      outdir,
      async () => {
        const write = new OutputWrite(outdir, new OutputPlanner(outdir, new Map(folders.map((f) => [f.name, f.mesh]))));
        try {
          for (const f of folders) write.add(f);
        } catch (err) {
          write.discard();
          throw err;
        }
        const result = write.commit();
        wrote = true;
        return result;
      },
      opts.lock,
    );
  } finally {
    // A folder this run made and then wrote nothing into is not left behind.
    if (!existed && !wrote) removeIfEmpty(outdir);
  }
}

/**
 * Removes the output folder a run made when it is still empty. Another run
 * may have put its lock or output there meanwhile, or removed it: then it
 * stays, or is gone already, and neither is an error of this run.
 */
export function removeIfEmpty(outdir: string): void {
  try {
    if (fs.readdirSync(outdir).length === 0) fs.rmdirSync(outdir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
}

/** A folder the write may make: a DNS label, so never a path elsewhere or one of the write's own hidden names. */
function checkFolderName(name: string): void {
  if (!FOLDER_NAME.test(name)) throw new OutputError(`cannot write a folder named ${JSON.stringify(name)}: not a DNS-1123 label`);
}

/**
 * Runs `fn` holding the output folder's lock, after finishing or discarding
 * what an interrupted write left there. Every command that reads or writes
 * an output folder goes through here first.
 */
export async function withOutputLock<T>(outdir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  return withLock(path.join(outdir, LOCK_FILE), `output folder ${displayPath(outdir)}`, fn, opts, () => [recoverOutput(outdir)].filter((l): l is string => l !== undefined));
}

/**
 * Finishes the write a killed run committed, or removes what it staged but
 * never committed; returns the one line to say, or undefined when there was
 * nothing. Call it holding the output's lock.
 */
export function recoverOutput(outdir: string): string | undefined {
  if (!fs.existsSync(outdir)) return undefined;
  const shown = displayPath(outdir);
  const journalFile = path.join(outdir, JOURNAL_FILE);
  if (fs.existsSync(journalFile)) {
    const journal = readJournal(journalFile);
    // Only journals of the version before patches have carry lists.
    swap(outdir, journal, journal.format === JOURNAL_FORMAT ? new Map() : readCarryLists(outdir, journal), true);
    cleanUp(outdir, journal);
    return `finished writing ${shown}, which an interrupted run had begun (${journal.install.filter((n) => n !== SOPS_CONFIG_FILE).length} folders)`;
  }
  let discarded = 0;
  const stuck: string[] = [];
  for (const entry of fs.readdirSync(outdir)) {
    const full = path.join(outdir, entry);
    if (entry.startsWith(REMOVING_PREFIX)) {
      // What a write had begun to delete: nothing of the output.
      if (!removeLeftover(outdir, entry)) stuck.push(entry);
    } else if (entry.startsWith(STAGING_PREFIX)) {
      // A staging folder that still holds a folder (or .sops.yaml) was never committed; a finished write's is empty (or holds an earlier version's carry lists).
      if (holdsStaged(full)) discarded++;
      if (!removeLeftover(outdir, entry)) stuck.push(entry);
    } else if (entry.startsWith(TRASH_PREFIX)) {
      if (!fs.existsSync(path.join(full, TRASH_MARK))) {
        // Left by an older meshgen whose rollback failed: it may hold the only copy of the previous folders.
        throw new OutputError(`an earlier meshgen run was interrupted while replacing folders in ${shown}`, [
          { file: displayPath(full), message: 'holds the previous versions of the folders that run replaced', fix: 'move back what you need, then remove this folder and run synth again' },
        ]);
      }
      if (!removeLeftover(outdir, entry)) stuck.push(entry);
    } else if (entry.startsWith(`${JOURNAL_FILE}.`)) {
      fs.rmSync(full, { force: true });
    }
  }
  const said = [
    ...(discarded > 0 ? [`discarded a write of ${shown} that an interrupted run had not committed: the output is as it was`] : []),
    ...(stuck.length > 0 ? [`could not remove ${stuck.sort().join(', ')} from ${shown}, which an earlier run left: remove ${stuck.length === 1 ? 'it' : 'them'} by hand`] : []),
  ];
  return said.length > 0 ? said.join('; ') : undefined;
}

/** Whether a staging folder holds something staged: a folder or `.sops.yaml`, not only an earlier version's carry lists. */
function holdsStaged(staging: string): boolean {
  try {
    return fs.readdirSync(staging).some((n) => n !== CARRY_DIR);
  } catch {
    return false;
  }
}

/**
 * Deletes `entry` of the output folder, which holds nothing of the output:
 * renamed to `.meshgen-removing-*` first, so that a kill midway leaves a
 * name the next run deletes, never a trash folder without its mark. Never
 * fails; false when `entry` is still there.
 */
function removeLeftover(outdir: string, entry: string): boolean {
  const doomed = entry.startsWith(REMOVING_PREFIX) ? entry : `${REMOVING_PREFIX}${entry.replace(/^\.meshgen-/, '')}`;
  try {
    if (doomed !== entry) fs.renameSync(path.join(outdir, entry), path.join(outdir, doomed));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  try {
    fs.rmSync(path.join(outdir, doomed), { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

/** The journal of `file`, checked: every name in it is one this meshgen writes, so that redoing it touches nothing else. */
function readJournal(file: string): Journal {
  const entry = (n: unknown) => typeof n === 'string' && (FOLDER_NAME.test(n) || n === SOPS_CONFIG_FILE);
  // A folder to remove: older meshgen versions removed any entry with the mesh's marker (a copy named c1.bak too), never one of the write's own.
  const removable = (n: unknown) => typeof n === 'string' && n !== '.' && n !== '..' && !n.includes('/') && !n.startsWith('.meshgen-') && n !== '';
  try {
    const journal = JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;
    if (
      (journal.format === JOURNAL_FORMAT ? journal.patch !== undefined && journal.carryLists === undefined : journal.format === 'meshgen-output-journal' && journal.patch === undefined) &&
      typeof journal.staging === 'string' &&
      STAGING_NAME.test(journal.staging) &&
      typeof journal.trash === 'string' &&
      TRASH_NAME.test(journal.trash) &&
      Array.isArray(journal.install) &&
      journal.install.every(entry) &&
      Array.isArray(journal.remove) &&
      journal.remove.every(removable) &&
      (journal.patch === undefined || isPatchList(journal.patch, journal.install))
    ) {
      return journal;
    }
  } catch {
    // Reported below.
  }
  throw new OutputError(`the output folder ${displayPath(path.dirname(file))} holds a journal that cannot be read`, [
    { file: displayPath(file), message: 'is not a meshgen journal', fix: 'restore the output folder from version control, remove this file and the .meshgen-staging-* and .meshgen-old-* folders, then run synth again' },
  ]);
}

/** Whether `patch` names folders of `install` only, each with a list of paths in the folder. */
function isPatchList(patch: unknown, install: readonly string[]): boolean {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return false;
  return Object.entries(patch).every(([name, drops]) => FOLDER_NAME.test(name) && install.includes(name) && Array.isArray(drops) && drops.every(isPathInFolder));
}

/** The carry lists of a committed write, by staged folder, all read and checked before anything moves. */
function readCarryLists(outdir: string, journal: Journal): Map<string, readonly string[]> {
  const staging = path.join(outdir, journal.staging);
  const lists = new Map<string, readonly string[]>();
  for (const name of journal.install) {
    // A folder in place already needs its list only to flush its folders: a damaged one is passed over.
    const pending = fs.existsSync(path.join(staging, name));
    const file = path.join(staging, CARRY_DIR, `${name}.json`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new OutputError(`cannot read ${displayPath(file)} (${code})`, [{ file: displayPath(file), message: `cannot be read (${code})`, fix: 'fix the cause (permissions, disk), then run synth again: it finishes the write first' }]);
      if (pending && journal.carryLists && name !== SOPS_CONFIG_FILE) throw damagedWrite(outdir, journal, file, 'is missing, and the journal says every staged folder has one');
      continue;
    }
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      list = undefined;
    }
    if (Array.isArray(list) && list.every(isPathInFolder)) lists.set(name, list as string[]);
    else if (pending) throw damagedWrite(outdir, journal, file, 'is not a list of paths in the folder');
  }
  return lists;
}

/** A relative path of segments that are neither empty, `.` nor `..`. */
function isPathInFolder(p: unknown): boolean {
  return typeof p === 'string' && p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** The error of a committed write that cannot be redone: nothing more is moved, and the fix restores the folders from version control. */
function damagedWrite(outdir: string, journal: Journal, file: string, message: string): OutputError {
  return new OutputError(`cannot finish the write of ${displayPath(outdir)} that a run began`, [
    {
      file: displayPath(file),
      message,
      fix:
        `restore the cluster folders of ${displayPath(outdir)} from version control (the files of those it had begun to replace are split between the folder, ` +
        `${journal.trash} and ${journal.staging}), then remove ${JOURNAL_FILE}, ${journal.staging} and ${journal.trash}, and run synth again`,
    },
  ]);
}

/**
 * Puts the staged versions in place and the removed folders in the trash
 * (again, if a run did part of it), makes that durable, and removes the
 * journal: the last step that can fail. `recovering`: the carry lists come
 * from the disk, so a file in both places is refused rather than replaced.
 */
function swap(outdir: string, journal: Journal, lists: ReadonlyMap<string, readonly string[]>, recovering: boolean, began?: Set<string>): void {
  const staging = path.join(outdir, journal.staging);
  const trash = path.join(outdir, journal.trash);
  ensureTrash(trash);
  const toTrash = (name: string) => {
    const live = path.join(outdir, name);
    if (!fs.existsSync(live)) return;
    let target = path.join(trash, name);
    for (let n = 1; fs.existsSync(target); n++) target = path.join(trash, `${name}.${n}`);
    fs.renameSync(live, target);
  };
  const patched = journal.patch ?? {};
  for (const name of journal.install) {
    if (Object.hasOwn(patched, name)) {
      patchFolder(outdir, journal, name, patched[name], began);
      continue;
    }
    const staged = path.join(staging, name);
    // Gone from staging means it is in place already.
    if (!fs.existsSync(staged)) continue;
    const live = path.join(outdir, name);
    const old = path.join(trash, name);
    // A trash copy of this write's own folder means a run moved it there already, and may have carried part of it.
    if (fs.existsSync(old)) {
      if (fs.existsSync(live)) throw damagedWrite(outdir, journal, live, `exists, and so does its previous version in ${journal.trash}, which the write had moved away`);
    } else if (fs.existsSync(live)) {
      fs.renameSync(live, old);
    }
    carry(old, staged, lists.get(name) ?? [], recovering ? (f) => damagedWrite(outdir, journal, path.join(staged, f), `is both written anew and on the carry list`) : undefined);
    fs.renameSync(staged, live);
  }
  for (const name of journal.remove) toTrash(name);
  // The moved files' new places are on disk before the journal that would redo them is gone, those a killed run moved too.
  for (const name of Object.keys(patched)) flushFolders(path.join(outdir, name));
  flushCarried(outdir, lists);
  fs.rmSync(path.join(outdir, JOURNAL_FILE), { force: true });
}

/**
 * Patches the live folder `name` (again, if a run did part of it): it moves
 * into the trash, its dropped files and whatever is in its staged files'
 * places move aside, the staged files move in, and it moves back; its staged
 * folder is removed last, which marks it done. `began`: where a running
 * write notes the folders it began to patch, for its rollback.
 */
function patchFolder(outdir: string, journal: Journal, name: string, drops: readonly string[], began?: Set<string>): void {
  const { live, work, staged, replaced, dropped } = patchPaths(outdir, journal, name);
  if (isEntry(work) !== undefined) {
    if (isEntry(live) !== undefined) throw damagedWrite(outdir, journal, live, `exists, and so does its previous version in ${journal.trash}, which the write had moved away`);
  } else if (isEntry(staged) === undefined) {
    return;
  } else if (isEntry(live) !== undefined) {
    began?.add(name);
    fs.renameSync(live, work);
  } else {
    throw damagedWrite(outdir, journal, live, 'is missing: the write was to change some of its files and keep the others');
  }
  for (const d of drops) {
    // A dropped path is a file, a link or the like; one that is gone was moved aside already.
    if (isEntry(path.join(work, d)) === 'other') moveInto(path.join(work, d), path.join(dropped, d));
  }
  for (const f of filesBelow(staged)) {
    const target = path.join(work, f);
    // What holds a staged file's place (its previous version, or a folder that held only dropped files) moves aside, once.
    if (isEntry(target) !== undefined && isEntry(path.join(replaced, f)) === undefined) moveInto(target, path.join(replaced, f));
    moveInto(path.join(staged, f), target);
  }
  // Folders that only dropped files held are gone, as in a folder written anew.
  for (const d of drops) removeEmptyParents(work, d);
  fs.renameSync(work, live);
  fs.rmSync(staged, { recursive: true, force: true });
}

/**
 * Undoes patchFolder, which began on `name`, as far as it got (`files`: the
 * files staged for it), after a failure in this run. Its staged folder is
 * made again first, so that a kill from there on leaves it to be patched
 * again by the next run, as the journal says.
 */
function unpatchFolder(outdir: string, journal: Journal, name: string, drops: readonly string[], files: readonly string[]): void {
  const { live, work, staged, replaced, dropped } = patchPaths(outdir, journal, name);
  fs.mkdirSync(staged, { recursive: true, mode: 0o755 });
  if (isEntry(work) === undefined) fs.renameSync(live, work);
  for (const f of files) {
    if (isEntry(path.join(staged, f)) === undefined && isEntry(path.join(work, f)) === 'other') moveInto(path.join(work, f), path.join(staged, f));
    if (isEntry(path.join(replaced, f)) !== undefined && isEntry(path.join(work, f)) === undefined) moveInto(path.join(replaced, f), path.join(work, f));
    // A folder made for staged files only goes with them.
    removeEmptyParents(work, f);
  }
  for (const d of drops) {
    if (isEntry(path.join(dropped, d)) === 'other' && isEntry(path.join(work, d)) === undefined) moveInto(path.join(dropped, d), path.join(work, d));
  }
  fs.renameSync(work, live);
}

/**
 * Where patchFolder moves a folder's files: the live folder, its place in
 * the trash while patched, its staged files, and, apart (so that no path of
 * one passes through a link moved into the other), what it replaced and
 * what it dropped.
 */
function patchPaths(outdir: string, journal: Journal, name: string) {
  return {
    live: path.join(outdir, name),
    work: path.join(outdir, journal.trash, name),
    staged: path.join(outdir, journal.staging, name),
    replaced: path.join(outdir, journal.trash, REPLACED_DIR, name),
    dropped: path.join(outdir, journal.trash, DROPPED_DIR, name),
  };
}

/** 'folder', 'other' (a file, a link, …) or undefined when nothing is at `p`; a link is never followed at the end. */
function isEntry(p: string): 'folder' | 'other' | undefined {
  try {
    return fs.lstatSync(p).isDirectory() ? 'folder' : 'other';
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
}

/** Renames `from` to `to`, making the folders `to` needs first. */
function moveInto(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    // Its folder is missing, not `from` (which may be a link to nothing): made, and tried again.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || isEntry(from) === undefined) throw err;
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
    fs.renameSync(from, to);
  }
}

/** Removes the folders above `file` in `top` that are empty, from the deepest up. */
function removeEmptyParents(top: string, file: string): void {
  for (let dir = path.dirname(file); dir !== '.'; dir = path.dirname(dir)) {
    try {
      fs.rmdirSync(path.join(top, dir));
    } catch (err) {
      // Not empty, gone, or a file now: what else fails, fails the write.
      if (['ENOTEMPTY', 'EEXIST', 'ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
      throw err;
    }
  }
}

/** The files below `dir` (every entry but folders), by relative path; none when `dir` is gone. */
function filesBelow(dir: string): string[] {
  const files: string[] = [];
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(rel ? path.join(dir, rel) : dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(r);
      else files.push(r);
    }
  };
  if (fs.existsSync(dir)) visit('');
  return files;
}

/** fsyncs `dir` and every folder below it. */
function flushFolders(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) flushFolders(path.join(dir, e.name));
  fsyncDir(dir);
}

/**
 * Deletes what a write left once its journal is gone: its staging folder
 * and its trash (see removeLeftover). Never fails: what it cannot delete,
 * the next run does.
 */
function cleanUp(outdir: string, journal: Journal): void {
  try {
    fsyncDir(outdir);
  } catch {
    // The journal's removal is not undone by a power loss that loses it: the next run would redo the write, which is done.
  }
  removeLeftover(outdir, journal.staging);
  removeLeftover(outdir, journal.trash);
}

/** fsyncs every folder of `outdir` that a carry list moved files into or out of, then `outdir`. */
function flushCarried(outdir: string, lists: ReadonlyMap<string, readonly string[]>): void {
  for (const [name, list] of lists) for (const dir of foldersOf(list)) fsyncDir(path.join(outdir, name, dir));
  fsyncDir(outdir);
}

/** The folders (relative, `.` for the top) that hold `files`, each once; most files of a folder are at its top. */
function foldersOf(files: readonly string[]): Set<string> {
  const dirs = new Set<string>();
  for (const f of files) {
    const slash = f.lastIndexOf('/');
    dirs.add(slash < 0 ? '.' : f.slice(0, slash));
  }
  return dirs;
}

/**
 * Moves each of `files` from `from` into `to` (those moved already are in
 * `to`). With `refuse`, a file in both places is an error instead of the
 * old one replacing the new.
 */
function carry(from: string, to: string, files: readonly string[], refuse?: (file: string) => Error): void {
  for (const f of files) {
    const source = path.join(from, f);
    const target = path.join(to, f);
    if (refuse && fs.existsSync(source) && fs.existsSync(target)) throw refuse(f);
    try {
      fs.renameSync(source, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(target)) throw err;
    }
  }
}

function ensureTrash(trash: string): void {
  fs.mkdirSync(trash, { recursive: true });
  fs.writeFileSync(path.join(trash, TRASH_MARK), 'Replaced output of a meshgen write: removed when the write is finished.\n');
}

/**
 * Undoes `swap` as far as it got, after a failure in this run, durably,
 * then removes the journal; throws if that fails too. `stagedFiles`: the files
 * staged for each patched folder; `began`: the folders swap began to patch.
 */
function rollBack(outdir: string, journal: Journal, stagedFiles: ReadonlyMap<string, readonly string[]>, began: ReadonlySet<string>): void {
  const staging = path.join(outdir, journal.staging);
  const trash = path.join(outdir, journal.trash);
  const patched = journal.patch ?? {};
  for (const name of [...journal.install].reverse()) {
    if (Object.hasOwn(patched, name)) {
      if (began.has(name)) unpatchFolder(outdir, journal, name, patched[name], stagedFiles.get(name) ?? []);
      continue;
    }
    const live = path.join(outdir, name);
    const staged = path.join(staging, name);
    const old = path.join(trash, name);
    if (!fs.existsSync(staged) && fs.existsSync(live)) fs.renameSync(live, staged);
    if (fs.existsSync(old) && !fs.existsSync(live)) fs.renameSync(old, live);
  }
  for (const name of journal.remove) {
    if (fs.existsSync(path.join(trash, name)) && !fs.existsSync(path.join(outdir, name))) fs.renameSync(path.join(trash, name), path.join(outdir, name));
  }
  for (const name of Object.keys(patched)) flushFolders(path.join(outdir, name));
  fsyncDir(outdir);
  // Its mark may be what failed: without it, the next run would take the trash for an older meshgen's, which it keeps.
  ensureTrash(trash);
  fs.rmSync(path.join(outdir, JOURNAL_FILE), { force: true });
  cleanUp(outdir, journal);
}

/**
 * What writing a topology's folders into `outdir` changes, decided in one
 * place for `synth` and `diff` alike, one folder at a time so that a fleet
 * is never held in memory whole:
 * - at the start, from the folder names alone: a folder this run may not
 *   replace (not meshgen's, or another mesh's) is an error before anything
 *   is written; folders of the topology's meshes whose cluster left are to
 *   be removed; other meshes' folders are kept;
 * - for each rendered folder (`examine`): whether it differs from what is on
 *   disk (file names, contents or modes); an unchanged folder is not touched;
 * - at the end (`sops`): `.sops.yaml`, from every remaining folder's marker.
 */
export class OutputPlanner {
  /** Folders removed because their cluster left the topology. */
  public readonly remove: readonly string[];
  /** meshgen folders of meshes not in this topology, kept. */
  public readonly foreign: readonly string[];
  /** Folders that already hold exactly what was rendered. */
  public readonly unchanged: string[] = [];
  private readonly recipients = new Map<string, readonly string[]>();

  /** `folders`: the name and mesh of every folder the run writes; `readAhead`: those folders read ahead, if a worker reads them. */
  constructor(
    private readonly outdir: string,
    folders: ReadonlyMap<string, string>,
    private readonly readAhead?: FolderReadAhead,
  ) {
    const meshes = new Set(folders.values());
    const stale: string[] = [];
    const foreign: string[] = [];
    const entries = fs.existsSync(outdir) ? fs.readdirSync(outdir, { withFileTypes: true }) : [];
    for (const entry of entries) {
      // Only a DNS label names a cluster's folder: a marked folder named otherwise (a copy, c1.bak) is the user's, and stays.
      if (!FOLDER_NAME.test(entry.name)) continue;
      const full = path.join(outdir, entry.name);
      const owner = ownerOf(full);
      const wanted = folders.get(entry.name);
      if (wanted !== undefined && owner !== wanted && fs.existsSync(full)) {
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
    this.remove = stale;
    this.foreign = foreign;
    for (const name of foreign) {
      const recipients = markerSopsRecipients(readMarker(path.join(outdir, name)));
      if (recipients) this.recipients.set(name, recipients);
    }
  }

  /**
   * Whether `folder` differs from what is on disk, so that the write must
   * put it in place, and which of its files the disk already holds as they
   * are; with what the disk holds (give it back with release()).
   */
  public examine(folder: RenderedFolder): { readonly changed: boolean; readonly same: ReadonlySet<string>; readonly onDisk?: readonly string[]; readonly snapshot: FolderSnapshot } {
    const marker = folder.files.find((file) => file.path === MARKER_FILE);
    const recipients = marker ? markerSopsRecipients(marker.content) : undefined;
    if (recipients) this.recipients.set(folder.name, recipients);
    const dir = path.join(this.outdir, folder.name);
    // Read ahead on a worker in a fleet, else here; either way the caller gets it, so that diff reads no folder twice.
    const snapshot = this.readAhead?.take(dir) ?? snapshotFolder(dir);
    const disk = compareSnapshot(snapshot, folder.files);
    if (disk.equal) this.unchanged.push(folder.name);
    return { changed: !disk.equal, same: disk.same, onDisk: disk.onDisk, snapshot };
  }

  /** Lets go of a snapshot that examine() returned: its memory goes back to the worker that reads ahead, if one does. */
  public release(snapshot: FolderSnapshot): void {
    this.readAhead?.release(snapshot);
  }

  /** `.sops.yaml` after every folder was examined: its text, and whether it is written or removed. */
  public sops(): { readonly text?: string; readonly change?: 'write' | 'remove' } {
    const text = sopsConfigText(this.recipients);
    checkSopsConfig(this.outdir, text !== undefined);
    const old = readIfFile(path.join(this.outdir, SOPS_CONFIG_FILE));
    if (text !== undefined && text !== old) return { text, change: 'write' };
    if (text === undefined && old !== undefined && isOwnSopsConfig(old)) return { change: 'remove' };
    return text === undefined ? {} : { text };
  }
}

/**
 * A write of the output folder, fed one folder at a time: a folder that
 * differs from the disk is written into the staging folder at once (and
 * then no longer held in memory), an unchanged one is left alone; commit()
 * puts the staged folders in place through the journal. Hold the output's
 * lock from the planner's making to the commit.
 */
export class OutputWrite {
  private staging?: string;
  private readonly installed: string[] = [];
  /** Each folder to patch: the files it drops, and those staged for it. */
  private readonly patches = new Map<string, { readonly drops: readonly string[]; readonly staged: readonly string[] }>();
  private readonly id = randomBytes(6).toString('hex');

  constructor(
    private readonly outdir: string,
    public readonly planner: OutputPlanner,
  ) {}

  /**
   * Examines `folder` and stages it if it differs from the disk. Of a folder
   * on disk, only the files that are new or differ are staged, and the files
   * it holds that are not rendered any more are noted: the commit patches it,
   * so a change of a few files of a folder writes and moves those files only.
   */
  public add(folder: RenderedFolder): void {
    checkFolderName(folder.name);
    if (folder.secrets && folder.secrets.length > 0) throw unencrypted(folder);
    const { changed, same, onDisk, snapshot } = this.planner.examine(folder);
    this.planner.release(snapshot);
    if (!changed) return;
    const staged = this.stage(folder.name, folder.files, same);
    if (onDisk) {
      const rendered = new Set(folder.files.map((f) => f.path));
      this.patches.set(folder.name, { drops: onDisk.filter((p) => !rendered.has(p)), staged });
    }
    this.installed.push(folder.name);
  }

  /** Puts what was staged in place (nothing when nothing differs), removes left clusters' folders and settles `.sops.yaml`. */
  public commit(): WriteResult {
    let sops: ReturnType<OutputPlanner['sops']>;
    try {
      sops = this.planner.sops();
    } catch (err) {
      this.discard();
      throw err;
    }
    const result = { written: [...this.installed], unchanged: [...this.planner.unchanged], removed: [...this.planner.remove], foreign: [...this.planner.foreign] };
    // Nothing differs: nothing is written, not even a staging folder.
    if (this.installed.length === 0 && this.planner.remove.length === 0 && sops.change === undefined) return result;
    if (sops.change === 'write') this.stage(undefined, [{ path: SOPS_CONFIG_FILE, content: sops.text as string, mode: 0o644 }]);
    const staging = this.staging ?? this.makeStaging();
    const journal: Journal = {
      format: JOURNAL_FORMAT,
      staging: path.basename(staging),
      trash: `${TRASH_PREFIX}${this.id}`,
      install: [...this.installed, ...(sops.change === 'write' ? [SOPS_CONFIG_FILE] : [])],
      remove: [...this.planner.remove, ...(sops.change === 'remove' ? [SOPS_CONFIG_FILE] : [])],
      patch: Object.fromEntries([...this.patches].map(([name, p]) => [name, p.drops])),
    };
    try {
      flush(staging);
    } catch (err) {
      this.discard();
      throw new OutputError(`cannot write output folder ${displayPath(this.outdir)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    this.commitJournal(journal);
    const began = new Set<string>();
    try {
      swap(this.outdir, journal, new Map(), false, began);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      try {
        rollBack(this.outdir, journal, new Map([...this.patches].map(([name, p]) => [name, p.staged])), began);
      } catch {
        throw new OutputError(`cannot replace folders in ${displayPath(this.outdir)} (${code}), and the rollback failed too`, [
          {
            file: displayPath(path.join(this.outdir, JOURNAL_FILE)),
            message: 'records the write; the folders it names are partly replaced',
            fix: 'fix the cause (disk full, permissions), then run synth again: it finishes this write first',
          },
        ]);
      }
      throw new OutputError(`cannot replace folders in ${displayPath(this.outdir)} (${code}); the output is as it was`);
    }
    cleanUp(this.outdir, journal);
    return result;
  }

  /**
   * Writes the journal durably: after this, the write happens, whatever
   * stops the process. If that fails, the journal and the staged folders are
   * taken back: the output is as it was.
   */
  private commitJournal(journal: Journal): void {
    const file = path.join(this.outdir, JOURNAL_FILE);
    const tmp = `${file}.${randomBytes(6).toString('hex')}`;
    try {
      const fd = fs.openSync(tmp, 'wx', 0o644);
      try {
        fs.writeSync(fd, `${JSON.stringify(journal, null, 2)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      fsyncDir(this.outdir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      try {
        fs.rmSync(tmp, { force: true });
        fs.rmSync(file, { force: true });
        // The journal's removal on disk before what it names goes.
        fsyncDir(this.outdir);
      } catch {
        throw new OutputError(`cannot commit the write of ${displayPath(this.outdir)} (${code}), nor take it back`, [
          { file: displayPath(file), message: 'may record the write', fix: 'fix the cause (disk full, permissions), then run synth again: it finishes or discards this write first' },
        ]);
      }
      this.discard();
      throw new OutputError(`cannot write output folder ${displayPath(this.outdir)}: ${code}`);
    }
  }

  /** Removes what was staged; the output is as it was. */
  public discard(): void {
    if (this.staging) fs.rmSync(this.staging, { recursive: true, force: true });
    this.staging = undefined;
  }

  private makeStaging(): string {
    this.staging = path.join(this.outdir, `${STAGING_PREFIX}${this.id}`);
    fs.mkdirSync(this.staging, { mode: 0o755 });
    return this.staging;
  }

  /** Writes `files` into the staging folder, under `name` (a cluster folder) or at its top, but those in `same`; returns the paths written. */
  private stage(name: string | undefined, files: readonly RenderedFile[], same: ReadonlySet<string> = new Set()): string[] {
    try {
      const staging = this.staging ?? this.makeStaging();
      const dir = name === undefined ? staging : path.join(staging, name);
      if (name !== undefined) {
        fs.mkdirSync(dir, { mode: 0o755 });
        fs.chmodSync(dir, 0o755);
      }
      // Sub-folders are made once each, not once per file: a fleet's folder holds a hundred files.
      const made = new Set<string>(['']);
      const written: string[] = [];
      for (const file of files) {
        if (same.has(file.path)) continue;
        const slash = file.path.lastIndexOf('/');
        const parent = slash < 0 ? '' : file.path.slice(0, slash);
        if (!made.has(parent)) {
          fs.mkdirSync(path.join(dir, parent), { recursive: true, mode: 0o755 });
          made.add(parent);
        }
        const target = path.join(dir, file.path);
        fs.writeFileSync(target, file.content, { mode: file.mode, flag: 'wx' });
        fs.chmodSync(target, file.mode);
        written.push(file.path);
      }
      return written;
    } catch (err) {
      this.discard();
      throw new OutputError(`cannot write output folder ${displayPath(this.outdir)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

function unencrypted(f: RenderedFolder): OutputError {
  const first = (f.secrets as readonly PendingSecret[])[0];
  return new OutputError(`folder "${f.name}" has ${(f.secrets as readonly PendingSecret[]).length} Secret(s) that are not encrypted yet`, [
    { file: first.path, message: `is to be encrypted (secrets.encryption: ${first.settings.encryption})`, fix: 'pass the folders through encryptFolders() before writeOutput()' },
  ]);
}

/**
 * Flushes what was written under `dir` to disk before the commit, so that
 * a power loss after it cannot leave a staged file empty: one `sync -f` of
 * its file system where that reports errors (syncfsReportsErrors), else an
 * fsync of every file.
 */
function flush(dir: string): void {
  if (syncfsReportsErrors() && spawnSync('sync', ['-f', dir], { stdio: 'ignore' }).status === 0) return;
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) visit(full);
      else {
        const fd = fs.openSync(full, 'r');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
    }
    fsyncDir(d);
  };
  visit(dir);
}

/**
 * Whether `sync -f` (syncfs) both flushes a file system and fails when that
 * fails: only Linux's sync takes -f (elsewhere it ignores it and may return
 * before the data is written), and Linux reports writeback errors from
 * syncfs since 5.8 only. Otherwise every file is fsynced, which reports them.
 */
export function syncfsReportsErrors(platform: string = process.platform, release: string = os.release()): boolean {
  const [major, minor] = release.split('.').map((n) => Number.parseInt(n, 10));
  return platform === 'linux' && (major > 5 || (major === 5 && minor >= 8));
}

function readIfFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
