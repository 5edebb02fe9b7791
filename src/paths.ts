/**
 * Path and file helpers shared by every layer: how paths are shown to
 * users, whether one path lies inside another (links resolved), and
 * writing a file so that a crash never leaves half of it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Path as shown to the user: relative to the working folder when inside it. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** Absolute path with every existing part's symbolic links resolved; the rest is kept as written. */
export function realPath(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let head = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...rest);
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return abs;
      rest.unshift(path.basename(head));
      head = parent;
    }
  }
}

/** True when `child` is `parent` or lies below it, after resolving links. */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(realPath(parent), realPath(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Writes `content` to `file` with `mode` under a temporary name, then
 * renames it into place. Failures become `errorType` errors naming the file.
 */
export function writeFileAtomically(file: string, content: string, mode: number, errorType: new (message: string) => Error): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, content, { mode, flag: 'wx' });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new errorType(`cannot write ${displayPath(file)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Error codes of a file system that cannot open or fsync a folder, and of a folder that is gone (nothing in it to flush). */
const FSYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EPERM', 'ENOENT']);

/** fsyncs a folder, so that renames and new names in it survive a power loss. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    // Some file systems cannot fsync a folder (renames there are still atomic); any other failure, EIO above all, is one.
    if (!FSYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Makes `dir` and its missing parents, like `mkdir -p`, one level at a time.
 * Node's own `recursive: true` retries forever where mkdir answers ENOENT for
 * a folder whose parent exists (under /proc), so a mistyped path would hang
 * the run; here every level is tried once and the first error is thrown.
 */
export function makeFolders(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  if (missing.length === 0 && !fs.statSync(dir).isDirectory()) {
    throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${dir}'`), { code: 'EEXIST', path: dir });
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw err;
    }
  }
}
