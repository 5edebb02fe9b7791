import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors';
import { MARKER_FILE, markerText } from '../../src/synth/marker';
import type { RenderedFolder } from '../../src/synth/render';
import { OutputPlanner, OutputWrite, recoverOutput, syncfsReportsErrors, writeOutput } from '../../src/synth/write';
import { LockError } from '../../src/lock';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { readTree, tmpDir } from '../helpers';
import { displayPath } from '../../src/paths';

function folder(name: string, mesh = 'mesh1', content = 'x'): RenderedFolder {
  return {
    name,
    mesh,
    files: [
      { path: MARKER_FILE, content: markerText(mesh), mode: 0o644 },
      { path: 'a.yaml', content, mode: 0o644 },
    ],
  };
}

// node:fs as a CommonJS object: patching it and syncing the built-in ESM
// exports makes every importer see the patched function.
const fsCjs = createRequire(__filename)('node:fs') as typeof fs;
const realRename = fsCjs.renameSync;

/** Makes fs.renameSync fail with EIO on the given call numbers. */
function failRenames(...failing: number[]): void {
  let calls = 0;
  fsCjs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
    if (failing.includes(++calls)) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    return realRename(from, to);
  }) as typeof fs.renameSync;
  syncBuiltinESMExports();
}

/** The calls of node:fs that change the disk (openSync only when it opens for writing). */
const MUTATING = ['renameSync', 'rmSync', 'writeFileSync', 'mkdirSync', 'openSync', 'writeSync', 'fsyncSync', 'chmodSync', 'rmdirSync', 'unlinkSync'] as const;
type Mutating = (typeof MUTATING)[number];
const realFs = Object.fromEntries(MUTATING.map((name) => [name, fsCjs[name]])) as Record<Mutating, (...args: unknown[]) => unknown>;

/**
 * Makes the mutating calls of node:fs numbered n (from 1) fail with EIO
 * where `fails(n, call)` says so; gives a function that tells how many
 * failed. A read-only open is neither counted nor failed.
 */
function failCalls(fails: (n: number, call: Mutating) => boolean, calls: readonly Mutating[] = MUTATING): () => number {
  let n = 0;
  let failed = 0;
  for (const name of calls) {
    (fsCjs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (name === 'openSync' && (args[1] === undefined || args[1] === 'r')) return realFs[name](...args);
      if (fails(++n, name)) {
        failed++;
        throw Object.assign(new Error(`EIO: i/o error, ${name}`), { code: 'EIO' });
      }
      return realFs[name](...args);
    };
  }
  syncBuiltinESMExports();
  return () => failed;
}

function restoreFs(): void {
  for (const name of MUTATING) (fsCjs as unknown as Record<string, unknown>)[name] = realFs[name];
  fsCjs.renameSync = realRename;
  syncBuiltinESMExports();
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not throw');
}

afterEach(() => {
  restoreFs();
});

describe('writeOutput', () => {
  it("never removes a folder that merely holds a project's .meshgen key store", async () => {
    const out = tmpDir();
    fs.mkdirSync(path.join(out, 'project', '.meshgen', 'pki'), { recursive: true });
    fs.writeFileSync(path.join(out, 'project', '.meshgen', 'pki', 'root-key.pem'), 'secret');
    const result = await writeOutput(out, [folder('c1')]);
    expect(result.removed).toEqual([]);
    expect(fs.readFileSync(path.join(out, 'project', '.meshgen', 'pki', 'root-key.pem'), 'utf8')).toBe('secret');
  });

  it('keeps the folders of meshes that are not being written, and says so', async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('a1', 'mesh-a')]);
    const result = await writeOutput(out, [folder('b1', 'mesh-b')]);
    expect(result.removed).toEqual([]);
    expect(result.foreign).toEqual(['a1']);
    expect(fs.readdirSync(out).sort()).toEqual(['a1', 'b1']);
  });

  it("refuses to replace another mesh's folder of the same name", async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh-a')]);
    await expect(writeOutput(out, [folder('c1', 'mesh-b')])).rejects.toThrow(/c1: it exists and was not made by meshgen for mesh "mesh-b"/);
  });

  it('waits for another run that holds the lock, and fails after the time given, leaving the lock and the output alone', async () => {
    const out = tmpDir();
    const holder = { pid: process.pid, host: os.hostname(), since: '2026-12-02T10:00:00Z', command: 'synth' };
    fs.writeFileSync(path.join(out, '.meshgen-lock'), JSON.stringify(holder));
    const notes: string[] = [];
    const err = await writeOutput(out, [folder('c1')], { lock: { timeoutMs: 300, onNote: (l) => notes.push(l) } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(LockError);
    expect((err as Error).message).toMatch(new RegExp(`is locked by another meshgen run \\(pid ${process.pid} on ${os.hostname()}, since 2026-12-02T10:00:00Z \\(synth\\)\\)[\\s\\S]*\\.meshgen-lock: was still held after 0 s[\\s\\S]*fix: wait for that run to end, or give it more time with --lock-timeout`));
    expect(notes).toEqual([expect.stringMatching(/^waiting for output folder .*, locked by pid \d+/)]);
    expect(fs.readdirSync(out)).toEqual(['.meshgen-lock']);
  });

  it('takes over the lock of a run that is gone, with a note, and removes it when done', async () => {
    const out = tmpDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(out, '.meshgen-lock'), JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), since: '2026-12-02T10:00:00Z', command: 'synth' }));
    const notes: string[] = [];
    await writeOutput(out, [folder('c1')], { lock: { timeoutMs: 0, onNote: (l) => notes.push(l) } });
    expect(notes).toEqual([expect.stringMatching(new RegExp(`^took over the lock of output folder .* from a run that is gone \\(pid ${dead.stdout} on `))]);
    expect(fs.readdirSync(out).sort()).toEqual(['c1']);
  });

  it('stops when an older meshgen left its old folders behind, instead of deleting them', async () => {
    const out = tmpDir();
    fs.mkdirSync(path.join(out, '.meshgen-old-abc', 'c1'), { recursive: true });
    await expect(writeOutput(out, [folder('c1')])).rejects.toThrow(/an earlier meshgen run was interrupted/);
    expect(fs.existsSync(path.join(out, '.meshgen-old-abc', 'c1'))).toBe(true);
  });

  it('rolls back a failed swap, leaving the old output as it was and no staging, journal or lock behind', async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
    const before = readTree(out, { modes: true });
    failRenames(4);
    await expect(writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')])).rejects.toThrow(/EIO\); the output is as it was/);
    expect(readTree(out, { modes: true })).toEqual(before);
    expect(fs.readdirSync(out).sort()).toEqual(['c1', 'c2']);
  });

  it('leaves the journal when the rollback fails too, and the next run finishes the write before its own', async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
    failRenames(4, 5, 6, 7, 8);
    const err = await writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')]).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/the rollback failed too[\s\S]*\.meshgen-journal\.json: records the write[\s\S]*fix: fix the cause[^\n]*then run synth again: it finishes this write first/);
    failRenames();
    const notes: string[] = [];
    await writeOutput(out, [folder('c1', 'mesh1', 'newer1'), folder('c2', 'mesh1', 'newer2')], { lock: { onNote: (l) => notes.push(l) } });
    expect(notes).toEqual([expect.stringMatching(/^finished writing .*, which an interrupted run had begun \(2 folders\)$/)]);
    expect(fs.readdirSync(out).sort()).toEqual(['c1', 'c2']);
    expect(readTree(out)['c1/a.yaml']).toBe('newer1');
  });

  it('ends, after a failure or a stop at any file system call (of the write, its rollback or the recovery) and one more run, with exactly the old or the new output and nothing left behind', async () => {
    // Folders patched from the old version to the new: they keep the marker, b.yaml and sub/c.yaml, change a.yaml and
    // the mode of m.yaml, drop gone.yaml and old-sub/ (a folder that then goes), and gain new-sub/d.yaml and ext/e.yaml.
    // c5 only drops a file: nothing is staged for it.
    const version = (name: string, a: string, fresh: boolean): RenderedFolder => ({
      name,
      mesh: 'mesh1',
      files: [
        { path: MARKER_FILE, content: markerText('mesh1'), mode: 0o644 },
        { path: 'a.yaml', content: a, mode: 0o644 },
        { path: 'b.yaml', content: `kept ${name}`, mode: 0o600 },
        { path: 'm.yaml', content: `mode of ${name}`, mode: fresh ? 0o600 : 0o644 },
        { path: 'sub/c.yaml', content: `kept ${name} too`, mode: 0o644 },
        ...(fresh
          ? [
              { path: 'new-sub/d.yaml', content: `new in ${name}`, mode: 0o644 },
              { path: 'ext/e.yaml', content: `where a link was in ${name}`, mode: 0o644 },
            ]
          : [
              { path: 'gone.yaml', content: `dropped from ${name}`, mode: 0o644 },
              { path: 'old-sub/x.yaml', content: `dropped from ${name} too`, mode: 0o644 },
            ]),
      ],
    });
    const dropsOnly = (fresh: boolean): RenderedFolder => ({
      name: 'c5',
      mesh: 'mesh1',
      files: [{ path: MARKER_FILE, content: markerText('mesh1'), mode: 0o644 }, ...(fresh ? [] : [{ path: 'gone.yaml', content: 'dropped from c5', mode: 0o644 }])],
    });
    const oldSet = [version('c1', 'old1', false), version('c2', 'old2', false), version('c3', 'old3', false), dropsOnly(false)];
    const newSet = [version('c1', 'new1', true), version('c2', 'new2', true), version('c4', 'new4', true), dropsOnly(true)];
    // Outside the output: a folder that a link in the old output points at, which nothing may touch.
    const outside = tmpDir();
    fs.writeFileSync(path.join(outside, 'e.yaml'), 'outside');
    // The old output, with what a person left in it: a link to nothing, and a link to a folder where the new output has one.
    const writeOld = async (dir: string) => {
      await writeOutput(dir, oldSet);
      fs.symlinkSync('nowhere', path.join(dir, 'c1', 'dangling.yaml'));
      fs.symlinkSync(outside, path.join(dir, 'c2', 'ext'));
    };
    // Every entry, links not followed: files with mode and content, links with their target, and every folder.
    const treeIn = (dir: string): Record<string, string> => {
      const tree: Record<string, string> = {};
      for (const e of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
        const full = path.join(dir, e);
        const st = fs.lstatSync(full);
        tree[e] = st.isSymbolicLink() ? `link ${fs.readlinkSync(full)}` : st.isDirectory() ? 'folder' : `${(st.mode & 0o777).toString(8)} ${fs.readFileSync(full, 'utf8')}`;
      }
      return tree;
    };
    const oldDir = tmpDir();
    await writeOld(oldDir);
    const newDir = tmpDir();
    await writeOutput(newDir, newSet);
    const [oldTree, newTree] = [treeIn(oldDir), treeIn(newDir)];
    const outcomes = { old: 0, new: 0 };
    const check = (out: string, result: string, note: string, label: string) => {
      const tree = treeIn(out);
      expect([oldTree, newTree], label).toContainEqual(tree);
      // The old output only when the write never committed, or a running write rolled back and said so.
      if (result === 'done' || /^finished writing/.test(note)) expect(tree, label).toEqual(newTree);
      if (/the output is as it was/.test(result)) expect(tree, label).toEqual(oldTree);
      // What the next run says matches what it left: "discarded" only where the output is the old one.
      if (/^discarded/.test(note)) expect(tree, label).toEqual(oldTree);
      expect(treeIn(outside), label).toEqual({ 'e.yaml': '644 outside' });
      outcomes[isDeepEqual(tree, newTree) ? 'new' : 'old']++;
    };
    /** The old output, then the new one written with `fails` injected; what the write said, and whether anything was injected. */
    const failedWrite = async (fails: (n: number) => boolean) => {
      const out = tmpDir();
      // A copy of the old output: links copied as links, modes kept.
      fs.cpSync(oldDir, out, { recursive: true, verbatimSymlinks: true });
      const injected = failCalls(fails);
      const result = await writeOutput(out, newSet).then(
        () => 'done',
        (e: Error) => e.message,
      );
      restoreFs();
      // A run that died leaves its lock to the next run, which takes it over; in this process the holder is still alive.
      fs.rmSync(path.join(out, '.meshgen-lock'), { force: true });
      return { out, result, injected: injected() };
    };
    // 'stop': every call from the k-th on fails, the rollback's too, as if the process died there; 'fail once': only the
    // k-th; 'fail, then stop': the k-th, and from d calls later on, as if the process died during the rollback (every
    // other k, by turns: a thousand writes are enough).
    const modes: [string, (k: number) => (n: number) => boolean, number, number][] = [
      ['stop', (k) => (n) => n >= k, 1, 1],
      ['fail once', (k) => (n) => n === k, 1, 1],
      ['fail, then stop 3 calls later', (k) => (n) => n === k || n >= k + 3, 1, 2],
      ['fail, then stop 12 calls later', (k) => (n) => n === k || n >= k + 12, 2, 2],
    ];
    const committed: number[] = [];
    for (const [mode, fails, from, step] of modes) {
      for (let k = from; ; k += step) {
        const { out, result, injected } = await failedWrite(fails(k));
        if (injected === 0) break;
        if (mode === 'stop' && fs.existsSync(path.join(out, '.meshgen-journal.json'))) committed.push(k);
        check(out, result, recoverOutput(out) ?? '', `${mode} at call ${k}: ${result}`);
      }
    }
    // A recovery that stops too, at each of its calls, and one more after it: stopped writes spread over the swap.
    expect(committed.length).toBeGreaterThan(20);
    for (const k of [0.15, 0.5, 0.85].map((at) => committed[Math.floor(at * committed.length)])) {
      for (let r = 1; ; r++) {
        const { out, result } = await failedWrite((n) => n >= k);
        const injected = failCalls((n) => n >= r);
        let first: string;
        try {
          first = recoverOutput(out) ?? '';
        } catch (e) {
          first = (e as Error).message;
        }
        restoreFs();
        if (injected() === 0) break;
        const label = `stop at call ${k}, recovery stopped at call ${r} (${first})`;
        let note: string;
        try {
          note = recoverOutput(out) ?? '';
        } catch (e) {
          throw new Error(`${label}: ${(e as Error).message} ${JSON.stringify(fs.readdirSync(out))} ${JSON.stringify(treeIn(out))}`);
        }
        check(out, result, note, label);
      }
    }
    expect(outcomes.old).toBeGreaterThan(10);
    expect(outcomes.new).toBeGreaterThan(10);
    // About eight hundred writes, fifteen seconds on an idle machine: the limit only guards against a hang.
  }, 300_000);

  it('finishes a write when deleting its trash fails, and the next run deletes what is left', async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
    const realRm = fsCjs.rmSync;
    fsCjs.rmSync = ((p: fs.PathLike, o?: fs.RmOptions) => {
      if (String(p).includes('.meshgen-removing-')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return realRm(p, o);
    }) as typeof fs.rmSync;
    syncBuiltinESMExports();
    try {
      await writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')]);
    } finally {
      fsCjs.rmSync = realRm;
      syncBuiltinESMExports();
    }
    expect(readTree(out)).toMatchObject({ 'c1/a.yaml': 'new1', 'c2/a.yaml': 'new2' });
    expect(fs.readdirSync(out).filter((e) => e.startsWith('.meshgen-removing-')).length).toBe(2);
    await writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')]);
    expect(fs.readdirSync(out).sort()).toEqual(['c1', 'c2']);
  });

  it("deletes a finished write's leftovers without calling them a discarded write, and says what it cannot delete", async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh1', 'old1')]);
    const failRemovingRenames = () => {
      fsCjs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
        if (String(to).includes('.meshgen-removing-')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return realRename(from, to);
      }) as typeof fs.renameSync;
      syncBuiltinESMExports();
    };
    failRemovingRenames();
    await writeOutput(out, [folder('c1', 'mesh1', 'new1')]);
    const left = fs.readdirSync(out).filter((e) => e.startsWith('.meshgen-')).sort();
    expect(left.map((e) => e.replace(/[0-9a-f]+$/, ''))).toEqual(['.meshgen-old-', '.meshgen-staging-']);
    expect(recoverOutput(out)).toBe(`could not remove ${left.join(', ')} from ${displayPath(out)}, which an earlier run left: remove them by hand`);
    restoreFs();
    expect(recoverOutput(out)).toBeUndefined();
    expect(fs.readdirSync(out)).toEqual(['c1']);
    expect(readTree(out)['c1/a.yaml']).toBe('new1');
  });

  /**
   * The state a write of the meshgen version with carry lists left when stopped after c1's old folder went to the
   * trash: c1's staged folder holds its new a.yaml and its carry list names the marker it keeps; c2 is not begun.
   */
  async function carryListWrite(): Promise<{ out: string; staging: string; trash: string }> {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
    const [staging, trash] = ['.meshgen-staging-0c1d', '.meshgen-old-0c1d'];
    fs.mkdirSync(path.join(out, trash));
    fs.writeFileSync(path.join(out, trash, '.meshgen-trash'), 'Replaced output of a meshgen write: removed when the write is finished.\n');
    fs.renameSync(path.join(out, 'c1'), path.join(out, trash, 'c1'));
    for (const [name, a] of [['c1', 'new1'], ['c2', 'new2']]) {
      fs.mkdirSync(path.join(out, staging, name), { recursive: true });
      fs.writeFileSync(path.join(out, staging, name, 'a.yaml'), a);
      fs.mkdirSync(path.join(out, staging, '.meshgen-carry'), { recursive: true });
      fs.writeFileSync(path.join(out, staging, '.meshgen-carry', `${name}.json`), JSON.stringify([MARKER_FILE]));
    }
    const journal = { format: 'meshgen-output-journal', staging, trash, install: ['c1', 'c2'], remove: [], carryLists: true };
    fs.writeFileSync(path.join(out, '.meshgen-journal.json'), JSON.stringify(journal));
    return { out, staging, trash };
  }

  it('finishes a write of the meshgen version with carry lists as it was begun', async () => {
    const { out } = await carryListWrite();
    expect(recoverOutput(out)).toMatch(/^finished writing .* \(2 folders\)$/);
    expect(fs.readdirSync(out).sort()).toEqual(['c1', 'c2']);
    expect(readTree(out)).toEqual({ 'c1/a.yaml': 'new1', [`c1/${MARKER_FILE}`]: markerText('mesh1'), 'c2/a.yaml': 'new2', [`c2/${MARKER_FILE}`]: markerText('mesh1') });
  });

  it('refuses to redo a write of the carry-list version when a file is both staged and on the carry list, and moves nothing', async () => {
    const { out, staging, trash } = await carryListWrite();
    fs.writeFileSync(path.join(out, staging, '.meshgen-carry', 'c1.json'), JSON.stringify([MARKER_FILE, 'a.yaml']));
    expect(thrownBy(() => recoverOutput(out)).message).toMatch(/cannot finish the write of .* that a run began\n\s+.*c1\/a\.yaml: is both written anew and on the carry list\n\s+fix: restore the cluster folders/);
    expect(fs.readFileSync(path.join(out, trash, 'c1', 'a.yaml'), 'utf8')).toBe('old1');
    expect(fs.readFileSync(path.join(out, staging, 'c1', 'a.yaml'), 'utf8')).toBe('new1');
  });

  it('refuses to redo a write whose carry list is damaged or missing, keeping every previous file, and says how to restore', async () => {
    const { out, staging, trash } = await carryListWrite();
    expect(fs.readFileSync(path.join(out, trash, 'c1', 'a.yaml'), 'utf8')).toBe('old1');
    for (const damaged of ['["../c2/a.yaml"]', '[""]', '{"a": 1}', 'not json', undefined]) {
      const list = path.join(out, staging, '.meshgen-carry', 'c1.json');
      if (damaged === undefined) fs.rmSync(list);
      else fs.writeFileSync(list, damaged);
      const err = thrownBy(() => recoverOutput(out));
      expect(err.message, damaged).toMatch(
        /cannot finish the write of .* that a run began[\s\S]*c1\.json: (is not a list of paths in the folder|is missing, and the journal says every staged folder has one)[\s\S]*fix: restore the cluster folders of .* from version control \(the files of those it had begun to replace are split between the folder, \.meshgen-old-/,
      );
      expect(fs.readFileSync(path.join(out, trash, 'c1', 'a.yaml'), 'utf8')).toBe('old1');
    }
    // A list that cannot be read: the error names it and the cause, and nothing moves.
    fs.writeFileSync(path.join(out, staging, '.meshgen-carry', 'c1.json'), '[]\n');
    const realRead = fsCjs.readFileSync;
    fsCjs.readFileSync = ((p: fs.PathOrFileDescriptor, o?: unknown) => {
      if (String(p).endsWith(path.join('.meshgen-carry', 'c1.json'))) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return (realRead as (p: fs.PathOrFileDescriptor, o?: unknown) => unknown)(p, o);
    }) as typeof fs.readFileSync;
    syncBuiltinESMExports();
    try {
      expect(thrownBy(() => recoverOutput(out)).message).toMatch(/cannot read .*c1\.json \(EACCES\)[\s\S]*cannot be read \(EACCES\)\n\s+fix: fix the cause \(permissions, disk\), then run synth again: it finishes the write first/);
    } finally {
      fsCjs.readFileSync = realRead;
      syncBuiltinESMExports();
    }
    expect(fs.readFileSync(path.join(out, trash, 'c1', 'a.yaml'), 'utf8')).toBe('old1');
    // A journal naming what this meshgen never writes is not followed at all.
    const journal = JSON.parse(fs.readFileSync(path.join(out, '.meshgen-journal.json'), 'utf8')) as Record<string, unknown>;
    for (const bad of [{ trash: '' }, { staging: '..' }, { install: ['../elsewhere'] }, { remove: ['.meshgen-carry'] }, { patch: [] }, { patch: { c9: [] } }, { patch: { c1: ['../c2/a.yaml'] } }, { patch: { c1: 'a.yaml' } }]) {
      fs.writeFileSync(path.join(out, '.meshgen-journal.json'), JSON.stringify({ ...journal, ...bad }));
      expect(thrownBy(() => recoverOutput(out)).message, JSON.stringify(bad)).toMatch(/holds a journal that cannot be read/);
    }
    expect(fs.existsSync(path.join(out, trash, 'c1', 'a.yaml'))).toBe(true);
  });

  it('patches a changed folder in place of replacing it: kept files stay as they are, dropped ones go, whatever took a path is replaced', async () => {
    const out = tmpDir();
    const marker = { path: MARKER_FILE, content: markerText('mesh1'), mode: 0o644 };
    const files = (...rest: { path: string; content: string }[]): RenderedFolder => ({ name: 'c1', mesh: 'mesh1', files: [marker, ...rest.map((f) => ({ ...f, mode: 0o644 }))] });
    await writeOutput(out, [files({ path: 'kept.yaml', content: 'k' }, { path: 'a.yaml', content: 'old' }, { path: 'gone/x.yaml', content: 'x' }, { path: 'was-file', content: 'f' })]);
    // What a person left: a link, and a folder where the next version writes a file.
    fs.symlinkSync('kept.yaml', path.join(out, 'c1', 'link.yaml'));
    fs.mkdirSync(path.join(out, 'c1', 'was-folder', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(out, 'c1', 'was-folder', 'deep', 'y.yaml'), 'y');
    const ino = (p: string) => fs.lstatSync(path.join(out, 'c1', p)).ino;
    const before = { folder: ino('.'), kept: ino('kept.yaml'), a: ino('a.yaml') };
    await writeOutput(out, [files({ path: 'kept.yaml', content: 'k' }, { path: 'a.yaml', content: 'new' }, { path: 'was-file/z.yaml', content: 'z' }, { path: 'was-folder', content: 'w' })]);
    expect(readTree(out)).toEqual({ [`c1/${MARKER_FILE}`]: marker.content, 'c1/kept.yaml': 'k', 'c1/a.yaml': 'new', 'c1/was-file/z.yaml': 'z', 'c1/was-folder': 'w' });
    expect(fs.readdirSync(path.join(out, 'c1')).sort()).toEqual([MARKER_FILE, 'a.yaml', 'kept.yaml', 'was-file', 'was-folder']);
    expect({ folder: ino('.'), kept: ino('kept.yaml') }).toEqual({ folder: before.folder, kept: before.kept });
    expect(ino('a.yaml')).not.toBe(before.a);
    expect(fs.readdirSync(out)).toEqual(['c1']);
  });

  it('refuses to redo a patch whose folder is gone, or is both in place and in the trash, and moves nothing', async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
    // Stopped right after the commit (the journal's rename is the first): the rollback's removal of the journal fails too.
    failCalls((n) => n >= 2, ['renameSync', 'rmSync']);
    await expect(writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')])).rejects.toThrow(/rollback failed too/);
    restoreFs();
    // Its lock, which it could not remove either, is taken over by the next run; in this process the holder is still alive.
    fs.rmSync(path.join(out, '.meshgen-lock'), { force: true });
    const trash = JSON.parse(fs.readFileSync(path.join(out, '.meshgen-journal.json'), 'utf8')).trash as string;
    fs.renameSync(path.join(out, 'c1'), path.join(out, 'c1-moved'));
    expect(thrownBy(() => recoverOutput(out)).message).toMatch(/cannot finish the write of .* that a run began\n\s+.*c1: is missing: the write was to change some of its files and keep the others\n\s+fix: restore the cluster folders/);
    fs.renameSync(path.join(out, 'c1-moved'), path.join(out, 'c1'));
    fs.mkdirSync(path.join(out, trash, 'c1'), { recursive: true });
    expect(thrownBy(() => recoverOutput(out)).message).toMatch(/c1: exists, and so does its previous version in \.meshgen-old-[0-9a-f]+, which the write had moved away/);
    expect(readTree(out)).toMatchObject({ 'c1/a.yaml': 'old1', 'c2/a.yaml': 'old2' });
    fs.rmdirSync(path.join(out, trash, 'c1'));
    // A journal with patches says so in its format, which an earlier meshgen refuses instead of putting staged files in place of folders.
    const journal = JSON.parse(fs.readFileSync(path.join(out, '.meshgen-journal.json'), 'utf8')) as Record<string, unknown>;
    expect(journal).toMatchObject({ format: 'meshgen-output-journal/2', patch: { c1: [], c2: [] } });
    for (const bad of [{ format: 'meshgen-output-journal' }, { patch: undefined }, { patch: { c9: [] } }, { patch: { c1: ['../c2/a.yaml'] } }, { carryLists: true }]) {
      fs.writeFileSync(path.join(out, '.meshgen-journal.json'), JSON.stringify({ ...journal, ...bad }));
      expect(thrownBy(() => recoverOutput(out)).message, JSON.stringify(bad)).toMatch(/holds a journal that cannot be read/);
    }
    fs.writeFileSync(path.join(out, '.meshgen-journal.json'), JSON.stringify(journal));
    expect(recoverOutput(out)).toMatch(/^finished writing/);
    expect(readTree(out)).toMatchObject({ 'c1/a.yaml': 'new1', 'c2/a.yaml': 'new2' });
    expect(fs.readdirSync(out).sort()).toEqual(['c1', 'c2']);
  });

  it('says so when a commit can be neither made durable nor taken back, and the next run finishes or discards the write', async () => {
    const journal = (out: string) => path.join(out, '.meshgen-journal.json');
    // The fsync of the folder the journal was renamed into fails, or the journal's own fsync before that; every removal fails too.
    for (const [when, outcome] of [
      ['after the rename', /^finished writing .* \(2 folders\)$/],
      ['before the rename', /^discarded a write of .* that an interrupted run had not committed: the output is as it was$/],
    ] as const) {
      const out = tmpDir();
      await writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
      const written = () => (when === 'after the rename' ? fs.existsSync(journal(out)) : fs.readdirSync(out).some((e) => e.startsWith('.meshgen-journal.json.')));
      failCalls((_, call) => call === 'rmSync' || (call === 'fsyncSync' && written()), ['fsyncSync', 'rmSync']);
      const err = await writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')]).catch((e: Error) => e);
      restoreFs();
      expect((err as Error).message, when).toMatch(/^cannot commit the write of .* \(EIO\), nor take it back\n\s+.*\.meshgen-journal\.json: may record the write\n\s+fix: fix the cause \(disk full, permissions\), then run synth again: it finishes or discards this write first$/);
      // Nothing was moved yet.
      expect(readTree(out), when).toMatchObject({ 'c1/a.yaml': 'old1', 'c2/a.yaml': 'old2' });
      fs.rmSync(path.join(out, '.meshgen-lock'), { force: true });
      expect(recoverOutput(out), when).toMatch(outcome);
      expect(readTree(out), when).toMatchObject(when === 'after the rename' ? { 'c1/a.yaml': 'new1', 'c2/a.yaml': 'new2' } : { 'c1/a.yaml': 'old1', 'c2/a.yaml': 'old2' });
      expect(fs.readdirSync(out).sort(), when).toEqual(['c1', 'c2']);
    }
  });

  it("leaves a marked copy of a folder (c1.bak) alone, and still finishes an older meshgen's journal that removes one", async () => {
    const out = tmpDir();
    await writeOutput(out, [folder('c1', 'mesh1', 'old1')]);
    fs.cpSync(path.join(out, 'c1'), path.join(out, 'c1.bak'), { recursive: true });
    const copy = readTree(path.join(out, 'c1.bak'), { modes: true });
    await writeOutput(out, [folder('c1', 'mesh1', 'new1')]);
    expect(fs.readdirSync(out).sort()).toEqual(['c1', 'c1.bak']);
    expect(readTree(path.join(out, 'c1.bak'), { modes: true })).toEqual(copy);
    expect(readTree(out)['c1/a.yaml']).toBe('new1');
    // A journal as meshgen versions before carry lists wrote it, stopped after its commit.
    fs.mkdirSync(path.join(out, '.meshgen-staging-0a1b'));
    fs.writeFileSync(path.join(out, '.meshgen-journal.json'), JSON.stringify({ format: 'meshgen-output-journal', staging: '.meshgen-staging-0a1b', trash: '.meshgen-old-0a1b', install: [], remove: ['c1.bak'] }));
    expect(recoverOutput(out)).toMatch(/^finished writing/);
    expect(fs.readdirSync(out).sort()).toEqual(['c1']);
  });

  it('rejects folder names that are not DNS labels, also where synthesize() writes folders one at a time', async () => {
    await expect(writeOutput(tmpDir(), [folder('..')])).rejects.toThrow(/not a DNS-1123 label/);
    const out = tmpDir();
    for (const name of ['.meshgen-carry', '../x', 'C1']) {
      const write = new OutputWrite(out, new OutputPlanner(out, new Map([[name, 'mesh1']])));
      expect(() => write.add(folder(name)), name).toThrow(/not a DNS-1123 label/);
      write.discard();
    }
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe('flushing the staged files', () => {
  it('uses sync -f only where syncfs reports write-back errors: Linux 5.8 and later', () => {
    expect(syncfsReportsErrors('linux', '6.18.44-fc-v1045')).toBe(true);
    expect(syncfsReportsErrors('linux', '5.8.0')).toBe(true);
    expect(syncfsReportsErrors('linux', '5.10.0-23-amd64')).toBe(true);
    expect(syncfsReportsErrors('linux', '5.7.19')).toBe(false);
    expect(syncfsReportsErrors('linux', '4.19.0-27-amd64')).toBe(false);
    expect(syncfsReportsErrors('linux', 'unknown')).toBe(false);
    expect(syncfsReportsErrors('darwin', '23.1.0')).toBe(false);
  });
});

describe('Secrets not encrypted yet', () => {
  it('refuses a folder that still holds a Secret to encrypt, and writes nothing', async () => {
    const out = path.join(tmpDir(), 'dist');
    const pending: RenderedFolder = {
      ...folder('cluster1'),
      secrets: [
        {
          path: 'secrets/secret.istio-system.cacerts.yaml',
          manifest: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' }, data: { k: 'dg==' } },
          settings: { encryption: 'sops', age: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'], decryptionSecret: 'sops-age' },
        },
      ],
    };
    const err = await writeOutput(out, [pending]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/folder "cluster1" has 1 Secret\(s\) that are not encrypted yet\n\s+secrets\/secret\.istio-system\.cacerts\.yaml: is to be encrypted \(secrets\.encryption: sops\)\n\s+fix: pass the folders through encryptFolders\(\) before writeOutput\(\)/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
