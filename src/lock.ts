/**
 * One writer at a time, for a key store or an output folder: a lock file
 * made with O_EXCL that records who holds it (pid, host, the process's
 * start, the command). A second run waits for it, up to a bounded time,
 * saying once what it waits for; a lock whose process is gone (killed,
 * crashed, a closed laptop) is taken over with a one-line note. Locks are
 * reentrant within a process, so a synth that holds its key stores' locks
 * can call the key store functions that take them too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MeshgenError } from './errors';
import { displayPath, makeFolders } from './paths';

/** How long a run waits for a lock unless told otherwise. */
export const DEFAULT_LOCK_TIMEOUT_MS = 180_000;

/** Options of withLock(). */
export interface LockOptions {
  /**
   * How long to wait for another run's lock before failing.
   * @default DEFAULT_LOCK_TIMEOUT_MS
   */
  readonly timeoutMs?: number;
  /**
   * Told one line when the run waits, or takes over a dead run's lock.
   * @default - nothing is said
   */
  readonly onNote?: (line: string) => void;
}

/** Who holds a lock, as its file records. */
interface Holder {
  readonly pid: number;
  readonly host: string;
  /** When the process started (ms since the epoch, from /proc where there is one), so a reused pid is not taken for the holder. */
  readonly processStart?: number;
  readonly since: string;
  readonly command: string;
}

/** A lock that could not be taken. */
export class LockError extends MeshgenError {}

const held = new Map<string, number>();

/** Start time of process `pid` in ms since the epoch, where /proc tells it (Linux); undefined elsewhere. */
function processStart(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    // Clock ticks are 100 per second on every Linux Node runs on; rounded to the second, the value is stable.
    return Math.round((Date.now() / 1000 - uptime + ticks / 100)) * 1000;
  } catch {
    return undefined;
  }
}

/** True when the process that `holder` names is gone: same host, and its pid is not running (or runs another process now). */
function isDead(holder: Holder): boolean {
  if (holder.host !== os.hostname()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (holder.processStart === undefined) return false;
  const start = processStart(holder.pid);
  return start !== undefined && Math.abs(start - holder.processStart) > 2000;
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return undefined;
    return { pid: h.pid, host: h.host, processStart: h.processStart, since: String(h.since ?? ''), command: String(h.command ?? '') };
  } catch {
    return undefined;
  }
}

function describeHolder(h: Holder | undefined): string {
  return h ? `pid ${h.pid} on ${h.host}, since ${h.since}${h.command ? ` (${h.command})` : ''}` : 'a run whose lock file cannot be read';
}

/**
 * Creates `file` for this process alone. Its folder may have gone while
 * this run waited (a run that made a new output folder removes it when it
 * wrote nothing): it is made again, as the run that waited would have.
 */
function openExclusive(file: string): number {
  try {
    return fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    makeFolders(path.dirname(file));
    return fs.openSync(file, 'wx', 0o600);
  }
}

/** Tries once to create the lock file; true when this process now holds it. */
function tryCreate(file: string): boolean {
  const me: Holder = {
    pid: process.pid,
    host: os.hostname(),
    processStart: processStart(process.pid),
    since: new Date().toISOString(),
    command: process.argv.slice(2, 4).join(' '),
  };
  let fd: number;
  try {
    fd = openExclusive(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LockError(`cannot take the lock ${displayPath(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, [
      { file: displayPath(file), message: 'cannot be created', fix: 'check the permissions of its folder' },
    ]);
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(me)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** A lock file that says nothing (its run was killed between creating and writing it) and is older than this is abandoned. */
function isAbandoned(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > STALE_TAKEOVER_MS;
  } catch {
    return false;
  }
}

/** A takeover that its run left behind (it was killed in the few microseconds it takes) is this old, at least. */
const STALE_TAKEOVER_MS = 10_000;

/**
 * Removes the lock of a dead run, if it is still that run's: under a short
 * second lock, so that of two runs that saw it at once only one removes it,
 * and never the lock a third run has made since.
 */
function takeOver(file: string, seen: Holder | undefined): boolean {
  const guard = `${file}.takeover`;
  try {
    fs.closeSync(fs.openSync(guard, 'wx', 0o600));
  } catch {
    try {
      if (Date.now() - fs.statSync(guard).mtimeMs > STALE_TAKEOVER_MS) fs.rmSync(guard, { force: true });
    } catch {
      // Gone already.
    }
    return false;
  }
  try {
    const now = readHolder(file);
    const same = seen === undefined ? now === undefined && isAbandoned(file) : now !== undefined && now.pid === seen.pid && now.since === seen.since && isDead(now);
    if (!same) return false;
    fs.rmSync(file, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/**
 * Runs `fn` holding the lock file `file` (whose folder must exist), then
 * removes it. Waits for another run's lock; takes over a dead run's. Once
 * the lock is taken, `recover` (when given) repairs what an interrupted
 * run left; each line it returns is said.
 */
export async function withLock<T>(file: string, what: string, fn: () => Promise<T>, opts: LockOptions = {}, recover?: () => readonly string[]): Promise<T> {
  const key = path.resolve(file);
  const count = held.get(key) ?? 0;
  if (count > 0) {
    held.set(key, count + 1);
    try {
      return await fn();
    } finally {
      held.set(key, (held.get(key) ?? 1) - 1);
    }
  }
  const timeout = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const started = Date.now();
  let waited = false;
  let delay = 50;
  for (;;) {
    if (tryCreate(file)) break;
    const holder = readHolder(file);
    if ((holder ? isDead(holder) : isAbandoned(file)) && takeOver(file, holder)) {
      opts.onNote?.(`took over the lock of ${what} from a run that is gone (${describeHolder(holder)})`);
      continue;
    }
    if (Date.now() - started >= timeout) {
      throw new LockError(`${what} is locked by another meshgen run (${describeHolder(holder)})`, [
        {
          file: displayPath(file),
          message: `was still held after ${Math.round(timeout / 1000)} s`,
          fix:
            holder && holder.host !== os.hostname()
              ? `wait for that run on ${holder.host} to end; if it is gone, remove ${displayPath(file)}`
              : 'wait for that run to end, or give it more time with --lock-timeout <seconds>',
        },
      ]);
    }
    if (!waited) {
      waited = true;
      opts.onNote?.(`waiting for ${what}, locked by ${describeHolder(holder)}…`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 500);
  }
  held.set(key, 1);
  try {
    for (const line of recover?.() ?? []) opts.onNote?.(line);
    return await fn();
  } finally {
    held.delete(key);
    try {
      fs.rmSync(file, { force: true });
    } catch (err) {
      // Not what the run did: its result or error stands, and the next run takes the lock over once this process is gone.
      opts.onNote?.(`could not remove the lock ${displayPath(file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the next run takes it over`);
    }
  }
}
