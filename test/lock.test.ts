/** Lock files: made where their folder went meanwhile, and a lock that cannot be removed never hides what the run did. */
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withLock } from '../src/lock';
import { tmpDir } from './helpers';

const fsCjs = createRequire(__filename)('node:fs') as typeof fs;
const realRm = fsCjs.rmSync;

afterEach(() => {
  fsCjs.rmSync = realRm;
  syncBuiltinESMExports();
});

describe('withLock', () => {
  it('makes the folder of its lock file again when it is gone (a run that made an empty output folder removes it)', async () => {
    const file = path.join(tmpDir(), 'gone', 'again', '.meshgen-lock');
    expect(await withLock(file, 'the test folder', async () => (fs.existsSync(file) ? 'held' : 'not held'))).toBe('held');
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(path.dirname(file))).toBe(true);
  });

  it("keeps the run's result or error when its lock file cannot be removed, and says so", async () => {
    const file = path.join(tmpDir(), '.meshgen-lock');
    fsCjs.rmSync = ((p: fs.PathLike, o?: fs.RmOptions) => {
      if (String(p) === file) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      return realRm(p, o);
    }) as typeof fs.rmSync;
    syncBuiltinESMExports();
    const notes: string[] = [];
    expect(await withLock(file, 'the test folder', async () => 'done', { onNote: (l) => notes.push(l) })).toBe('done');
    fs.unlinkSync(file);
    await expect(withLock(file, 'the test folder', async () => Promise.reject(new Error('the real error')), { onNote: (l) => notes.push(l) })).rejects.toThrow('the real error');
    expect(notes).toEqual([expect.stringMatching(/^could not remove the lock .*\.meshgen-lock \(EIO\); the next run takes it over$/), expect.stringMatching(/^could not remove the lock/)]);
  });
});
