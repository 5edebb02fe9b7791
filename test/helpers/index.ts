/**
 * Shared test helpers: temp folders, the fixture key store, topology text,
 * folder snapshots and running the built CLI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import { DEFAULT_CERTIFICATE_PROFILE } from '../../src/model/types';
import type { ClusterModel, MeshModel } from '../../src/model/types';
import type { KeyStoreOptions } from '../../src/pki/key-store';

/** A mesh model of primaries on networks network1…, for key store tests that need no topology file. */
export function meshModel(keyStore: string, names: string[] = ['cluster1', 'cluster2'], trust: Partial<MeshModel['trust']> = {}): MeshModel {
  const clusters: ClusterModel[] = names.map((name, i) => ({
    name,
    context: `kind-${name}`,
    network: `network${i + 1}`,
    role: 'primary',
    eastWestGateway: { serviceType: 'LoadBalancer', annotations: {} },
    credentials: { source: 'kubeconfig', explicit: false, kubeconfig: [] },
    samples: [],
    argocdCluster: name,
    platform: 'kubernetes',
    secrets: { encryption: 'none' },
  }));
  return {
    name: 'mesh1',
    meshID: 'mesh1',
    trustDomain: 'cluster.local',
    istio: { version: '1.30.3', hub: 'docker.io/istio', install: 'istioctl' },
    trust: { keyStore, profile: DEFAULT_CERTIFICATE_PROFILE, encryptRootKey: false, passphrase: {}, ...trust },
    clusters,
    source: { file: 'mesh.yaml', document: 0 },
    dataplane: 'sidecar',
    ambient: { globalServices: [], waypoints: [] },
  };
}

/** Repository root. */
export const REPO = path.resolve(__dirname, '..', '..');

/** The committed fixture key store (root + cluster1..3), made with a fixed clock and serials. */
export const FIXTURE_PKI = path.join(REPO, 'test', 'fixtures', 'pki');

/** Committed topology fixtures: one per documented Istio install, plus a mixed fleet. */
export const FIXTURE_TOPOLOGIES = path.join(REPO, 'test', 'fixtures', 'topologies');

/**
 * Key store options that make any key store byte-stable: a fixed clock,
 * counting serials and the committed test keys, handed out in call order.
 */
export function fixedKeyStore(): KeyStoreOptions {
  const dir = path.join(REPO, 'test', 'fixtures', 'keys');
  const keys = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pem'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  let nextKey = 0;
  let nextSerial = 0;
  return {
    now: () => new Date('2026-01-01T00:00:00Z'),
    serial: () => Buffer.from([0x20, ++nextSerial]),
    generateKey: async () => {
      const key = keys[nextKey++];
      if (!key) throw new Error(`the test key pool (${dir}) has only ${keys.length} keys`);
      return key;
    },
  };
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp folder, removed after the test file. */
export function tmpDir(prefix = 'meshgen-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Copies the fixture key store to `dest` with the modes meshgen uses (key files 0600, folders 0700). */
export function copyFixturePki(dest: string): void {
  fs.cpSync(FIXTURE_PKI, dest, { recursive: true });
  for (const file of walk(dest)) {
    fs.chmodSync(path.join(dest, file), file.endsWith('key.pem') ? 0o600 : 0o644);
  }
  for (const dir of [dest, ...new Set(walk(dest).map((f) => path.dirname(f)).filter((d) => d !== '.'))]) fs.chmodSync(path.resolve(dest, dir), 0o700);
}

export interface ClusterSpec {
  name: string;
  network: string;
  context?: string;
}

/** Text of a Mesh document. */
export function meshYaml(opts: { name?: string; clusters: ClusterSpec[]; keyStore?: string; version?: string; extra?: string }): string {
  const lines = [
    'apiVersion: meshgen.dev/v1alpha1',
    'kind: Mesh',
    'metadata:',
    `  name: ${opts.name ?? 'mesh1'}`,
    'spec:',
    '  istio:',
    `    version: ${opts.version ?? '1.30.3'}`,
    '  trust:',
    `    keyStore: ${opts.keyStore ?? 'pki'}`,
    '  clusters:',
  ];
  for (const c of opts.clusters) {
    lines.push(`    - name: ${c.name}`, `      context: ${c.context ?? `kind-${c.name}`}`, `      network: ${c.network}`);
  }
  return `${lines.join('\n')}\n${opts.extra ?? ''}`;
}

/** mesh1 on network1: primary cluster1 (with its gateway address, when given) and cluster2, its remote. */
export function primaryRemoteYaml(opts: { address?: string; extra?: string } = {}): string {
  const gateway = opts.address ? `      eastWestGateway: {address: ${opts.address}}\n` : '';
  return meshYaml({ clusters: [{ name: 'cluster1', network: 'network1' }, { name: 'cluster2', network: 'network1' }], extra: opts.extra })
    .replace('      context: kind-cluster1\n      network: network1\n', `      context: kind-cluster1\n      network: network1\n${gateway}`)
    .replace('      context: kind-cluster2\n      network: network1\n', '      context: kind-cluster2\n      network: network1\n      role: remote\n      controlPlane: cluster1\n');
}

/** The two-cluster, two-network mesh of the examples. */
export const TWO_CLUSTERS: ClusterSpec[] = [
  { name: 'cluster1', network: 'network1' },
  { name: 'cluster2', network: 'network2' },
];

/** A workspace: temp folder with mesh.yaml and the fixture key store at ./pki. */
export function workspace(yaml: string = meshYaml({ clusters: TWO_CLUSTERS })): { dir: string; file: string; out: string } {
  const dir = tmpDir();
  copyFixturePki(path.join(dir, 'pki'));
  const file = path.join(dir, 'mesh.yaml');
  fs.writeFileSync(file, yaml);
  return { dir, file, out: path.join(dir, 'dist') };
}

/** Relative paths of every file under `dir`, sorted. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(r);
      else out.push(r);
    }
  };
  visit('');
  return out.sort();
}

/** `{path: content}` of every file under `dir`; with `modes`, content is prefixed by the octal mode. */
export function readTree(dir: string, opts: { modes?: boolean } = {}): Record<string, string> {
  const tree: Record<string, string> = {};
  for (const rel of walk(dir)) {
    const full = path.join(dir, rel);
    const content = fs.readFileSync(full, 'utf8');
    tree[rel] = opts.modes ? `${(fs.statSync(full).mode & 0o777).toString(8)} ${content}` : content;
  }
  return tree;
}

/** Result of running the built CLI. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bin/meshgen` (the compiled JavaScript) with `args` in `cwd`. */
export function runCli(args: string[], cwd: string = REPO, env?: NodeJS.ProcessEnv): CliResult {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'meshgen'), ...args], { cwd, encoding: 'utf8', env: env ? { ...process.env, ...env } : process.env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the command line in this process (main(), as bin/meshgen does) with
 * `cwd` as the working folder: the same code path as runCli for exit codes
 * and messages, without starting Node again.
 */
export async function runMain(args: string[], cwd: string = REPO): Promise<CliResult> {
  const { main } = await import('../../src/cli/main');
  let stdout = '';
  let stderr = '';
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(['node', 'meshgen', ...args], { out: (t) => (stdout += t), err: (t) => (stderr += t) });
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
  }
}

/** The error `fn` throws, which must be an instance of `type`. */
export function thrown<E extends Error>(fn: () => unknown, type: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}

/**
 * Synthesizes a committed topology fixture in a temp folder, with a
 * byte-stable key store; returns the output folder.
 */
export async function synthFixture(name: string, env?: NodeJS.ProcessEnv): Promise<string> {
  // Imported here so that helpers stay cheap for tests that never synthesize.
  const { loadTopology } = await import('../../src/model/load');
  const { synthesize } = await import('../../src/synth/synthesize');
  const dir = tmpDir();
  const file = path.join(dir, name);
  fs.copyFileSync(path.join(FIXTURE_TOPOLOGIES, name), file);
  const out = path.join(dir, 'dist');
  await synthesize(loadTopology(file), { outdir: out, keyStore: fixedKeyStore(), env });
  return out;
}
