import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolders } from '../src/paths';

describe('makeFolders', () => {
  it('makes a folder and its missing parents with the mode asked, and accepts one that exists', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgen-folders-'));
    const deep = path.join(root, 'a', 'b', 'c');
    makeFolders(deep, 0o700);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    expect(fs.statSync(path.join(root, 'a')).mode & 0o777).toBe(0o700 & ~process.umask());
    makeFolders(deep);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('throws where a file stands in the path', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgen-folders-'));
    fs.writeFileSync(path.join(root, 'file'), '');
    expect(() => makeFolders(path.join(root, 'file', 'sub'))).toThrow(/ENOTDIR|EEXIST/);
    expect(() => makeFolders(path.join(root, 'file'))).toThrow(/EEXIST/);
    fs.rmSync(root, { recursive: true, force: true });
  });

  // Node's recursive mkdir retries forever there: mkdir answers ENOENT though /proc exists.
  it.runIf(fs.existsSync('/proc/self'))('fails at once under /proc instead of retrying forever', () => {
    expect(() => makeFolders('/proc/meshgen-no-such/dist')).toThrow(/ENOENT|EACCES|EPERM/);
  });
});
