/**
 * Whether an output folder on disk already holds exactly the files a run
 * rendered for it, which decides whether synth writes the folder at all.
 *
 * A fleet's no-change synth spends much of its time here, in the system
 * calls that read tens of thousands of files back; so a run with many
 * folders compares each folder on a worker thread (disk-compare-worker)
 * while the main thread renders the next one (compareAhead, then
 * comparedAhead). Both sides run the same compareWithDisk().
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

/** A file as the comparison needs it: path in the folder, text and mode. */
export interface ExpectedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** What the disk holds of a folder. */
export interface DiskComparison {
  /** The folder holds exactly the files, with their content and mode, and nothing else. */
  readonly equal: boolean;
  /** Paths of the files the folder holds as they are. */
  readonly same: ReadonlySet<string>;
}

/**
 * Which of `files` the folder `dir` already holds, with their content and
 * mode, and whether it holds exactly those and nothing else.
 */
export function compareWithDisk(dir: string, files: readonly ExpectedFile[]): DiskComparison {
  const same = new Set<string>();
  let count = 0;
  const countFiles = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) countFiles(path.join(d, e.name));
      else count++;
    }
  };
  try {
    countFiles(dir);
  } catch {
    return { equal: false, same };
  }
  for (const file of files) {
    const full = path.join(dir, file.path);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(full);
    } catch {
      continue;
    }
    if (!st.isFile() || (st.mode & 0o777) !== file.mode) continue;
    if (holdsText(full, st.size, file.content)) same.add(file.path);
  }
  return { equal: count === files.length && same.size === files.length, same };
}

/** Buffers that holdsText() reuses, grown as needed: a fleet's files are compared without a buffer or string each. */
let expected = Buffer.alloc(1 << 16);
let actual = Buffer.alloc(1 << 16);

/** Whether the file `full`, of `size` bytes by its lstat, holds exactly `content` (as UTF-8). */
function holdsText(full: string, size: number, content: string): boolean {
  if (Buffer.byteLength(content) !== size) return false;
  if (expected.length <= size) {
    expected = Buffer.alloc(2 * (size + 1));
    actual = Buffer.alloc(2 * (size + 1));
  }
  expected.write(content, 'utf8');
  let fd: number;
  try {
    fd = fs.openSync(full, 'r');
  } catch {
    return false;
  }
  try {
    // Asked for one byte more than lstat's size: a file that grew since gives it, and differs. One read is
    // the rule (a regular file's read gives less than asked only at its end); more only if it fell short.
    let read = 0;
    let n: number;
    do {
      n = fs.readSync(fd, actual, read, size + 1 - read, read);
      read += n;
    } while (n > 0 && read < size);
    return read === size && actual.compare(expected, 0, size, 0, size) === 0;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** A request to the worker. */
export interface CompareRequest {
  readonly id: number;
  readonly dir: string;
  readonly files: readonly ExpectedFile[];
}

/** The worker's answer: the comparison, or `failed` when it could not make one (the main thread then compares itself). */
export type CompareReply = { readonly id: number; readonly equal: boolean; readonly same: readonly string[] } | { readonly id: number; readonly failed: true };

/** The compiled worker script; absent when meshgen runs from its TypeScript sources (tests), which then compare on the main thread. */
const WORKER_SCRIPT = path.join(__dirname, 'disk-compare-worker.js');

/** The worker of this process, started by the first compareAhead(). */
let comparer: { readonly port: MessagePort; readonly signal: Int32Array; nextId: number; readonly replies: Map<number, CompareReply> } | undefined | null;

/** Comparisons started ahead, by folder: the folder `dir` they compare and their request id. */
const started = new WeakMap<object, { readonly dir: string; readonly id: number }>();

function startComparer(): typeof comparer {
  if (comparer !== undefined) return comparer;
  comparer = null;
  if (!fs.existsSync(WORKER_SCRIPT)) return comparer;
  try {
    // The worker adds one to signal[0] after each reply, so that the main thread can sleep until one comes.
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SCRIPT, { workerData: { port: port2, signal }, transferList: [port2] });
    // Never what keeps the process alive: the main thread waits for the replies it wants itself.
    worker.unref();
    port1.unref();
    comparer = { port: port1, signal, nextId: 0, replies: new Map() };
  } catch {
    comparer = null;
  }
  return comparer;
}

/**
 * Starts comparing `files` of `folder` with the folder `dir` on the
 * worker thread; comparedAhead() collects the result. Does nothing where
 * no worker can run.
 */
export function compareAhead(dir: string, folder: object, files: readonly ExpectedFile[]): void {
  const c = startComparer();
  if (!c) return;
  const id = c.nextId++;
  const request: CompareRequest = { id, dir, files };
  c.port.postMessage(request);
  started.set(folder, { dir, id });
}

/**
 * The comparison compareAhead() started for `folder` with `dir`, waited
 * for; undefined when none was started (or the worker failed), so that the
 * caller compares itself.
 */
export function comparedAhead(dir: string, folder: object): DiskComparison | undefined {
  const start = started.get(folder);
  if (!start || !comparer) return undefined;
  started.delete(folder);
  const c = comparer;
  let waited = 0;
  while (!c.replies.has(start.id)) {
    const seen = Atomics.load(c.signal, 0);
    for (let m = receiveMessageOnPort(c.port); m; m = receiveMessageOnPort(c.port)) {
      const reply = m.message as CompareReply;
      c.replies.set(reply.id, reply);
    }
    if (c.replies.has(start.id)) break;
    // A worker that stopped answering (it died) is given up on after a minute: the main thread compares itself.
    if (Atomics.wait(c.signal, 0, seen, 1000) === 'timed-out' && ++waited >= 60) {
      comparer = null;
      return undefined;
    }
  }
  const reply = c.replies.get(start.id) as CompareReply;
  c.replies.delete(start.id);
  if ('failed' in reply || start.dir !== dir) return undefined;
  return { equal: reply.equal, same: new Set(reply.same) };
}
