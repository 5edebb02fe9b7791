/**
 * The comparison of a rendered folder with the disk, and the worker that
 * reads a fleet's folders ahead of the main thread (built lib only: the
 * TypeScript sources have no worker script).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareSnapshot, compareWithDisk, ExpectedFile, snapshotFolder } from '../../src/synth/disk-compare';
import { REPO, tmpDir } from '../helpers';

const FILES: ExpectedFile[] = [
  { path: 'kustomization.yaml', content: 'resources:\n  - a.yaml\n', mode: 0o644 },
  { path: 'secret.yaml', content: 'kind: Secret\ndata: {k: dg==}\n', mode: 0o600 },
  { path: 'flux/ks.yaml', content: 'kind: Kustomization\n', mode: 0o644 },
  { path: 'README.md', content: '# ünïcode\n', mode: 0o644 },
];

function folder(files: readonly ExpectedFile[] = FILES): string {
  const dir = path.join(tmpDir(), 'c1');
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, f.path), f.content, { mode: f.mode });
    fs.chmodSync(path.join(dir, f.path), f.mode);
  }
  return dir;
}

describe('comparing a folder with the disk', () => {
  it('finds a folder that holds exactly the rendered files equal, sub-folders and multi-byte text included', () => {
    const paths = FILES.map((f) => f.path);
    const found = compareWithDisk(folder(), FILES);
    expect(found).toEqual({ equal: true, same: new Set(paths), onDisk: expect.any(Array) });
    expect([...(found.onDisk ?? [])].sort()).toEqual([...paths].sort());
  });

  it('tells each kind of difference, and which files are still the same', () => {
    const others = new Set(FILES.slice(1).map((f) => f.path));
    const cases: [string, (dir: string) => void][] = [
      ['content of the same size', (d) => fs.writeFileSync(path.join(d, 'kustomization.yaml'), 'resources:\n  - b.yaml\n')],
      ['content of another size', (d) => fs.appendFileSync(path.join(d, 'kustomization.yaml'), '#\n')],
      ['mode', (d) => fs.chmodSync(path.join(d, 'kustomization.yaml'), 0o600)],
      ['a symbolic link in its place', (d) => { fs.rmSync(path.join(d, 'kustomization.yaml')); fs.symlinkSync('README.md', path.join(d, 'kustomization.yaml')); }],
      ['a folder in its place', (d) => { fs.rmSync(path.join(d, 'kustomization.yaml')); fs.mkdirSync(path.join(d, 'kustomization.yaml')); }],
      ['missing', (d) => fs.rmSync(path.join(d, 'kustomization.yaml'))],
    ];
    for (const [what, change] of cases) {
      const dir = folder();
      change(dir);
      const found = compareWithDisk(dir, FILES);
      expect({ equal: found.equal, same: found.same }, what).toEqual({ equal: false, same: others });
      // What the disk holds there, unless a folder (whose files would be listed) or nothing.
      expect(found.onDisk?.includes('kustomization.yaml'), what).toBe(!['a folder in its place', 'missing'].includes(what));
    }
  });

  it('finds a folder with a file more, or none at all, different', () => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'flux', 'extra.yaml'), 'x\n');
    const found = compareWithDisk(dir, FILES);
    expect({ equal: found.equal, same: found.same }).toEqual({ equal: false, same: new Set(FILES.map((f) => f.path)) });
    expect(found.onDisk).toContain('flux/extra.yaml');
    // No folder: nothing on disk, not an empty folder.
    expect(compareWithDisk(path.join(tmpDir(), 'absent'), FILES)).toEqual({ equal: false, same: new Set() });
  });

  it('gives the same answer from a snapshot taken before the comparison', () => {
    const dir = folder();
    const snapshot = snapshotFolder(dir);
    expect(snapshot.entries.map((e) => e.path).sort()).toEqual(FILES.map((f) => f.path).sort());
    expect(compareSnapshot(snapshot, FILES).equal).toBe(true);
    expect(compareSnapshot(snapshot, [...FILES.slice(1), { ...FILES[0], content: 'other' }]).same.has(FILES[0].path)).toBe(false);
  });
});

const BUILT = path.join(REPO, 'lib', 'src', 'synth', 'disk-compare.js');

describe.skipIf(!fs.existsSync(BUILT))('reading folders ahead on a worker thread', () => {
  it('gives each folder as the main thread reads it, in order, skipping those never asked for, and nothing once closed', async () => {
    const built = (await import(BUILT)) as typeof import('../../src/synth/disk-compare');
    const root = tmpDir();
    const dirs = Array.from({ length: 40 }, (_, i) => path.join(root, `c${i}`));
    dirs.forEach((d, i) => {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'a.yaml'), `n: ${i}\n`);
      if (i % 3 === 0) fs.writeFileSync(path.join(d, 'b.yaml'), 'x'.repeat(100_000 + i), { mode: 0o600 });
    });
    // Started before the folders are known, as a fleet's synth does once it has read the topology.
    built.warmUpReadAhead(root, dirs.length);
    const ahead = built.FolderReadAhead.start([...dirs, path.join(root, 'absent')]);
    expect(ahead).toBeDefined();
    const reader = ahead as NonNullable<typeof ahead>;
    expect(reader.take(path.join(root, 'elsewhere'))).toBeUndefined();
    for (const [i, d] of dirs.entries()) {
      if (i % 7 === 3) continue;
      const snapshot = reader.take(d);
      expect(snapshot, d).toBeDefined();
      const files = [{ path: 'a.yaml', content: `n: ${i}\n`, mode: 0o644 }, ...(i % 3 === 0 ? [{ path: 'b.yaml', content: 'x'.repeat(100_000 + i), mode: 0o600 }] : [])];
      expect(built.compareSnapshot(snapshot as NonNullable<typeof snapshot>, files), d).toMatchObject({ equal: true, same: new Set(files.map((f) => f.path)) });
    }
    // Asked for twice, or after a later one: read by the caller instead.
    expect(reader.take(dirs[39])).toBeUndefined();
    expect(reader.take(dirs[3])).toBeUndefined();
    expect(reader.take(path.join(root, 'absent'))).toEqual({ exists: false, entries: [], data: new Uint8Array(0) });
    reader.close();
    const again = built.FolderReadAhead.start(dirs) as NonNullable<typeof ahead>;
    again.close();
    expect(again.take(dirs[0])).toBeUndefined();
  });

  it('reads later folders into the memory given back, each still whole', async () => {
    const built = (await import(BUILT)) as typeof import('../../src/synth/disk-compare');
    const root = tmpDir();
    // Folders of sizes that go up and down, so that memory given back is used for smaller and larger ones; about 30 MB
    // in all, more than the worker may read ahead, so that it must wait for memory to come back.
    const content = (i: number) => `n: ${i}\n${'y'.repeat(((i * 7919) % 13) * 80_000)}`;
    const dirs = Array.from({ length: 60 }, (_, i) => path.join(root, `c${i}`));
    dirs.forEach((d, i) => {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'a.yaml'), content(i));
    });
    const reader = built.FolderReadAhead.start(dirs) as NonNullable<ReturnType<typeof built.FolderReadAhead.start>>;
    let reused = 0;
    for (const [i, d] of dirs.entries()) {
      const snapshot = reader.take(d) as NonNullable<ReturnType<typeof reader.take>>;
      const buffer = new Uint8Array(snapshot.data.buffer);
      // Memory given back keeps what was written past the snapshot: its last byte, where a later snapshot that fits does not reach.
      if (buffer.length > snapshot.data.byteLength && buffer[buffer.length - 1] === 0xab) reused++;
      expect(built.compareSnapshot(snapshot, [{ path: 'a.yaml', content: content(i), mode: 0o644 }]).equal, d).toBe(true);
      buffer.fill(0xab, snapshot.data.byteLength);
      reader.release(snapshot);
      expect(snapshot.data.byteLength, 'given back: no longer usable here').toBe(0);
    }
    reader.close();
    expect(reused).toBeGreaterThan(10);
  });
});

describe('the texts of a snapshot, as diff shows them', () => {
  it('gives a placeholder for what is not a regular file, never the text a link points to', async () => {
    const { snapshotTexts, UNREADABLE_ENTRY } = await import('../../src/synth/disk-compare');
    const dir = folder();
    const secret = path.join(tmpDir(), 'token');
    fs.writeFileSync(secret, 'not-for-a-diff-token\n');
    fs.symlinkSync(secret, path.join(dir, 'linked.yaml'));
    const texts = snapshotTexts(snapshotFolder(dir));
    expect(texts.get('linked.yaml')).toBe(UNREADABLE_ENTRY);
    expect(texts.get('README.md')).toBe('# ünïcode\n');
    expect([...texts.values()].join('')).not.toContain('not-for-a-diff-token');
  });
});
