import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors';
import { MARKER_FILE, markerText } from '../../src/synth/marker';
import type { RenderedFolder } from '../../src/synth/render';
import { recoverOutput, writeOutput } from '../../src/synth/write';
import { LockError } from '../../src/lock';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { readTree, tmpDir } from '../helpers';

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

afterEach(() => {
  fsCjs.renameSync = realRename;
  syncBuiltinESMExports();
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

  it('finishes a write stopped at any rename of the swap, and rolls back one that fails at any rename, never losing a carried file', async () => {
    // Folders whose kept files (the marker, b.yaml, sub/c.yaml) are carried into the new version by rename.
    const version = (name: string, a: string): RenderedFolder => ({
      name,
      mesh: 'mesh1',
      files: [
        { path: MARKER_FILE, content: markerText('mesh1'), mode: 0o644 },
        { path: 'a.yaml', content: a, mode: 0o644 },
        { path: 'b.yaml', content: `kept ${name}`, mode: 0o600 },
        { path: 'sub/c.yaml', content: `kept ${name} too`, mode: 0o644 },
      ],
    });
    const oldSet = [version('c1', 'old1'), version('c2', 'old2'), version('c3', 'old3')];
    const newSet = [version('c1', 'new1'), version('c2', 'new2'), { ...version('c4', 'new4') }];
    const expected = async (set: RenderedFolder[]) => {
      const dir = tmpDir();
      await writeOutput(dir, set);
      return readTree(dir, { modes: true });
    };
    const [oldTree, newTree] = [await expected(oldSet), await expected(newSet)];
    let stopped = 0;
    for (let k = 2; ; k++) {
      const out = tmpDir();
      await writeOutput(out, oldSet);
      // Every rename from the k-th on fails, the rollback's too: as if the process died there.
      let calls = 0;
      fsCjs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
        if (++calls >= k) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        return realRename(from, to);
      }) as typeof fs.renameSync;
      syncBuiltinESMExports();
      const failed = await writeOutput(out, newSet).then(() => false, () => true);
      fsCjs.renameSync = realRename;
      syncBuiltinESMExports();
      if (!failed) break;
      // Stopped before the journal's rename, the write never happened; after it, the next run finishes it.
      const finished = /^finished writing/.test(recoverOutput(out) ?? '');
      if (finished) stopped++;
      expect(readTree(out, { modes: true }), `stopped at rename ${k}`).toEqual(finished ? newTree : oldTree);
      expect(fs.readdirSync(out).sort(), `stopped at rename ${k}`).toEqual(finished ? ['c1', 'c2', 'c4'] : ['c1', 'c2', 'c3']);

      // The same rename failing alone: the run rolls back to the old output.
      const back = tmpDir();
      await writeOutput(back, oldSet);
      failRenames(k);
      await expect(writeOutput(back, newSet), `rename ${k} failing`).rejects.toThrow(/the output is as it was/);
      expect(readTree(back, { modes: true }), `rename ${k} failing`).toEqual(oldTree);
      expect(fs.readdirSync(back).sort()).toEqual(['c1', 'c2', 'c3']);
    }
    // After the journal's rename come twelve: per changed folder, to the trash, three carried files, into place; c4 into place; c3 to
    // the trash. Stopped at the first of them, the rollback needs no rename and completes; stopped at any other, the next run finishes.
    expect(stopped).toBe(2 * 5 + 1 + 1 - 1);
  });

  it('rejects folder names that are not DNS labels', async () => {
    await expect(writeOutput(tmpDir(), [folder('..')])).rejects.toThrow(/not a DNS-1123 label/);
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
