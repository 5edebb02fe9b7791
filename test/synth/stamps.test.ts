/**
 * The output's stamp cache: a file whose stamp is unchanged is compared by
 * its recorded hash instead of read, and anything that changed a file (a
 * hand edit of the same size with its modification time set back included)
 * is seen; a file changed too recently to trust is not recorded; a broken
 * or unwritable cache only costs a read.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolders } from '../../src/paths';
import { MARKER_FILE, markerText, RenderedFolder } from '../../src/synth/render';
import { cacheRoot, contentHash, StampCache } from '../../src/synth/stamps';
import { OutputPlanner, writeOutput } from '../../src/synth/write';
import { tmpDir } from '../helpers';

function folder(name: string, content: string): RenderedFolder {
  return {
    name,
    mesh: 'mesh1',
    files: [
      { path: MARKER_FILE, content: markerText('mesh1'), mode: 0o644 },
      { path: 'a.yaml', content, mode: 0o644 },
    ],
  };
}

/** A cache that trusts every file, however recent: a test cannot wait for change times to age. */
function trusting(file: string): StampCache {
  return new StampCache({ file, racyMarginMs: -60_000 });
}

function examine(out: string, cacheFile: string, f: RenderedFolder): boolean {
  const planner = new OutputPlanner(out, new Map([[f.name, 'mesh1']]), trusting(cacheFile));
  const { changed } = planner.examine(f);
  planner.saveStamps();
  return changed;
}

function entries(cacheFile: string): Record<string, string> {
  return (JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { files: Record<string, string> }).files;
}

describe('the stamp cache of the output', () => {
  it('compares a file by its recorded hash once recorded, without reading it', async () => {
    const out = tmpDir();
    const cacheFile = path.join(tmpDir(), 'stamps.json');
    await writeOutput(out, [folder('c1', 'one\n')]);
    expect(examine(out, cacheFile, folder('c1', 'one\n'))).toBe(false);
    expect(Object.keys(entries(cacheFile)).sort()).toEqual([path.join('c1', MARKER_FILE), path.join('c1', 'a.yaml')]);
    expect(fs.statSync(cacheFile).mode & 0o777).toBe(0o600);

    // The recorded hash is what is compared: a wrong one makes the same bytes look changed, so the file was not read.
    const cached = entries(cacheFile);
    const key = path.join('c1', 'a.yaml');
    const [stamp] = cached[key].split(' ');
    fs.writeFileSync(cacheFile, JSON.stringify({ format: 'meshgen-output-stamps/v1', files: { ...cached, [key]: `${stamp} ${contentHash('two\n')}` } }));
    expect(examine(out, cacheFile, folder('c1', 'one\n'))).toBe(true);
    expect(examine(out, cacheFile, folder('c1', 'two\n'))).toBe(false);
  });

  it('sees a hand edit of the same size whose modification time was set back', async () => {
    const out = tmpDir();
    const cacheFile = path.join(tmpDir(), 'stamps.json');
    await writeOutput(out, [folder('c1', 'one\n')]);
    expect(examine(out, cacheFile, folder('c1', 'one\n'))).toBe(false);
    const file = path.join(out, 'c1', 'a.yaml');
    const before = fs.statSync(file, { bigint: true });
    const reference = path.join(tmpDir(), 'reference');
    fs.writeFileSync(reference, '');
    expect(spawnSync('touch', ['-r', file, reference]).status).toBe(0);
    fs.writeFileSync(file, 'two\n');
    // touch -r sets the modification time back to the nanosecond.
    expect(spawnSync('touch', ['-r', reference, file]).status).toBe(0);
    const after = fs.statSync(file, { bigint: true });
    expect([after.mtimeNs, after.size, after.ino]).toEqual([before.mtimeNs, before.size, before.ino]);
    expect(examine(out, cacheFile, folder('c1', 'one\n'))).toBe(true);
    expect(examine(out, cacheFile, folder('c1', 'two\n'))).toBe(false);
  });

  it('does not record a file changed too recently to trust its change time', async () => {
    const out = tmpDir();
    const cacheFile = path.join(tmpDir(), 'stamps.json');
    await writeOutput(out, [folder('c1', 'one\n')]);
    const planner = new OutputPlanner(out, new Map([['c1', 'mesh1']]), new StampCache({ file: cacheFile }));
    expect(planner.examine(folder('c1', 'one\n')).changed).toBe(false);
    planner.saveStamps();
    expect(fs.existsSync(cacheFile) ? entries(cacheFile) : {}).toEqual({});

    // The same files, read by a run that starts three seconds later, are old enough.
    const later = new StampCache({ file: cacheFile, now: () => Date.now() + 3_000 });
    const planner2 = new OutputPlanner(out, new Map([['c1', 'mesh1']]), later);
    expect(planner2.examine(folder('c1', 'one\n')).changed).toBe(false);
    planner2.saveStamps();
    expect(Object.keys(entries(cacheFile))).toHaveLength(2);
  });

  it('reads every file when the cache is broken, of another format, or cannot be written', async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'one\n')]);
    const cacheFile = path.join(tmpDir(), 'stamps.json');
    for (const text of ['{not json', JSON.stringify({ format: 'other', files: {} }), JSON.stringify({ format: 'meshgen-output-stamps/v1', files: { 'c1/a.yaml': 42 } })]) {
      fs.writeFileSync(cacheFile, text);
      expect(examine(out, cacheFile, folder('c1', 'one\n'))).toBe(false);
      expect(examine(out, cacheFile, folder('c1', 'two\n'))).toBe(true);
    }
    // Under /proc no folder can be made: the run goes on, only without a cache.
    if (fs.existsSync('/proc/self')) {
      expect(examine(out, '/proc/meshgen-none/stamps.json', folder('c1', 'one\n'))).toBe(false);
    }
  });

  it('lives in the cache folder of the machine, one file per output folder, never in the output', async () => {
    expect(cacheRoot({ MESHGEN_CACHE_DIR: '/x/c' })).toBe('/x/c');
    expect(cacheRoot({ XDG_CACHE_HOME: '/x/xdg' })).toBe(path.join('/x/xdg', 'meshgen'));
    expect(cacheRoot({ XDG_CACHE_HOME: 'relative' })).not.toContain('relative');
    const root = tmpDir();
    const out1 = tmpDir();
    const out2 = tmpDir();
    for (const out of [out1, out2]) {
      await writeOutput(out, [folder('c1', 'one\n')]);
      const planner = new OutputPlanner(out, new Map([['c1', 'mesh1']]), StampCache.forOutput(out, { MESHGEN_CACHE_DIR: root }, -60_000));
      planner.examine(folder('c1', 'one\n'));
      planner.saveStamps();
      expect(fs.readdirSync(out)).toEqual(['c1']);
    }
    expect(fs.readdirSync(path.join(root, 'output-stamps'))).toHaveLength(2);
  });

  it('removes cache files no run has rewritten for a month when it saves its own', async () => {
    const out = tmpDir();
    const dir = path.join(tmpDir(), 'output-stamps');
    makeFolders(dir);
    const old = path.join(dir, 'gone.json');
    const recent = path.join(dir, 'recent.json');
    for (const f of [old, recent]) fs.writeFileSync(f, '{}');
    const days = (n: number) => new Date(Date.now() - n * 24 * 3600 * 1000);
    fs.utimesSync(old, days(31), days(31));
    fs.utimesSync(recent, days(29), days(29));
    await writeOutput(out, [folder('c1', 'one\n')]);
    expect(examine(out, path.join(dir, 'mine.json'), folder('c1', 'one\n'))).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['mine.json', 'recent.json']);
  });
});

describe('makeFolders', () => {
  it('makes missing parents, accepts an existing folder, and fails at once where mkdir cannot', () => {
    const base = tmpDir();
    makeFolders(path.join(base, 'a', 'b', 'c'), 0o700);
    expect(fs.statSync(path.join(base, 'a', 'b', 'c')).isDirectory()).toBe(true);
    makeFolders(path.join(base, 'a', 'b'));
    fs.writeFileSync(path.join(base, 'file'), '');
    expect(() => makeFolders(path.join(base, 'file', 'x'))).toThrow(/ENOTDIR|EEXIST/);
    if (fs.existsSync('/proc/self')) {
      // Node's recursive mkdir retries this forever; a child process proves it returns.
      const script = `require(${JSON.stringify(path.resolve(__dirname, '../../lib/src/paths.js'))}).makeFolders('/proc/meshgen-none/x')`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
      expect(r.signal).toBeNull();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('ENOENT');
    }
  });
});
