/**
 * Helpers of the crash tests (test/cli/crash-*.test.ts): a fleet that makes
 * its keys in milliseconds, killing the CLI at a moment or when something
 * appears on disk, and the checks that every recovery must pass. After a
 * kill, one more run (no manual step) must leave the complete old or the
 * complete new state: every folder present and from one run, every key
 * the output depends on still in the key store or its history, nothing
 * left behind.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect } from 'vitest';
import { parse } from 'yaml';
import { loadTopology } from '../../src/model/load';
import { synthesize } from '../../src/synth/synthesize';
import { readTree, REPO, tmpDir, walk } from './index';

export const BIN = path.join(REPO, 'bin', 'meshgen');
/** Files and folders an interrupted run leaves, which the next run must clear. */
const LEFTOVER = /^\.meshgen-(staging-|old-|removing-|tx-|journal|lock)/;

/** A fleet of `n` primaries on their own networks, with ECDSA keys so that a fresh key store is made in milliseconds. */
export function fleet(dir: string, n: number): string {
  const clusters = Array.from({ length: n }, (_, i) => `    - {name: c${i + 1}, context: ctx-${i + 1}, network: net${i + 1}}`).join('\n');
  const file = path.join(dir, 'mesh.yaml');
  fs.writeFileSync(
    file,
    `apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: fleet}\nspec:\n  istio: {version: 1.30.3}\n  trust: {keyStore: pki, keyAlgorithm: ECDSA-P256}\n  clusters:\n${clusters}\n`,
  );
  return file;
}

/** Runs the CLI in `cwd` and kills it with SIGKILL after `afterMs`, or as soon as `watch` sees what it waits for. */
export async function killed(args: string[], cwd: string, when: { afterMs: number } | { watch: () => boolean }): Promise<boolean> {
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
export function leftovers(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return walk(dir)
    .concat(fs.readdirSync(dir))
    .filter((p) => p.split('/').some((part) => LEFTOVER.test(part)));
}

/** What an interrupted run left, as the phase it was killed in. */
export function phaseOf(ws: { out: string; store: string }): string {
  const has = (dir: string, prefix: string) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith(prefix));
  if (has(ws.store, '.meshgen-journal')) return 'key store commit';
  if (has(ws.store, '.meshgen-tx-')) return 'key store staging';
  if (has(ws.out, '.meshgen-journal')) return 'output swap';
  if (has(ws.out, '.meshgen-removing-')) return 'output clean-up';
  if (has(ws.out, '.meshgen-staging-')) return 'output staging';
  if (has(ws.out, '.meshgen-lock') || has(ws.store, '.meshgen-lock')) return 'holding a lock';
  return 'other';
}

/** Checks the key store holds a root whose key matches its certificate and that signed every intermediate; returns the root fingerprint. */
export function checkStore(store: string, clusters: number): string {
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
export function markerRoots(folder: string): string[] {
  return (parse(fs.readFileSync(path.join(folder, '.meshgen-output'), 'utf8')) as { trust: { roots: string[] } }).trust.roots;
}

/** Every CA key the output's cacerts Secrets hold is still in the key store or its history. */
export function keysKept(out: string, store: string): void {
  const stored = new Set(walk(store).filter((f) => f.endsWith('key.pem')).map((f) => fs.readFileSync(path.join(store, f), 'utf8')));
  for (const f of walk(out).filter((p) => p.endsWith('secret.istio-system.cacerts.yaml'))) {
    const data = (parse(fs.readFileSync(path.join(out, f), 'utf8')) as { data: Record<string, string> }).data;
    expect(stored.has(Buffer.from(data['ca-key.pem'], 'base64').toString()), `${f}: its key is in the key store`).toBe(true);
  }
}

/** Synthesizes the same topology and key store into a fresh folder beside (in this process), for what a clean run writes. */
export async function cleanTree(dir: string): Promise<Record<string, string>> {
  const twin = tmpDir();
  fs.cpSync(path.join(dir, 'mesh.yaml'), path.join(twin, 'mesh.yaml'));
  fs.cpSync(path.join(dir, 'pki'), path.join(twin, 'pki'), { recursive: true });
  await synthesize(loadTopology(path.join(twin, 'mesh.yaml')), { outdir: path.join(twin, 'dist') });
  return readTree(path.join(twin, 'dist'), { modes: true });
}

const outcomes: Record<string, Record<string, number>> = {};
// What the trials of a file hit, printed once at its end: the record of where the kills and races landed.
afterAll(() => {
  if (Object.keys(outcomes).length > 0) console.log(`crash trial outcomes: ${JSON.stringify(outcomes, null, 2)}`);
});
export function record(test: string, outcome: string): void {
  outcomes[test] ??= {};
  outcomes[test][outcome] = (outcomes[test][outcome] ?? 0) + 1;
}
