/**
 * The one place where a key store is written. Every change of several
 * files (new keys, a rotation, a stage of a root rotation, the manifest
 * with them) is a StoreTransaction, which happens as a whole or not at all,
 * even when the process is killed or the power fails:
 *
 * 1. new files are written into a staging folder in the store
 *    (`.meshgen-tx-*`), each fsynced;
 * 2. a journal (`.meshgen-journal.json`) lists every step (write a staged
 *    file into place, move a file, remove an empty folder); it is fsynced
 *    and renamed into place: this is the commit;
 * 3. the steps are done, and the folders they touched fsynced;
 * 4. the journal and the staging folder are removed.
 *
 * Every step can be done twice with the same result, so the next run that
 * finds a journal does them all again (`recoverStore`): the change is then
 * complete. A staging folder without a journal was never committed and is
 * removed: the store is as it was before. Either way the run says so.
 *
 * The same module keeps key files 0600 and folders 0700 (`checkModes`),
 * and holds the key store's lock (`withStoreLock`).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KeyStoreError, Problem } from '../errors';
import { LockOptions, withLock } from '../lock';
import { displayPath, fsyncDir } from '../paths';

export { fsyncDir };

/** The journal of a committed transaction that is not finished yet. */
export const JOURNAL_FILE = '.meshgen-journal.json';
/** The lock of a key store. */
export const STORE_LOCK_FILE = '.meshgen-lock';
const STAGING_PREFIX = '.meshgen-tx-';

/** One step of a transaction; paths are relative to the key store, so a moved store recovers too. */
type Step =
  | { readonly op: 'write'; readonly staged: string; readonly to: string; readonly mode: number }
  | { readonly op: 'move'; readonly from: string; readonly to: string }
  | { readonly op: 'remove'; readonly file: string }
  | { readonly op: 'rmdir'; readonly dir: string };

interface Journal {
  readonly format: 'meshgen-journal';
  readonly staging: string;
  readonly steps: readonly Step[];
}

/** Writes and fsyncs `content` to a new file `file` (which must not exist). */
function writeNew(file: string, content: string, mode: number): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    fs.writeSync(fd, content);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes `dir` and its missing parents with mode 0700, fsyncing each parent that got a new entry. */
export function ensureDir(dir: string): void {
  if (fs.existsSync(dir)) return;
  ensureDir(path.dirname(dir));
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  fsyncDir(path.dirname(dir));
}

/**
 * Writes one file durably and atomically: a temporary file, fsynced, renamed
 * into place, the folder fsynced. For a change of one file; several files
 * that belong together go through a StoreTransaction.
 */
export function writeFileDurably(file: string, content: string, mode: number): void {
  ensureDir(path.dirname(file));
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeNew(tmp, content, mode);
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new KeyStoreError(`cannot write ${displayPath(file)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** A change of several key store files that happens as a whole or not at all. */
export class StoreTransaction {
  private readonly steps: Step[] = [];
  private staging?: string;
  /** Content of the files this transaction writes, by absolute path, for reads before the commit. */
  private readonly pending = new Map<string, string>();
  private done = false;

  constructor(public readonly store: string) {}

  /** True once commit() has run: the change is made (or, after a crash, will be by recoverStore). */
  public get committed(): boolean {
    return this.done;
  }

  /** True when the transaction changes nothing. */
  public get empty(): boolean {
    return this.steps.length === 0;
  }

  /** Writes `content` to `file` (inside the store) at the commit. */
  public write(file: string, content: string, mode: 0o600 | 0o644): void {
    if (!this.staging) {
      ensureDir(this.store);
      this.staging = fs.mkdtempSync(path.join(this.store, STAGING_PREFIX));
    }
    const staged = path.join(this.staging, `${this.steps.length}`);
    writeNew(staged, content, mode);
    this.steps.push({ op: 'write', staged: this.rel(staged), to: this.rel(file), mode });
    this.pending.set(path.resolve(file), content);
  }

  /** Moves `from` to `to` (both inside the store) at the commit; nothing when `from` does not exist then. */
  public move(from: string, to: string): void {
    this.steps.push({ op: 'move', from: this.rel(from), to: this.rel(to) });
  }

  /** Removes the file `file` at the commit (only for files this run made and nothing uses). */
  public remove(file: string): void {
    this.steps.push({ op: 'remove', file: this.rel(file) });
  }

  /** Removes the folder `dir` at the commit, if it is empty then. */
  public removeDir(dir: string): void {
    this.steps.push({ op: 'rmdir', dir: this.rel(dir) });
  }

  /** The content this transaction writes to `file`, if it writes it. */
  public written(file: string): string | undefined {
    return this.pending.get(path.resolve(file));
  }

  /** Makes the change, durably; after a crash anywhere in it, recoverStore() completes it. */
  public commit(): void {
    if (this.steps.length === 0) return;
    if (this.staging) fsyncDir(this.staging);
    const journal: Journal = { format: 'meshgen-journal', staging: this.staging ? this.rel(this.staging) : '', steps: this.steps };
    const file = path.join(this.store, JOURNAL_FILE);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    writeNew(tmp, `${JSON.stringify(journal, null, 2)}\n`, 0o600);
    fs.renameSync(tmp, file);
    fsyncDir(this.store);
    this.done = true;
    finish(this.store, journal);
    this.staging = undefined;
  }

  /** Drops the staged files of a transaction not committed; nothing in the store changed. */
  public discard(): void {
    if (this.staging) fs.rmSync(this.staging, { recursive: true, force: true });
    this.staging = undefined;
    this.steps.length = 0;
    this.pending.clear();
  }

  private rel(file: string): string {
    const rel = path.relative(this.store, path.resolve(file));
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${file} is not inside the key store ${this.store}`);
    return rel.split(path.sep).join('/');
  }
}

/** Does every step of a committed journal (again), then removes it and its staging folder. */
function finish(store: string, journal: Journal): void {
  const at = (rel: string) => path.join(store, ...rel.split('/'));
  const touched = new Set<string>();
  for (const step of journal.steps) {
    if (step.op === 'write') {
      const staged = at(step.staged);
      if (!fs.existsSync(staged)) continue;
      ensureDir(path.dirname(at(step.to)));
      fs.renameSync(staged, at(step.to));
      touched.add(path.dirname(at(step.to)));
    } else if (step.op === 'move') {
      const from = at(step.from);
      const to = at(step.to);
      // Done already when `from` is gone; a `to` that exists is this step's own earlier result.
      if (!fs.existsSync(from) || fs.existsSync(to)) continue;
      ensureDir(path.dirname(to));
      fs.renameSync(from, to);
      touched.add(path.dirname(from));
      touched.add(path.dirname(to));
    } else if (step.op === 'remove') {
      if (fs.existsSync(at(step.file))) {
        fs.rmSync(at(step.file), { force: true });
        touched.add(path.dirname(at(step.file)));
      }
    } else {
      const dir = at(step.dir);
      try {
        fs.rmdirSync(dir);
        touched.add(path.dirname(dir));
      } catch {
        // Not there, or not empty: nothing to do.
      }
    }
  }
  for (const dir of touched) fsyncDir(dir);
  fs.rmSync(path.join(store, JOURNAL_FILE), { force: true });
  fsyncDir(store);
  if (journal.staging) fs.rmSync(at(journal.staging), { recursive: true, force: true });
}

/**
 * Completes or discards what an interrupted run left in `store`; returns
 * the one line to say, or undefined when there was nothing to do.
 */
export function recoverStore(store: string): string | undefined {
  if (!fs.existsSync(store)) return undefined;
  const file = path.join(store, JOURNAL_FILE);
  let said: string | undefined;
  if (fs.existsSync(file)) {
    let journal: Journal;
    try {
      journal = JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;
      if (journal.format !== 'meshgen-journal' || !Array.isArray(journal.steps)) throw new Error('not a journal');
    } catch {
      throw new KeyStoreError(`key store ${displayPath(store)} holds a journal that cannot be read`, [
        { file: displayPath(file), message: 'is not a meshgen journal', fix: 'restore the key store from backup; the journal names the change an interrupted run was making' },
      ]);
    }
    finish(store, journal);
    said = `finished a change of key store ${displayPath(store)} that an interrupted run had committed (${journal.steps.length} steps)`;
  }
  const leftovers = fs.readdirSync(store).filter((f) => f.startsWith(STAGING_PREFIX) || /\.[0-9a-f]{12}\.tmp$/.test(f));
  for (const f of leftovers) fs.rmSync(path.join(store, f), { recursive: true, force: true });
  if (leftovers.length > 0 && !said) said = `discarded a change of key store ${displayPath(store)} that an interrupted run had not committed: the store is as it was`;
  return said;
}

/** Files of a key store that hold secrets. */
function isSecretFile(name: string): boolean {
  return name.endsWith('key.pem') || name.endsWith('.key') || name === 'reader-credential.json';
}

/**
 * Brings key files to 0600 and folders to 0700 in `store`; returns the
 * lines to say for what was fixed. A file or folder this user does not own
 * is refused with the exact chmod to run.
 */
export function checkModes(store: string): string[] {
  if (!fs.existsSync(store)) return [];
  const fixed: string[] = [];
  const refused: Problem[] = [];
  const uid = process.getuid?.();
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        check(full, 0o700, true);
        visit(full);
      } else if (entry.isFile() && isSecretFile(entry.name)) {
        check(full, 0o600, false);
      }
    }
  };
  const check = (file: string, mode: number, folder: boolean) => {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) === 0) return;
    const want = `${mode.toString(8)}`;
    if (uid !== undefined && st.uid !== uid && uid !== 0) {
      refused.push({
        file: displayPath(file),
        message: `is readable by others (mode ${(st.mode & 0o777).toString(8)}) and belongs to another user`,
        fix: `chmod ${want} ${displayPath(file)}  (as its owner)`,
      });
      return;
    }
    fs.chmodSync(file, mode);
    fixed.push(`${folder ? 'folder' : 'key file'} ${displayPath(file)} was mode ${(st.mode & 0o777).toString(8)}: set to ${want}`);
  };
  check(store, 0o700, true);
  visit(store);
  if (refused.length > 0) throw new KeyStoreError(`key store ${displayPath(store)} holds keys that others can read`, refused);
  return fixed;
}

/**
 * Runs `fn` holding the lock of key store `store`, after completing or
 * discarding what an interrupted run left and fixing loose file modes.
 */
export async function withStoreLock<T>(store: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const existed = fs.existsSync(store);
  ensureDir(store);
  try {
    return await lockedStore(store, fn, opts);
  } finally {
    // A store this run made only to lock it, and then wrote nothing into (a run that failed), is not left behind.
    if (!existed && fs.existsSync(store) && fs.readdirSync(store).length === 0) fs.rmdirSync(store);
  }
}

function lockedStore<T>(store: string, fn: () => Promise<T>, opts: LockOptions): Promise<T> {
  return withLock(path.join(store, STORE_LOCK_FILE), `key store ${displayPath(store)}`, fn, opts, () => [
    ...[recoverStore(store)].filter((l): l is string => l !== undefined),
    ...checkModes(store),
  ]);
}
