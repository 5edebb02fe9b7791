/**
 * Whether an output folder on disk already holds exactly the files a run
 * rendered for it, which decides whether synth writes the folder at all.
 *
 * A fleet's synth would spend much of its time here, in the system calls
 * that read tens of thousands of files back. So a run with many folders
 * reads them ahead on a worker thread (disk-compare-worker), from the moment
 * it holds the output's lock, while the main thread loads the key store and
 * renders: FolderReadAhead gives each folder's snapshot (every file with its
 * mode and bytes) when the main thread gets to it, and the comparison itself,
 * a few memory compares, runs on the main thread. Without a worker, the main
 * thread takes the same snapshot itself: one comparison either way.
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
  /** The folder's entries that are not folders (files, links, …), by path; undefined when there is no folder. */
  readonly onDisk?: readonly string[];
}

/** One entry below a snapshot's folder (anything but a folder). */
export interface SnapshotEntry {
  /** Path in the folder, with `/`. */
  readonly path: string;
  /** Permission bits. */
  readonly mode: number;
  /** Where its bytes start in the snapshot's data; -1 when it is not a regular file or could not be read whole. */
  readonly start: number;
  readonly size: number;
}

/** Everything a folder on disk holds, read at one time: entries, modes and the bytes of its files, in one buffer. */
export interface FolderSnapshot {
  /** False when the folder does not exist or cannot be listed. */
  readonly exists: boolean;
  readonly entries: readonly SnapshotEntry[];
  readonly data: Uint8Array;
}

/** Files larger than this are not read: no rendered file comes near it, so such a file differs anyway. */
const MAX_FILE_BYTES = 64 << 20;

/** Reads every entry below `dir`, with the bytes of its regular files, into memory from `alloc` (a new array by default). */
export function snapshotFolder(dir: string, alloc: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes)): FolderSnapshot {
  const found: { path: string; mode: number; size: number; file: boolean }[] = [];
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(rel ? path.join(dir, rel) : dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        visit(r);
        continue;
      }
      try {
        const st = fs.lstatSync(path.join(dir, r));
        found.push({ path: r, mode: st.mode & 0o777, size: st.size, file: st.isFile() && st.size <= MAX_FILE_BYTES });
      } catch {
        found.push({ path: r, mode: 0, size: 0, file: false });
      }
    }
  };
  try {
    visit('');
  } catch {
    return { exists: false, entries: [], data: new Uint8Array(0) };
  }
  // Each file gets one byte more than lstat's size: one read that fills it shows that the file grew since, and differs.
  const data = alloc(found.reduce((n, f) => (f.file ? n + f.size + 1 : n), 0));
  let offset = 0;
  const entries = found.map((f): SnapshotEntry => {
    if (!f.file) return { path: f.path, mode: f.mode, start: -1, size: 0 };
    const start = offset;
    offset += f.size + 1;
    return { path: f.path, mode: f.mode, start: readWhole(path.join(dir, f.path), data, start, f.size) ? start : -1, size: f.size };
  });
  touchPages(data);
  return { exists: true, entries, data };
}

/**
 * Reads one byte of every page of `data`. The first access to a page of new
 * memory costs a page fault's time (up to 15 µs on a virtual machine), and
 * read(2) filling it pays only part of that: taken here, on the thread that
 * reads ahead, the rest is off the main thread, whose comparison then runs
 * at memory speed.
 */
function touchPages(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 4096) sum += data[i];
  return sum;
}

/** Reads the file `full`, of `size` bytes by its lstat, into `data` at `start`; false when it cannot, or is no longer that size. */
function readWhole(full: string, data: Uint8Array, start: number, size: number): boolean {
  let fd: number;
  try {
    fd = fs.openSync(full, 'r');
  } catch {
    return false;
  }
  try {
    // One read is the rule (a regular file's read gives less than asked only at its end); more only if it fell short.
    let read = 0;
    let n: number;
    do {
      n = fs.readSync(fd, data, start + read, size + 1 - read, read);
      read += n;
    } while (n > 0 && read < size);
    return read === size;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** A buffer that compareSnapshot() reuses, grown as needed: a fleet's files are compared without a buffer each. */
let expected = Buffer.alloc(1 << 16);

/**
 * Which of `files` the snapshot holds, with their content and mode, and
 * whether it holds exactly those and nothing else.
 */
export function compareSnapshot(snapshot: FolderSnapshot, files: readonly ExpectedFile[]): DiskComparison {
  const same = new Set<string>();
  if (!snapshot.exists) return { equal: false, same };
  const entries = new Map(snapshot.entries.map((e) => [e.path, e]));
  const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength);
  for (const file of files) {
    const e = entries.get(file.path);
    if (!e || e.start < 0 || e.mode !== file.mode || Buffer.byteLength(file.content) !== e.size) continue;
    if (expected.length < e.size) expected = Buffer.alloc(2 * e.size);
    expected.write(file.content, 'utf8');
    if (data.compare(expected, 0, e.size, e.start, e.start + e.size) === 0) same.add(file.path);
  }
  return { equal: snapshot.entries.length === files.length && same.size === files.length, same, onDisk: snapshot.entries.map((e) => e.path) };
}

/** What a diff shows for an entry that is not a regular file it could read: never what a link points to, never a wait on a pipe. */
export const UNREADABLE_ENTRY = '<not a regular file meshgen could read>\n';

/** The text of every file of a snapshot, by path; an entry that is no regular file, or could not be read, is UNREADABLE_ENTRY. */
export function snapshotTexts(snapshot: FolderSnapshot): Map<string, string> {
  const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength);
  return new Map(snapshot.entries.map((e) => [e.path, e.start >= 0 ? data.toString('utf8', e.start, e.start + e.size) : UNREADABLE_ENTRY]));
}

/** Which of `files` the folder `dir` already holds, read now on this thread. */
export function compareWithDisk(dir: string, files: readonly ExpectedFile[]): DiskComparison {
  return compareSnapshot(snapshotFolder(dir), files);
}

/** What the worker is given when it starts; the folders to read come later, in a message. */
export interface ReadAheadData {
  readonly port: MessagePort;
  /** [0]: replies sent; [1]: index of the folder the main thread wants next; [2]: 1 once the main thread stops. */
  readonly signal: Int32Array;
  /** Bytes of snapshots the worker holds out beyond the folder wanted next, at most: it reads on while below, and always two folders ahead. */
  readonly aheadBytes: number;
}

/** What the main thread sends the worker after the folders: memory of a snapshot it is done with. */
export interface ReadAheadRelease {
  readonly release: ArrayBuffer;
}

/** The worker's reply for `dirs[index]`: its snapshot, or `failed` when it could not take one (the main thread then reads itself). */
export type ReadAheadReply = { readonly index: number; readonly snapshot: FolderSnapshot } | { readonly index: number; readonly failed: true };

/** The compiled worker script; absent when meshgen runs from its TypeScript sources (tests), which then read on the main thread. */
const WORKER_SCRIPT = path.join(__dirname, 'disk-compare-worker.js');

/**
 * Bytes read beyond the folder the main thread wants next: enough to keep
 * the worker busy (forty folders of a 100-cluster fleet), few enough that
 * memory does not grow with the fleet (a dozen folders of a 300-cluster one).
 */
const READ_AHEAD_BYTES = 16 << 20;

/** From how many folders a run reads them on a worker thread: below, starting one costs more than it saves. */
export const READ_AHEAD_FROM = 16;

/** A worker thread started, waiting for the folders to read. */
interface Reader {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly signal: Int32Array;
}

/** A reader started by warmUpReadAhead() for the next FolderReadAhead. */
let spare: Reader | undefined;

function startReader(): Reader | undefined {
  if (!fs.existsSync(WORKER_SCRIPT)) return undefined;
  try {
    const signal = new Int32Array(new SharedArrayBuffer(12));
    const { port1, port2 } = new MessageChannel();
    const workerData: ReadAheadData = { port: port2, signal, aheadBytes: READ_AHEAD_BYTES };
    // No flags of the main thread (a --require of the command line would load its modules again): the worker needs none.
    const worker = new Worker(WORKER_SCRIPT, { workerData, transferList: [port2], execArgv: [] });
    // Never what keeps the process alive: the main thread waits for the replies it wants itself.
    worker.unref();
    port1.unref();
    return { worker, port: port1, signal };
  } catch {
    return undefined;
  }
}

/**
 * Starts the worker of the run's FolderReadAhead now, when a run of
 * `folders` folders into the existing `outdir` will want one: it then
 * starts up while the main thread still loads the renderer and the key
 * store, instead of after. It reads nothing until it is given the folders,
 * under the output's lock.
 */
export function warmUpReadAhead(outdir: string, folders: number): void {
  if (spare === undefined && folders >= READ_AHEAD_FROM && fs.existsSync(outdir)) spare = startReader();
}

/**
 * Folders read on a worker thread, in a given order, a few ahead of the
 * main thread, so that their system calls run beside the main thread's
 * work. Call take() for each folder in that order; close() at the end.
 */
export class FolderReadAhead {
  private readonly index = new Map<string, number>();
  private readonly replies = new Map<number, ReadAheadReply>();

  private constructor(
    dirs: readonly string[],
    private readonly port: MessagePort,
    private readonly signal: Int32Array,
    private worker: Worker | undefined,
  ) {
    dirs.forEach((d, i) => this.index.set(d, i));
  }

  /** Starts reading `dirs` on a worker (the one warmUpReadAhead() started, if any); undefined where no worker can run. */
  public static start(dirs: readonly string[]): FolderReadAhead | undefined {
    const reader = spare ?? startReader();
    spare = undefined;
    if (!reader) return undefined;
    reader.port.postMessage({ dirs });
    return new FolderReadAhead(dirs, reader.port, reader.signal, reader.worker);
  }

  /**
   * The snapshot of `dir`, waited for; undefined when `dir` is not one of
   * the folders read ahead, was taken already, or the worker failed (the
   * caller then reads it itself). Folders before it that were never taken
   * are let go.
   */
  public take(dir: string): FolderSnapshot | undefined {
    const i = this.index.get(dir);
    if (i === undefined || !this.worker) return undefined;
    this.index.delete(dir);
    // One before a folder already taken was let go.
    if (i < Atomics.load(this.signal, 1)) return undefined;
    Atomics.store(this.signal, 1, i);
    Atomics.notify(this.signal, 1);
    for (const k of this.replies.keys()) if (k < i) this.replies.delete(k);
    let waited = 0;
    while (!this.replies.has(i)) {
      const seen = Atomics.load(this.signal, 0);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as ReadAheadReply;
        if (reply.index >= i) this.replies.set(reply.index, reply);
      }
      if (this.replies.has(i)) break;
      // A worker that stopped answering (it died) is given up on after a minute: the main thread reads itself.
      if (Atomics.wait(this.signal, 0, seen, 1000) === 'timed-out' && ++waited >= 60) {
        this.close();
        return undefined;
      }
    }
    const reply = this.replies.get(i) as ReadAheadReply;
    this.replies.delete(i);
    return 'failed' in reply ? undefined : reply.snapshot;
  }

  /**
   * Gives the memory of a snapshot that take() returned back to the worker,
   * which reads later folders into it: memory used again costs no page
   * faults, which on a virtual machine cost as much as reading the files.
   * The snapshot must not be used after.
   */
  public release(snapshot: FolderSnapshot): void {
    const buffer = snapshot.data.buffer;
    if (!this.worker || snapshot.data.byteLength === 0 || !(buffer instanceof ArrayBuffer)) return;
    this.port.postMessage({ release: buffer } satisfies ReadAheadRelease, [buffer]);
  }

  /** Stops the worker; take() then gives nothing. */
  public close(): void {
    Atomics.store(this.signal, 2, 1);
    Atomics.notify(this.signal, 1);
    Atomics.notify(this.signal, 2);
    void this.worker?.terminate();
    this.worker = undefined;
    this.replies.clear();
  }
}
