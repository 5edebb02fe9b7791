/**
 * Crash safety, tested by killing the process: SIGKILL at many points of a
 * synth, of `certs rotate --cluster` and of each root rotation stage, and
 * two synths started at once. After a kill, one more run of the command
 * (no manual step) must leave the complete old or the complete new state:
 * every folder present and from one run, every key the output depends on
 * still in the key store or its history, nothing left behind.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readTree, REPO, runCli, tmpDir, walk } from '../helpers';

const BIN = path.join(REPO, 'bin', 'meshgen');
/** Files and folders an interrupted run leaves, which the next run must clear. */
const LEFTOVER = /^\.meshgen-(staging-|old-|tx-|journal|lock)/;

/** A fleet of `n` primaries on their own networks, with ECDSA keys so that a fresh key store is made in milliseconds. */
function fleet(dir: string, n: number): string {
  const clusters = Array.from({ length: n }, (_, i) => `    - {name: c${i + 1}, context: ctx-${i + 1}, network: net${i + 1}}`).join('\n');
  const file = path.join(dir, 'mesh.yaml');
  fs.writeFileSync(
    file,
    `apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: fleet}\nspec:\n  istio: {version: 1.30.3}\n  trust: {keyStore: pki, keyAlgorithm: ECDSA-P256}\n  clusters:\n${clusters}\n`,
  );
  return file;
}

/** Runs the CLI in `cwd` and kills it with SIGKILL after `afterMs`, or as soon as `watch` sees what it waits for. */
async function killed(args: string[], cwd: string, when: { afterMs: number } | { watch: () => boolean }): Promise<boolean> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { cwd, stdio: 'ignore' });
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let done = false;
  void exited.then(() => (done = true));
  if ('afterMs' in when) {
    setTimeout(() => child.kill('SIGKILL'), when.afterMs);
  } else {
    const poll = () => {
      if (done) return;
      if (when.watch()) child.kill('SIGKILL');
      else setImmediate(poll);
    };
    poll();
  }
  return (await exited) === 'SIGKILL';
}

/** Names in `dir` (and its sub-folders, for a key store) that an interrupted run leaves. */
function leftovers(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return walk(dir)
    .concat(fs.readdirSync(dir))
    .filter((p) => p.split('/').some((part) => LEFTOVER.test(part)));
}

/** What an interrupted run left, as the phase it was killed in. */
function phaseOf(ws: { out: string; store: string }): string {
  const has = (dir: string, prefix: string) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith(prefix));
  if (has(ws.store, '.meshgen-journal')) return 'key store commit';
  if (has(ws.store, '.meshgen-tx-')) return 'key store staging';
  if (has(ws.out, '.meshgen-journal')) return 'output swap';
  if (has(ws.out, '.meshgen-staging-')) return 'output staging';
  if (has(ws.out, '.meshgen-lock') || has(ws.store, '.meshgen-lock')) return 'holding a lock';
  return 'other';
}

/** Checks the key store holds a root whose key matches its certificate and that signed every intermediate; returns the root fingerprint. */
function checkStore(store: string, clusters: number): string {
  const root = new X509Certificate(fs.readFileSync(path.join(store, 'root-cert.pem')));
  expect(root.checkPrivateKey(createPrivateKey(fs.readFileSync(path.join(store, 'root-key.pem'))))).toBe(true);
  for (let i = 1; i <= clusters; i++) {
    const cert = new X509Certificate(fs.readFileSync(path.join(store, `c${i}`, 'ca-cert.pem')));
    expect(cert.checkIssued(root) && cert.verify(root.publicKey), `c${i} is issued by the root`).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(fs.readFileSync(path.join(store, `c${i}`, 'ca-key.pem'))))).toBe(true);
  }
  return root.fingerprint256;
}

/** The roots (fingerprints) the folder's marker says it trusts. */
function markerRoots(folder: string): string[] {
  return (parse(fs.readFileSync(path.join(folder, '.meshgen-output'), 'utf8')) as { trust: { roots: string[] } }).trust.roots;
}

/** Every CA key the output's cacerts Secrets hold is still in the key store or its history. */
function keysKept(out: string, store: string): void {
  const stored = new Set(walk(store).filter((f) => f.endsWith('key.pem')).map((f) => fs.readFileSync(path.join(store, f), 'utf8')));
  for (const f of walk(out).filter((p) => p.endsWith('secret.istio-system.cacerts.yaml'))) {
    const data = (parse(fs.readFileSync(path.join(out, f), 'utf8')) as { data: Record<string, string> }).data;
    expect(stored.has(Buffer.from(data['ca-key.pem'], 'base64').toString()), `${f}: its key is in the key store`).toBe(true);
  }
}

/** Synthesizes the same topology and key store into a fresh folder beside, for what a clean run writes. */
function cleanTree(dir: string): Record<string, string> {
  const twin = tmpDir();
  fs.cpSync(path.join(dir, 'mesh.yaml'), path.join(twin, 'mesh.yaml'));
  fs.cpSync(path.join(dir, 'pki'), path.join(twin, 'pki'), { recursive: true });
  const r = runCli(['synth', '-q'], twin);
  expect(r.code, r.stderr).toBe(0);
  return readTree(path.join(twin, 'dist'), { modes: true });
}

const outcomes: Record<string, Record<string, number>> = {};
function record(test: string, outcome: string): void {
  outcomes[test] ??= {};
  outcomes[test][outcome] = (outcomes[test][outcome] ?? 0) + 1;
}

describe('SIGKILL during synth', () => {
  const CLUSTERS = 12;
  const points: ({ afterMs: number } | { watch: (ws: { out: string; store: string }) => boolean })[] = [
    ...[300, 600, 900, 1200, 1600].map((afterMs) => ({ afterMs })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { store: string }) => fs.existsSync(ws.store) && fs.readdirSync(ws.store).some((f) => f.startsWith('.meshgen-tx-')) })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { store: string }) => fs.existsSync(path.join(ws.store, '.meshgen-journal.json')) })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { out: string }) => fs.existsSync(ws.out) && fs.readdirSync(ws.out).some((f) => f.startsWith('.meshgen-staging-')) })),
    ...Array.from({ length: 2 }, () => ({ watch: (ws: { out: string }) => fs.existsSync(path.join(ws.out, '.meshgen-journal.json')) })),
  ];

  it.each(points.map((p, i) => [i, p] as const))('trial %i: the next synth recovers with no manual step, byte-identical to a clean run', async (_i, point) => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const ws = { out: path.join(dir, 'dist'), store: path.join(dir, 'pki') };
    // Half the trials kill a first synth (making keys), half a later one (replacing folders made by an earlier run).
    if (_i % 2 === 1) expect(runCli(['synth', '-q'], dir).code).toBe(0);
    const before = fs.existsSync(ws.out) ? readTree(ws.out, { modes: true }) : undefined;
    const wasKilled = await killed(['synth', '-q'], dir, 'afterMs' in point ? point : { watch: () => point.watch(ws) });
    const phase = wasKilled ? phaseOf(ws) : 'finished before the kill';
    // Right after the kill the output is the old one or the new one, never a mix: each folder is from one run.
    const r = runCli(['synth'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/unexpected|    at /);
    record('synth', `${phase}: ${/finished|discarded/.exec(r.stderr)?.[0] ?? 'nothing to recover'}`);
    expect(leftovers(ws.out)).toEqual([]);
    expect(leftovers(ws.store)).toEqual([]);
    const root = checkStore(ws.store, CLUSTERS);
    for (let c = 1; c <= CLUSTERS; c++) expect(markerRoots(path.join(ws.out, `c${c}`))).toEqual([root]);
    expect(readTree(ws.out, { modes: true })).toEqual(cleanTree(dir));
    if (before) keysKept(ws.out, ws.store);
  }, 60_000);
});

describe('SIGKILL during certs rotate', () => {
  const CLUSTERS = 4;

  it.each([100, 250, 400, 550, 700, 'tx', 'journal'] as const)('--cluster, killed at %s: status tells, and the command it prints completes the store', async (at) => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const ws = { out: path.join(dir, 'dist'), store: path.join(dir, 'pki') };
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    const watch =
      at === 'tx'
        ? () => fs.readdirSync(ws.store).some((f) => f.startsWith('.meshgen-tx-'))
        : at === 'journal'
          ? () => fs.existsSync(path.join(ws.store, '.meshgen-journal.json'))
          : undefined;
    const wasKilled = await killed(['certs', 'rotate', '--cluster', 'c2'], dir, watch ? { watch } : { afterMs: at as number });
    const phase = wasKilled ? phaseOf(ws) : 'finished before the kill';
    const status = runCli(['certs', 'status'], dir);
    expect(status.stderr).not.toMatch(/unexpected|    at /);
    if (status.code !== 0) {
      // The fix is a command of its own line, run from the topology file's folder.
      const command = status.stdout.split('\n').find((l) => l.startsWith('meshgen '));
      expect(command, status.stdout).toBeDefined();
      const fixed = runCli(command!.split(' ').slice(1), dir);
      expect(fixed.code, fixed.stderr).toBe(0);
      record('certs rotate --cluster', `${phase}: status 1, "${command}" completed it`);
    } else {
      record('certs rotate --cluster', `${phase}: status 0`);
    }
    expect(runCli(['certs', 'status'], dir).code).toBe(0);
    expect(leftovers(ws.store)).toEqual([]);
    checkStore(ws.store, CLUSTERS);
    // The key the committed output runs with is kept, live or in the history.
    keysKept(ws.out, ws.store);
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    checkStore(ws.store, CLUSTERS);
  }, 60_000);

  it.each([
    ['stage 1', 0, 80],
    ['stage 1', 0, 'journal'],
    ['stage 2', 1, 120],
    ['stage 2', 1, 'journal'],
    ['stage 3', 2, 80],
    ['stage 3', 2, 'journal'],
  ] as const)('--root, %s (after %i stages), killed at %s: status tells, and running the stage again completes it with no key lost', async (_stage, done, at) => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const ws = { out: path.join(dir, 'dist'), store: path.join(dir, 'pki') };
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
    const stageArgs = (n: number) => (n === 0 ? ['certs', 'rotate', '--root'] : ['certs', 'rotate', '--root', '--continue']);
    for (let n = 0; n < done; n++) {
      const r = runCli(stageArgs(n), dir);
      expect(r.code, r.stderr).toBe(0);
      expect(runCli(['synth', '-q'], dir).code).toBe(0);
    }
    const watch = at === 'journal' ? () => fs.existsSync(path.join(ws.store, '.meshgen-journal.json')) : undefined;
    const wasKilled = await killed(stageArgs(done), dir, watch ? { watch } : { afterMs: at as number });
    const phase = wasKilled ? phaseOf(ws) : 'finished before the kill';
    const status = runCli(['certs', 'status'], dir);
    expect(status.stderr).not.toMatch(/unexpected|    at /);
    const manifest = JSON.parse(fs.readFileSync(path.join(ws.store, 'meshgen-key-store.json'), 'utf8')) as { rootRotation?: { stage: number } };
    const reached = manifest.rootRotation?.stage ?? 0;
    if (reached === done) {
      // The stage did not happen: running it again makes it.
      const again = runCli(stageArgs(done), dir);
      expect(again.code, again.stderr).toBe(0);
    } else if (status.code !== 0) {
      const command = status.stdout.split('\n').find((l) => l.startsWith('meshgen '));
      expect(command, status.stdout).toBeDefined();
      expect(runCli(command!.split(' ').slice(1), dir).code).toBe(0);
    }
    record('certs rotate --root', `${_stage} ${phase}: status ${status.code}, stage ${reached} after the kill`);
    expect(JSON.parse(fs.readFileSync(path.join(ws.store, 'meshgen-key-store.json'), 'utf8')).rootRotation.stage).toBe(done + 1);
    expect(runCli(['certs', 'status'], dir).code).toBe(0);
    expect(leftovers(ws.store)).toEqual([]);
    keysKept(ws.out, ws.store);
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
  }, 90_000);
});

describe('two synths at once', () => {
  const CLUSTERS = 3;
  const start = (cwd: string, out: string) =>
    new Promise<number>((resolve) => spawn(process.execPath, [BIN, 'synth', '-q', '-o', out], { cwd, stdio: 'ignore' }).on('exit', (code) => resolve(code ?? -1)));

  it.each(Array.from({ length: 10 }, (_, i) => i))('trial %i, one output folder: each run that exits 0 wrote output under the root the store keeps', async () => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const codes = await Promise.all([start(dir, 'dist'), start(dir, 'dist')]);
    record('two synths, one output', `exit codes ${codes.join(', ')}`);
    expect(codes).toEqual([0, 0]);
    const root = checkStore(path.join(dir, 'pki'), CLUSTERS);
    for (let c = 1; c <= CLUSTERS; c++) expect(markerRoots(path.join(dir, 'dist', `c${c}`))).toEqual([root]);
    expect(runCli(['synth', '-q'], dir).code).toBe(0);
  }, 60_000);

  it.each(Array.from({ length: 10 }, (_, i) => i))('trial %i, two output folders sharing the store: both under the one root the store keeps', async () => {
    const dir = tmpDir();
    fleet(dir, CLUSTERS);
    const codes = await Promise.all([start(dir, 'a'), start(dir, 'b')]);
    record('two synths, two outputs', `exit codes ${codes.join(', ')}`);
    expect(codes).toEqual([0, 0]);
    const root = checkStore(path.join(dir, 'pki'), CLUSTERS);
    for (const out of ['a', 'b']) for (let c = 1; c <= CLUSTERS; c++) expect(markerRoots(path.join(dir, out, `c${c}`))).toEqual([root]);
    expect(leftovers(path.join(dir, 'pki'))).toEqual([]);
    for (const out of ['a', 'b']) expect(runCli(['synth', '-q', '-o', out], dir).code).toBe(0);
  }, 60_000);

  it('reports what the trials saw', () => {
    // One line per outcome, for the record of what the kills and races hit.
    console.log(JSON.stringify(outcomes, null, 2));
    expect(Object.keys(outcomes).length).toBeGreaterThan(0);
  });
});
