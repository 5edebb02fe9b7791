/**
 * The worker thread of disk-compare: compares the folders it is sent with
 * the disk, in the order sent, and answers each on the port it was given.
 */
import { MessagePort, workerData } from 'node:worker_threads';
import { CompareReply, CompareRequest, compareWithDisk } from './disk-compare';

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

port.on('message', (request: CompareRequest) => {
  let reply: CompareReply;
  try {
    const { equal, same } = compareWithDisk(request.dir, request.files);
    reply = { id: request.id, equal, same: [...same] };
  } catch {
    reply = { id: request.id, failed: true };
  }
  port.postMessage(reply);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
