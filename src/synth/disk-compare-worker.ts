/**
 * The worker thread of disk-compare: waits for the folders to read, then
 * takes a snapshot of each, in order, never more than `ahead` beyond the one
 * the main thread wants next, and hands each over on its port (the bytes
 * moved, not copied); then waits until the main thread stops it.
 */
import { workerData } from 'node:worker_threads';
import { ReadAheadData, ReadAheadReply, snapshotFolder } from './disk-compare';

const { port, signal, ahead } = workerData as ReadAheadData;

function readAhead(dirs: readonly string[]): void {
  for (let i = 0; i < dirs.length && Atomics.load(signal, 2) === 0; i++) {
    for (let wanted = Atomics.load(signal, 1); i >= wanted + ahead && Atomics.load(signal, 2) === 0; wanted = Atomics.load(signal, 1)) {
      Atomics.wait(signal, 1, wanted, 1000);
    }
    if (Atomics.load(signal, 2) !== 0) break;
    let reply: ReadAheadReply;
    try {
      reply = { index: i, snapshot: snapshotFolder(dirs[i]) };
    } catch {
      reply = { index: i, failed: true };
    }
    if ('snapshot' in reply) port.postMessage(reply, [reply.snapshot.data.buffer as ArrayBuffer]);
    else port.postMessage(reply);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  }
  // Ending the thread could drop replies not yet received: it waits to be stopped.
  while (Atomics.load(signal, 2) === 0) Atomics.wait(signal, 2, 0, 1000);
}

port.once('message', (message: { readonly dirs: readonly string[] }) => readAhead(message.dirs));
