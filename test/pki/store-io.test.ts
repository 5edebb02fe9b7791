import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyStoreError } from '../../src/errors';
import { checkModes, JOURNAL_FILE, recoverStore, StoreTransaction, withStoreLock } from '../../src/pki/store-io';
import { readTree, runCli, tmpDir, workspace } from '../helpers';

const realGetuid = process.getuid;
afterEach(() => {
  process.getuid = realGetuid;
});

/** A journal as a run killed right after its commit leaves it: the journal and the staged files, no step done. */
function killedAfterCommit(store: string): void {
  const tx = new StoreTransaction(store);
  tx.write(path.join(store, 'a', 'ca-key.pem'), 'new key', 0o600);
  tx.write(path.join(store, 'a', 'ca-cert.pem'), 'new cert', 0o644);
  tx.move(path.join(store, 'old.pem'), path.join(store, '_history', 'old.pem'));
  // What commit() writes before it does the steps.
  const steps = (tx as unknown as { steps: unknown[] }).steps;
  const staging = (tx as unknown as { staging: string }).staging;
  fs.writeFileSync(path.join(store, JOURNAL_FILE), JSON.stringify({ format: 'meshgen-journal', staging: path.basename(staging), steps }));
}

describe('key store transactions', () => {
  it('finish a change whose journal was committed, however often the recovery runs', () => {
    const store = tmpDir();
    fs.writeFileSync(path.join(store, 'old.pem'), 'old');
    killedAfterCommit(store);
    expect(recoverStore(store)).toMatch(/^finished a change of key store .* that an interrupted run had committed \(3 steps\)$/);
    const after = readTree(store, { modes: true });
    expect(after).toEqual({ 'a/ca-cert.pem': '644 new cert', 'a/ca-key.pem': '600 new key', '_history/old.pem': '644 old' });
    expect(recoverStore(store)).toBeUndefined();
    expect(readTree(store, { modes: true })).toEqual(after);
  });

  it('discard a change that was never committed, leaving the store as it was', () => {
    const store = tmpDir();
    fs.writeFileSync(path.join(store, 'root-key.pem'), 'root', { mode: 0o600 });
    const tx = new StoreTransaction(store);
    tx.write(path.join(store, 'root-key.pem'), 'replaced', 0o600);
    expect(recoverStore(store)).toMatch(/discarded a change of key store .* that an interrupted run had not committed: the store is as it was/);
    expect(readTree(store)).toEqual({ 'root-key.pem': 'root' });
  });

  it('refuse a journal that is not one, naming it', () => {
    const store = tmpDir();
    fs.writeFileSync(path.join(store, JOURNAL_FILE), 'garbage');
    expect(() => recoverStore(store)).toThrow(/holds a journal that cannot be read[\s\S]*\.meshgen-journal\.json: is not a meshgen journal/);
  });
});

describe('key file modes', () => {
  it('are set back to 0600 (keys) and 0700 (folders), with a note each', () => {
    const store = tmpDir();
    fs.mkdirSync(path.join(store, 'c1'));
    fs.writeFileSync(path.join(store, 'c1', 'ca-key.pem'), 'k', { mode: 0o644 });
    fs.writeFileSync(path.join(store, 'c1', 'ca-cert.pem'), 'c', { mode: 0o644 });
    fs.chmodSync(path.join(store, 'c1'), 0o755);
    fs.chmodSync(store, 0o755);
    const notes = checkModes(store);
    expect(notes).toEqual([
      expect.stringMatching(/^folder .* was mode 755: set to 700$/),
      expect.stringMatching(/^folder .*c1 was mode 755: set to 700$/),
      expect.stringMatching(/^key file .*c1\/ca-key\.pem was mode 644: set to 600$/),
    ]);
    expect(fs.statSync(path.join(store, 'c1', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(store, 'c1', 'ca-cert.pem')).mode & 0o777).toBe(0o644);
    expect(checkModes(store)).toEqual([]);
  });

  it('are refused with the exact chmod when another user owns the file', () => {
    const store = tmpDir();
    fs.chmodSync(store, 0o700);
    fs.writeFileSync(path.join(store, 'root-key.pem'), 'k', { mode: 0o640 });
    const owner = fs.statSync(path.join(store, 'root-key.pem')).uid;
    process.getuid = () => owner + 4242;
    let err: unknown;
    try {
      checkModes(store);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyStoreError);
    expect((err as Error).message).toMatch(/holds keys that others can read[\s\S]*root-key\.pem: is readable by others \(mode 640\) and belongs to another user\n\s+fix: chmod 600 \S*root-key\.pem {2}\(as its owner\)/);
    expect(fs.statSync(path.join(store, 'root-key.pem')).mode & 0o777).toBe(0o640);
  });

  it('are fixed by synth on a restored key store, which says so on stderr', () => {
    const ws = workspace();
    fs.chmodSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem'), 0o644);
    const r = runCli(['synth', '-q', '-f', ws.file, '-o', ws.out], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^meshgen: key file pki\/cluster1\/ca-key\.pem was mode 644: set to 600$/m);
    expect(fs.statSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem')).mode & 0o777).toBe(0o600);
  });
});

describe('the key store lock', () => {
  it('is held by one run at a time within a process too, reentrantly', async () => {
    const store = tmpDir();
    const order: string[] = [];
    await withStoreLock(store, async () => {
      order.push('outer');
      await withStoreLock(store, async () => {
        order.push('inner');
      });
    });
    expect(order).toEqual(['outer', 'inner']);
    expect(fs.readdirSync(store)).toEqual([]);
  });

  it('makes a run that cannot get it exit 1 within --lock-timeout, writing no cluster folder', () => {
    const ws = workspace();
    fs.writeFileSync(path.join(ws.dir, 'pki', '.meshgen-lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now', command: 'synth' }));
    const r = runCli(['synth', '--lock-timeout', '0.5', '-f', ws.file, '-o', ws.out], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^meshgen: waiting for key store pki, locked by pid \d+/m);
    expect(r.stderr).toMatch(/meshgen: key store pki is locked by another meshgen run[\s\S]*fix: wait for that run to end, or give it more time with --lock-timeout/);
    expect(fs.existsSync(ws.out)).toBe(false);
  });
});

describe('bad inputs that reach certificates', () => {
  it.each([
    ['rootValidity: 3000000d', /spec\.trust\.rootValidity: a root validity of 3000000d is more than 100 years/],
    ['intermediateValidity: 876001h', /spec\.trust\.intermediateValidity: an intermediate validity of 876001h is more than 100 years/],
    ['organization: "' + 'x'.repeat(65) + '"', /spec\.trust\.organization: .*64/],
    ['rootCommonName: " Root"', /spec\.trust\.rootCommonName: /],
  ])('validate refuses %s with the path and the fix', (line, message) => {
    const ws = workspace();
    fs.writeFileSync(ws.file, fs.readFileSync(ws.file, 'utf8').replace('    keyStore: pki\n', `    keyStore: pki\n    ${line}\n`));
    const r = runCli(['validate', '-f', ws.file], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/fix: /);
  });
});

describe('EPIPE', () => {
  it('ends the command quietly with its own exit code when the reader closes the pipe', async () => {
    const ws = workspace();
    expect(runCli(['synth', '-q', '-f', ws.file, '-o', ws.out], ws.dir).code).toBe(0);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'meshgen'), 'certs', 'status', '-f', ws.file, '-o', ws.out], { cwd: ws.dir });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // `| true`: the reader is gone before the first line is written.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|    at /);
    expect(code).toBe(0);
  });
});
