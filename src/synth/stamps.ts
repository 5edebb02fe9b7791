/**
 * What the files of an output folder held when a run last read them, so a
 * run that renders the same bytes need not read them again: for each file,
 * its stamp (device, inode, size, mode, modification and change times) and
 * the SHA-256 of its content. A file whose stamp is unchanged holds the same
 * bytes, as git's index assumes: any write, rename, link or chmod moves its
 * change time, which no tool can set back. One exception is guarded against
 * as git does with "racily clean" entries: a file changed within the clock
 * tick of the read, so the change time does not move; a file whose change
 * time is not safely older than the read is not recorded and is read again
 * next time.
 *
 * The stamps are of this machine, never of the output: they live in the
 * user's cache folder (`$MESHGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/meshgen`,
 * else `~/.cache/meshgen`), one file per output folder, so nothing in the
 * committed output changes. A cache that is missing, unreadable, of another
 * format or not writable is only slower: every file is then read.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeFolders } from '../paths';

const FORMAT = 'meshgen-output-stamps/v1';

/** How much older than the read a file's change time must be to be trusted (coarse file-system clocks tick in up to 2 s). */
export const RACY_MARGIN_MS = 2_000;

/** The cache folder of meshgen on this machine, or undefined where it has none (no home). */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MESHGEN_CACHE_DIR) return path.resolve(env.MESHGEN_CACHE_DIR);
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'meshgen');
  const home = os.homedir();
  return home ? path.join(home, '.cache', 'meshgen') : undefined;
}

/** Options of StampCache. */
export interface StampCacheOptions {
  /** The cache file; undefined keeps nothing. */
  readonly file?: string;
  /** @default RACY_MARGIN_MS */
  readonly racyMarginMs?: number;
  /** The clock, in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** A file's stamp and the SHA-256 of its content, as the cache holds it. */
function stampOf(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mode}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The SHA-256 of `content`, as the cache holds it. */
export function contentHash(content: string): string {
  return createHash('sha256').update(content).digest('base64');
}

/** The stamps of one output folder's files: those read this run are kept, the others forgotten. */
export class StampCache {
  /** The cache of `outdir` in this machine's cache folder. */
  public static forOutput(outdir: string, env: NodeJS.ProcessEnv = process.env, racyMarginMs = RACY_MARGIN_MS): StampCache {
    const root = cacheRoot(env);
    if (root === undefined) return new StampCache({ racyMarginMs });
    let real: string;
    try {
      real = fs.realpathSync(outdir);
    } catch {
      real = path.resolve(outdir);
    }
    const id = createHash('sha256').update(real).digest('hex').slice(0, 32);
    return new StampCache({ file: path.join(root, 'output-stamps', `${id}.json`), racyMarginMs });
  }

  private readonly known: ReadonlyMap<string, string>;
  private readonly seen = new Map<string, string>();
  private readonly started: number;
  private changed = false;

  constructor(private readonly opts: StampCacheOptions) {
    this.known = opts.file ? readCache(opts.file) : new Map();
    this.started = (opts.now ?? Date.now)();
  }

  /** The SHA-256 of `file`'s content if its stamp `st` is the one recorded, else undefined (read the file). */
  public hashOf(file: string, st: fs.BigIntStats): string | undefined {
    const entry = this.known.get(file);
    if (entry === undefined) return undefined;
    const cut = entry.lastIndexOf(' ');
    if (entry.slice(0, cut) !== stampOf(st)) return undefined;
    this.keep(file, entry);
    return entry.slice(cut + 1);
  }

  /** Records that `file`, with stamp `st`, was read before this run's start and holds content of `hash`. */
  public record(file: string, st: fs.BigIntStats, hash: string): void {
    // A change in the same clock tick as the read would not move the change time: such a file is read again next time.
    if (Number(st.ctimeNs / 1_000_000n) >= this.started - (this.opts.racyMarginMs ?? RACY_MARGIN_MS)) return;
    this.keep(file, `${stampOf(st)} ${hash}`);
  }

  /** Writes the cache when it changed, atomically; a cache that cannot be written is left as it was. */
  public save(): void {
    const file = this.opts.file;
    if (!file || (!this.changed && this.seen.size === this.known.size)) return;
    try {
      makeFolders(path.dirname(file), 0o700);
      const tmp = `${file}.${randomBytes(6).toString('hex')}`;
      fs.writeFileSync(tmp, JSON.stringify({ format: FORMAT, files: Object.fromEntries(this.seen) }), { mode: 0o600, flag: 'wx' });
      fs.renameSync(tmp, file);
      pruneStale(path.dirname(file), (this.opts.now ?? Date.now)());
    } catch {
      // Only slower next time.
    }
  }

  private keep(file: string, entry: string): void {
    if (this.known.get(file) !== entry) this.changed = true;
    this.seen.set(file, entry);
  }
}

/** How long a cache file no run has rewritten is kept (a run that finds it gone only reads every file once). */
export const STALE_AFTER_MS = 30 * 24 * 3600 * 1000;

/** Removes cache files not rewritten for STALE_AFTER_MS: those of removed checkouts and temporary folders, and leftovers of killed saves. */
function pruneStale(dir: string, now: number): void {
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    const st = fs.lstatSync(file);
    if (st.isFile() && now - st.mtimeMs > STALE_AFTER_MS) fs.rmSync(file, { force: true });
  }
}

function readCache(file: string): Map<string, string> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: unknown; files?: unknown };
    if (parsed.format !== FORMAT || typeof parsed.files !== 'object' || parsed.files === null) return new Map();
    return new Map(Object.entries(parsed.files as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return new Map();
  }
}
