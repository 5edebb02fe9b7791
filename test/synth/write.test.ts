import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors';
import { MARKER_FILE, markerText, RenderedFolder } from '../../src/synth/render';
import { writeOutput } from '../../src/synth/write';
import { readTree, tmpDir, walk } from '../helpers';

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
  it("never removes a folder that merely holds a project's .meshgen key store", () => {
    const out = tmpDir();
    fs.mkdirSync(path.join(out, 'project', '.meshgen', 'pki'), { recursive: true });
    fs.writeFileSync(path.join(out, 'project', '.meshgen', 'pki', 'root-key.pem'), 'secret');
    const result = writeOutput(out, [folder('c1')]);
    expect(result.removed).toEqual([]);
    expect(fs.readFileSync(path.join(out, 'project', '.meshgen', 'pki', 'root-key.pem'), 'utf8')).toBe('secret');
  });

  it('keeps the folders of meshes that are not being written, and says so', () => {
    const out = tmpDir();
    writeOutput(out, [folder('a1', 'mesh-a')]);
    const result = writeOutput(out, [folder('b1', 'mesh-b')]);
    expect(result.removed).toEqual([]);
    expect(result.foreign).toEqual(['a1']);
    expect(fs.readdirSync(out).sort()).toEqual(['a1', 'b1']);
  });

  it("refuses to replace another mesh's folder of the same name", () => {
    const out = tmpDir();
    writeOutput(out, [folder('c1', 'mesh-a')]);
    expect(() => writeOutput(out, [folder('c1', 'mesh-b')])).toThrow(/c1: it exists and was not made by meshgen for mesh "mesh-b"/);
  });

  it('refuses to run while another run holds the lock, and leaves the lock alone', () => {
    const out = tmpDir();
    fs.writeFileSync(path.join(out, '.meshgen-lock'), '123\n');
    const err = (() => {
      try {
        writeOutput(out, [folder('c1')]);
      } catch (e) {
        return e as OutputError;
      }
      throw new Error('expected an error');
    })();
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toMatch(/is locked by another meshgen run[\s\S]*\.meshgen-lock: exists[\s\S]*fix: wait for the other run/);
    expect(fs.readdirSync(out)).toEqual(['.meshgen-lock']);
  });

  it('stops when an interrupted run left its old folders behind, instead of deleting them', () => {
    const out = tmpDir();
    fs.mkdirSync(path.join(out, '.meshgen-old-abc', 'c1'), { recursive: true });
    expect(() => writeOutput(out, [folder('c1')])).toThrow(/an earlier meshgen run was interrupted/);
    expect(fs.existsSync(path.join(out, '.meshgen-old-abc', 'c1'))).toBe(true);
  });

  it('rolls back a failed swap, leaving the old output as it was and no staging or lock behind', () => {
    const out = tmpDir();
    writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
    const before = readTree(out, { modes: true });
    failRenames(3);
    expect(() => writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')])).toThrow(/EIO/);
    expect(readTree(out, { modes: true })).toEqual(before);
    expect(fs.readdirSync(out).sort()).toEqual(['c1', 'c2']);
  });

  it('keeps and names the old folders when the rollback fails too', () => {
    const out = tmpDir();
    writeOutput(out, [folder('c1', 'mesh1', 'old1'), folder('c2', 'mesh1', 'old2')]);
    failRenames(3, 4);
    const err = (() => {
      try {
        writeOutput(out, [folder('c1', 'mesh1', 'new1'), folder('c2', 'mesh1', 'new2')]);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected an error');
    })();
    expect(err.message).toMatch(/the rollback failed too[\s\S]*\.meshgen-old-\w+: holds the previous versions/);
    const trash = fs.readdirSync(out).find((n) => n.startsWith('.meshgen-old-'))!;
    const kept = walk(path.join(out, trash));
    expect(kept.some((f) => f.endsWith('a.yaml'))).toBe(true);
    for (const f of kept.filter((x) => x.endsWith('a.yaml'))) expect(fs.readFileSync(path.join(out, trash, f), 'utf8')).toMatch(/^old/);
  });

  it('rejects folder names that are not DNS labels', () => {
    expect(() => writeOutput(tmpDir(), [folder('..')])).toThrow(/not a DNS-1123 label/);
  });
});

describe('Secrets not encrypted yet', () => {
  it('refuses a folder that still holds a Secret to encrypt, and writes nothing', () => {
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
    let err: unknown;
    try {
      writeOutput(out, [pending]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/folder "cluster1" has 1 Secret\(s\) that are not encrypted yet\n\s+secrets\/secret\.istio-system\.cacerts\.yaml: is to be encrypted \(secrets\.encryption: sops\)\n\s+fix: pass the folders through encryptFolders\(\) before writeOutput\(\)/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
