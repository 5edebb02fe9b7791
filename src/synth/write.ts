/**
 * Writes rendered folders into the output folder as one change, which a
 * kill at any point leaves complete or not made at all:
 *
 * 1. every folder that changed (and `.sops.yaml`) is staged in a staging
 *    folder beside them: the files that are new or differ are written, and
 *    the files the live folder already holds as they are are listed in a
 *    carry list (`.meshgen-carry/<folder>.json` in the staging folder); all
 *    of it is flushed to disk;
 * 2. a journal (`.meshgen-journal.json`) names the folders to put in place
 *    and to remove; it is written and flushed: this is the commit;
 * 3. each live folder moves to a trash folder, the files of its carry list
 *    move from there into its staged version, and that takes its place;
 *    removed folders move to the trash;
 * 4. the journal, the trash and the staging folder are removed.
 *
 * The next run that takes the output's lock and finds a journal does steps
 * 3 and 4 again, which is safe to repeat: a file of a carry list is either
 * still in the trash or already in the staged folder, and a folder whose
 * staged version is gone is in place. The output is then the complete new
 * one. A staging folder without a journal was never committed and is
 * removed: the output is the complete old one. Either way the run says so.
 *
 * A folder is replaced by renames only, so a reader of the output sees a
 * folder whole, old or new, or (for the moment its carried files move, a
 * millisecond for a hundred) not at all; never half of one. Carrying files
 * by rename costs one system call each, where linking them into the staged
 * folder and unlinking the old folder cost two; in a fleet, where adding a
 * cluster changes every primary's folder, that halves the write.
 *
 * Only folders that carry meshgen's marker file, naming a mesh of the
 * topology being written, are ever replaced or removed, and one run writes
 * at a time (src/lock.ts).
 *
 * Long because the crash-safe write (plan, stage, journal, commit, recover, roll back) must stay in one place.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputError } from '../errors';
import { LockOptions, withLock } from '../lock';
import { displayPath, fsyncDir, makeFolders } from '../paths';
import { MARKER_FILE, markerMesh, markerSopsRecipients } from './marker';
import type { PendingSecret, RenderedFile, RenderedFolder } from './render';
import { compareSnapshot, compareWithDisk, FolderReadAhead, FolderSnapshot } from './disk-compare';
import { checkSopsConfig, isOwnSopsConfig, SOPS_CONFIG_FILE, sopsConfigText } from './sops-config';

const STAGING_PREFIX = '.meshgen-staging-';
const TRASH_PREFIX = '.meshgen-old-';
/** In a trash folder of this meshgen: the folder holds only replaced output, safe to remove once no journal names it. */
const TRASH_MARK = '.meshgen-trash';
const LOCK_FILE = '.meshgen-lock';
const JOURNAL_FILE = '.meshgen-journal.json';
/** In the staging folder: one carry list per staged cluster folder. Not a DNS label, so never a cluster's folder. */
const CARRY_DIR = '.meshgen-carry';

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
  readonly format: 'meshgen-output-journal';
  readonly staging: string;
  readonly trash: string;
  /** Folders (and `.sops.yaml`) staged to take the place of the live ones. */
  readonly install: readonly string[];
  /** Folders to remove, and `.sops.yaml` when no folder uses SOPS any more. */
  readonly remove: readonly string[];
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
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(f.name)) throw new OutputError(`cannot write a folder named ${JSON.stringify(f.name)}: not a DNS-1123 label`);
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
    if (!existed && !wrote && fs.existsSync(outdir) && fs.readdirSync(outdir).length === 0) fs.rmdirSync(outdir);
  }
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
    let journal: Journal;
    try {
      journal = JSON.parse(fs.readFileSync(journalFile, 'utf8')) as Journal;
      if (journal.format !== 'meshgen-output-journal') throw new Error('not a journal');
    } catch {
      throw new OutputError(`the output folder ${shown} holds a journal that cannot be read`, [
        { file: displayPath(journalFile), message: 'is not a meshgen journal', fix: 'remove it and the .meshgen-staging-* and .meshgen-old-* folders, then run synth again' },
      ]);
    }
    finish(outdir, journal);
    return `finished writing ${shown}, which an interrupted run had begun (${journal.install.filter((n) => n !== SOPS_CONFIG_FILE).length} folders)`;
  }
  let discarded = 0;
  for (const entry of fs.readdirSync(outdir)) {
    const full = path.join(outdir, entry);
    if (entry.startsWith(STAGING_PREFIX)) {
      fs.rmSync(full, { recursive: true, force: true });
      discarded++;
    } else if (entry.startsWith(TRASH_PREFIX)) {
      if (!fs.existsSync(path.join(full, TRASH_MARK))) {
        // Left by an older meshgen whose rollback failed: it may hold the only copy of the previous folders.
        throw new OutputError(`an earlier meshgen run was interrupted while replacing folders in ${shown}`, [
          { file: displayPath(full), message: 'holds the previous versions of the folders that run replaced', fix: 'move back what you need, then remove this folder and run synth again' },
        ]);
      }
      fs.rmSync(full, { recursive: true, force: true });
    } else if (entry.startsWith(`${JOURNAL_FILE}.`)) {
      fs.rmSync(full, { force: true });
    }
  }
  return discarded > 0 ? `discarded a write of ${shown} that an interrupted run had not committed: the output is as it was` : undefined;
}

/** Puts the staged versions in place and the removed folders in the trash (again, if a run did part of it), then cleans up. */
function finish(outdir: string, journal: Journal): void {
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
  const carried = new Set<string>();
  for (const name of journal.install) {
    const staged = path.join(staging, name);
    // Gone from staging means it is in place already.
    if (!fs.existsSync(staged)) continue;
    const live = path.join(outdir, name);
    const old = path.join(trash, name);
    // A trash copy of this write's own folder means a run moved it there already, and may have carried part of it.
    if (fs.existsSync(old)) {
      if (fs.existsSync(live)) {
        throw new OutputError(`cannot finish the write of ${displayPath(outdir)} that a run began`, [
          { file: displayPath(live), message: `exists, and so does its previous version in ${journal.trash}, which the write had moved away`, fix: `move the one you do not want out of ${displayPath(outdir)}, then run synth again` },
        ]);
      }
    } else if (fs.existsSync(live)) {
      fs.renameSync(live, old);
    }
    for (const dir of carry(old, staged, readCarryList(staging, name))) carried.add(dir);
    fs.renameSync(staged, live);
  }
  for (const name of journal.remove) toTrash(name);
  // The carried files' new places are on disk before the journal that would redo them is gone.
  for (const dir of carried) fsyncDir(path.join(outdir, path.relative(staging, dir)));
  fsyncDir(outdir);
  fs.rmSync(path.join(outdir, JOURNAL_FILE), { force: true });
  fsyncDir(outdir);
  fs.rmSync(trash, { recursive: true, force: true });
  fs.rmSync(staging, { recursive: true, force: true });
}

/** The files the staged folder `name` takes from the live one as they are. */
function readCarryList(staging: string, name: string): string[] {
  const file = path.join(staging, CARRY_DIR, `${name}.json`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' && !path.isAbsolute(p) && !p.split('/').includes('..'))) {
    throw new OutputError(`the write of ${displayPath(path.dirname(staging))} that a run began has a damaged carry list`, [
      { file: displayPath(file), message: 'is not a list of paths in the folder', fix: `move ${displayPath(staging)} and ${JOURNAL_FILE} out of the output folder, restore the folder from version control, and run synth again` },
    ]);
  }
  return list as string[];
}

/** Moves each of `files` from `from` into `to` (those moved already are in `to`); gives the folders of `to` that received files. */
function carry(from: string, to: string, files: readonly string[]): Set<string> {
  const dirs = new Set<string>();
  for (const f of files) {
    const target = path.join(to, f);
    try {
      fs.renameSync(path.join(from, f), target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(target)) throw err;
    }
    dirs.add(path.dirname(target));
  }
  return dirs;
}

function ensureTrash(trash: string): void {
  fs.mkdirSync(trash, { recursive: true });
  fs.writeFileSync(path.join(trash, TRASH_MARK), 'Replaced output of a meshgen write: removed when the write is finished.\n');
}

/** Undoes `finish` as far as it got, after a failure in this run; throws if that fails too. */
function rollBack(outdir: string, journal: Journal): void {
  const staging = path.join(outdir, journal.staging);
  const trash = path.join(outdir, journal.trash);
  for (const name of [...journal.install].reverse()) {
    const live = path.join(outdir, name);
    const staged = path.join(staging, name);
    const old = path.join(trash, name);
    if (!fs.existsSync(staged) && fs.existsSync(live)) fs.renameSync(live, staged);
    if (fs.existsSync(old)) {
      for (const f of readCarryList(staging, name)) {
        if (fs.existsSync(path.join(staged, f)) && !fs.existsSync(path.join(old, f))) fs.renameSync(path.join(staged, f), path.join(old, f));
      }
      if (!fs.existsSync(live)) fs.renameSync(old, live);
    }
  }
  for (const name of journal.remove) {
    if (fs.existsSync(path.join(trash, name)) && !fs.existsSync(path.join(outdir, name))) fs.renameSync(path.join(trash, name), path.join(outdir, name));
  }
  fs.rmSync(path.join(outdir, JOURNAL_FILE), { force: true });
  fsyncDir(outdir);
  fs.rmSync(trash, { recursive: true, force: true });
  fs.rmSync(staging, { recursive: true, force: true });
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
   * are; with what the disk holds, when it was read ahead.
   */
  public examine(folder: RenderedFolder): { readonly changed: boolean; readonly same: ReadonlySet<string>; readonly snapshot?: FolderSnapshot } {
    const marker = folder.files.find((file) => file.path === MARKER_FILE);
    const recipients = marker ? markerSopsRecipients(marker.content) : undefined;
    if (recipients) this.recipients.set(folder.name, recipients);
    const dir = path.join(this.outdir, folder.name);
    const snapshot = this.readAhead?.take(dir);
    const disk = snapshot ? compareSnapshot(snapshot, folder.files) : compareWithDisk(dir, folder.files);
    if (disk.equal) this.unchanged.push(folder.name);
    return { changed: !disk.equal, same: disk.same, snapshot };
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
  private readonly id = randomBytes(6).toString('hex');

  constructor(
    private readonly outdir: string,
    public readonly planner: OutputPlanner,
  ) {}

  /**
   * Examines `folder` and stages it if it differs from the disk. The files
   * the live folder already holds as they are go on the folder's carry list
   * instead, and move into the staged folder when it takes the live one's
   * place: a change of a few files of a folder writes those files only.
   */
  public add(folder: RenderedFolder): void {
    if (folder.secrets && folder.secrets.length > 0) throw unencrypted(folder);
    const { changed, same } = this.planner.examine(folder);
    if (!changed) return;
    this.stage(folder.name, folder.files, same);
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
      format: 'meshgen-output-journal',
      staging: path.basename(staging),
      trash: `${TRASH_PREFIX}${this.id}`,
      install: [...this.installed, ...(sops.change === 'write' ? [SOPS_CONFIG_FILE] : [])],
      remove: [...this.planner.remove, ...(sops.change === 'remove' ? [SOPS_CONFIG_FILE] : [])],
    };
    try {
      flush(staging);
    } catch (err) {
      this.discard();
      throw new OutputError(`cannot write output folder ${displayPath(this.outdir)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    commitJournal(this.outdir, journal);
    try {
      finish(this.outdir, journal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      try {
        rollBack(this.outdir, journal);
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
    return result;
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

  /** Writes `files` into the staging folder, under `name` (a cluster folder) or at its top; those in `same` go on the folder's carry list. */
  private stage(name: string | undefined, files: readonly RenderedFile[], same: ReadonlySet<string> = new Set()): void {
    try {
      const staging = this.staging ?? this.makeStaging();
      const dir = name === undefined ? staging : path.join(staging, name);
      if (name !== undefined) {
        fs.mkdirSync(dir, { mode: 0o755 });
        fs.chmodSync(dir, 0o755);
      }
      // Sub-folders are made once each, not once per file: a fleet's folder holds a hundred files.
      const made = new Set<string>([dir]);
      const carried: string[] = [];
      for (const file of files) {
        const target = path.join(dir, file.path);
        const parent = path.dirname(target);
        if (!made.has(parent)) {
          fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
          made.add(parent);
        }
        if (name !== undefined && same.has(file.path)) {
          carried.push(file.path);
          continue;
        }
        fs.writeFileSync(target, file.content, { mode: file.mode, flag: 'wx' });
        fs.chmodSync(target, file.mode);
      }
      if (name !== undefined && carried.length > 0) {
        fs.mkdirSync(path.join(staging, CARRY_DIR), { recursive: true, mode: 0o755 });
        fs.writeFileSync(path.join(staging, CARRY_DIR, `${name}.json`), `${JSON.stringify(carried)}\n`, { mode: 0o644, flag: 'wx' });
      }
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

/** Writes the journal durably: after this, the write happens, whatever stops the process. */
function commitJournal(outdir: string, journal: Journal): void {
  const file = path.join(outdir, JOURNAL_FILE);
  const tmp = `${file}.${randomBytes(6).toString('hex')}`;
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    fs.writeSync(fd, `${JSON.stringify(journal, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(outdir);
}

/**
 * Flushes what was written under `dir` to disk before the commit, so that
 * a power loss after it cannot leave a staged file empty: one `sync -f` of
 * its file system where coreutils has it, else an fsync of every file.
 */
function flush(dir: string): void {
  if (spawnSync('sync', ['-f', dir], { stdio: 'ignore' }).status === 0) return;
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

function readIfFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
