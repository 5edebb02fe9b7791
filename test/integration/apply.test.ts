/**
 * Applies what meshgen writes to real Kubernetes API servers (v1.20, with
 * Istio 1.30.3's CRDs), one per cluster, with the README's own commands.
 * The server kit comes from $KUBE_APISERVER_KIT, or ../shared/kube-apiserver
 * beside the repository; without it this test fails, it does not skip.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/model/load';
import { synthesize } from '../../src/synth/synthesize';
import { FIXTURE_TOPOLOGIES, fixedKeyStore, REPO, runCli, tmpDir, workspace } from '../helpers';

const run = promisify(execFile);
const KIT = process.env.KUBE_APISERVER_KIT ?? path.resolve(REPO, '..', 'shared', 'kube-apiserver');
const CLUSTERS = ['cluster1', 'cluster2'];

interface Server {
  dir: string;
  kubeconfig: string;
}

const servers = new Map<string, Server>();
let out: string;

function kubectl(server: Server, args: string[], cwd?: string): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('kubectl', args, {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, KUBECONFIG: server.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs kubectl and also returns stderr on success, where warnings go. */
async function kubectlFull(server: Server, args: string[], cwd?: string) {
  try {
    const r = await run('kubectl', args, { cwd, env: { ...process.env, KUBECONFIG: server.kubeconfig } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The README's command of step `n`, with the --context flag dropped (the kubeconfig points at the test server). */
function readmeCommand(cluster: string, pattern: RegExp): string[] {
  const readme = fs.readFileSync(path.join(out, cluster, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => pattern.test(l));
  if (!line) throw new Error(`no command matching ${pattern} in ${cluster}/README.md`);
  return line.trim().split(/\s+/).slice(1).filter((a) => !a.startsWith('--context='));
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(KIT, 'start.sh'))) {
    throw new Error(`kube-apiserver kit not found at ${KIT}: set KUBE_APISERVER_KIT to the folder holding start.sh`);
  }
  // One after the other: the first start may install etcd with apt-get, which takes a lock.
  for (const cluster of CLUSTERS) {
    const dir = tmpDir(`meshgen-kapi-${cluster}-`);
    const { stdout } = await run(path.join(KIT, 'start.sh'), ['--istio-crds', dir], { timeout: 180_000 });
    const m = /export KUBECONFIG=(\S+)/.exec(stdout);
    if (!m) throw new Error(`start.sh printed no KUBECONFIG: ${stdout}`);
    servers.set(cluster, { dir, kubeconfig: m[1] });
  }
  const ws = workspace();
  const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
  if (r.code !== 0) throw new Error(`synth failed: ${r.stderr}`);
  out = ws.out;
}, 240_000);

afterAll(async () => {
  await Promise.all(
    [...servers.values()].map((s) => run(path.join(KIT, 'stop.sh'), [s.dir]).catch(() => undefined)),
  );
});

describe.each(CLUSTERS)('kubectl against a real API server: %s', (cluster) => {
  it('applies the README steps in order, then kubectl apply -k, without warnings', async () => {
    const server = servers.get(cluster)!;
    const dir = path.join(out, cluster);

    const pre = await kubectlFull(server, readmeCommand(cluster, /kubectl --context=\S+ apply -f /), dir);
    expect(pre.stderr).toBe('');
    expect(pre.code).toBe(0);
    expect(pre.stdout).toBe('namespace/istio-system created\nsecret/cacerts created\n');

    const all = await kubectlFull(server, readmeCommand(cluster, /kubectl --context=\S+ apply -k \./), dir);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(
      'namespace/istio-system unchanged\nsecret/cacerts unchanged\ngateway.networking.istio.io/cross-network-gateway created\n',
    );

    const again = await kubectlFull(server, ['apply', '-k', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^(\S+ unchanged\n){3}$/);
  });

  it('stores the objects exactly as written', () => {
    const server = servers.get(cluster)!;
    const network = cluster.replace('cluster', 'network');
    const ns = JSON.parse(kubectl(server, ['get', 'namespace', 'istio-system', '-o', 'json']).stdout);
    expect(ns.metadata.labels['topology.istio.io/network']).toBe(network);

    const written = parseAllDocuments(fs.readFileSync(path.join(out, cluster, 'gateway.istio-system.cross-network-gateway.yaml'), 'utf8'))[0].toJS();
    const gw = JSON.parse(kubectl(server, ['-n', 'istio-system', 'get', 'gateways.networking.istio.io', 'cross-network-gateway', '-o', 'json']).stdout);
    expect(gw.apiVersion).toBe('networking.istio.io/v1');
    expect(gw.spec).toEqual(written.spec);

    const secret = JSON.parse(kubectl(server, ['-n', 'istio-system', 'get', 'secret', 'cacerts', '-o', 'json']).stdout);
    const writtenSecret = parseAllDocuments(fs.readFileSync(path.join(out, cluster, 'secret.istio-system.cacerts.yaml'), 'utf8'))[0].toJS();
    expect(secret.type).toBe('Opaque');
    expect(secret.data).toEqual(writtenSecret.data);
  });

  it('rejects a broken Gateway, so the check above can fail', async () => {
    const server = servers.get(cluster)!;
    const broken = path.join(tmpDir(), 'broken.yaml');
    const text = fs.readFileSync(path.join(out, cluster, 'gateway.istio-system.cross-network-gateway.yaml'), 'utf8');
    fs.writeFileSync(broken, text.replace('mode: AUTO_PASSTHROUGH', 'mode: AUTO_UNDERSCORE_PASSTHROUGH'));
    const r = await kubectlFull(server, ['apply', '--dry-run=server', '-f', broken]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unsupported value: "AUTO_UNDERSCORE_PASSTHROUGH"/);
  });
});

describe('every documented topology and the mixed fleet against a real API server', () => {
  const fixtures = fs.readdirSync(FIXTURE_TOPOLOGIES).filter((f) => f.endsWith('.yaml')).sort();

  it.each(fixtures)('%s: kubectl apply --dry-run=server -k succeeds on every cluster folder, without warnings', async (fixture) => {
    const server = servers.get('cluster1')!;
    const dir = tmpDir();
    fs.copyFileSync(path.join(FIXTURE_TOPOLOGIES, fixture), path.join(dir, fixture));
    const fixtureOut = path.join(dir, 'dist');
    await synthesize(loadTopology(path.join(dir, fixture)), { outdir: fixtureOut, keyStore: fixedKeyStore() });
    for (const cluster of fs.readdirSync(fixtureOut).sort()) {
      const r = await kubectlFull(server, ['apply', '--dry-run=server', '-k', path.join(fixtureOut, cluster)]);
      expect(r.stderr, `${fixture} ${cluster}`).toBe('');
      expect(r.code, `${fixture} ${cluster}`).toBe(0);
      expect(r.stdout, `${fixture} ${cluster}`).toMatch(/namespace\/istio-system (unchanged|configured) \(server dry run\)/);
    }
  });
});
