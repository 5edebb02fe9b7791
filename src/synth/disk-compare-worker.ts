/**
 * The worker thread of disk-compare: waits for the folders to read, then
 * takes a snapshot of each, in order, holding no more than `aheadBytes` of
 * them beyond the one the main thread wants next (two folders at least),
 * and hands each over on its port (the bytes moved, not copied); then waits
 * until the main thread stops it.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ReadAheadData, ReadAheadRelease, ReadAheadReply, snapshotFolder } from './disk-compare';

const { port, signal, aheadBytes } = workerData as ReadAheadData;

/** Folders always read beyond the one wanted next, whatever their size. */
const MIN_AHEAD = 2;

/** Memory of snapshots the main thread gave back (FolderReadAhead.release), to read later folders into. */
const free: ArrayBuffer[] = [];

/**
 * Memory for a snapshot of `bytes`: the smallest given back that holds it,
 * else new memory a quarter larger, so that it fits the next folders too
 * (those of a fleet differ by a few files).
 */
function alloc(bytes: number): Uint8Array {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) free.push((m.message as ReadAheadRelease).release);
  let best = -1;
  for (let k = 0; k < free.length; k++) if (free[k].byteLength >= bytes && (best < 0 || free[k].byteLength < free[best].byteLength)) best = k;
  if (best >= 0) return new Uint8Array(free.splice(best, 1)[0], 0, bytes);
  return new Uint8Array(new ArrayBuffer(Math.ceil(bytes * 1.25)), 0, bytes);
}

function readAhead(dirs: readonly string[]): void {
  const sizes: number[] = [];
  // Bytes of the snapshots from the folder wanted next (`from`) to the last one sent.
  let from = 0;
  let held = 0;
  const waitForRoom = (i: number) => {
    for (;;) {
      const wanted = Atomics.load(signal, 1);
      for (; from < wanted && from < i; from++) held -= sizes[from];
      if (Atomics.load(signal, 2) !== 0 || i < wanted + MIN_AHEAD || held < aheadBytes) return;
      Atomics.wait(signal, 1, wanted, 1000);
    }
  };
  for (let i = 0; i < dirs.length && Atomics.load(signal, 2) === 0; i++) {
    waitForRoom(i);
    if (Atomics.load(signal, 2) !== 0) break;
    let reply: ReadAheadReply;
    try {
      reply = { index: i, snapshot: snapshotFolder(dirs[i], alloc) };
    } catch {
      reply = { index: i, failed: true };
    }
    sizes.push('snapshot' in reply ? reply.snapshot.data.byteLength : 0);
    held += sizes[i];
    if ('snapshot' in reply) port.postMessage(reply, [reply.snapshot.data.buffer as ArrayBuffer]);
    else port.postMessage(reply);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  }
  // Ending the thread could drop replies not yet received: it waits to be stopped.
  while (Atomics.load(signal, 2) === 0) Atomics.wait(signal, 2, 0, 1000);
}

port.once('message', (message: { readonly dirs: readonly string[] }) => readAhead(message.dirs));
