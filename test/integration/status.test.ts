/**
 * `meshgen status` against one real API server (the kube-apiserver kit):
 * both clusters' contexts point at it, cluster1's folder is applied, and
 * the objects a running Istio would have are made by hand (this server runs
 * no controllers). Then status says ok; a changed cacerts, a deleted and a
 * stale remote secret, and a server that never answers each give their
 * finding and exit 1.
 * The kit comes from $KUBE_APISERVER_KIT, ../shared/kube-apiserver beside
 * the repository, or /work/shared/kube-apiserver; without it this test
 * fails, it does not skip.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { meshYaml, REPO, runCli, tmpDir, workspace } from '../helpers';

// Each test waits on a real API server; the limit only guards against a hang.
vi.setConfig({ testTimeout: 300_000 });

const run = promisify(execFile);
const KIT =
  process.env.KUBE_APISERVER_KIT ??
  [path.resolve(REPO, '..', 'shared', 'kube-apiserver'), '/work/shared/kube-apiserver'].find((dir) => fs.existsSync(path.join(dir, 'start.sh'))) ??
  path.resolve(REPO, '..', 'shared', 'kube-apiserver');

let kitDir: string;
let kitKubeconfig: string;
let ws: { dir: string; file: string; out: string };
let adminToken: string;
/** A port that accepts connections and never answers. */
let silent: net.Server;

async function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: kitKubeconfig } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`))));
    child.stdin.end(input ?? '');
  });
}

/** Runs the built CLI without blocking this process (the silent port must keep accepting). */
function status(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'meshgen'), 'status', ...args], { cwd: ws.dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * The kubeconfig of the topology: contexts c1 and c2 both reach the kit's server, through its IPv4-mapped IPv6
 * address (not "local" to synth, which refuses 127.0.0.1 in remote secrets) and the name its certificate carries.
 */
function writeKubeconfig(c1Server?: string): void {
  const kit = parse(fs.readFileSync(kitKubeconfig, 'utf8'));
  const port = new URL(kit.clusters[0].cluster.server).port;
  const clusters = [
    { name: 'kit', cluster: { server: `https://[::ffff:127.0.0.1]:${port}`, 'certificate-authority': kit.clusters[0].cluster['certificate-authority'], 'tls-server-name': 'kubernetes' } },
    ...(c1Server ? [{ name: 'silent', cluster: { server: c1Server, 'insecure-skip-tls-verify': true } }] : []),
  ];
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters,
    users: [{ name: 'admin', user: { token: adminToken } }],
    contexts: [
      { name: 'c1', context: { cluster: c1Server ? 'silent' : 'kit', user: 'admin' } },
      { name: 'c2', context: { cluster: 'kit', user: 'admin' } },
    ],
  };
  fs.writeFileSync(path.join(ws.dir, 'kubeconfig'), stringify(config), { mode: 0o600 });
}

/** A value of a plaintext Secret file of the output. */
function outputSecretValue(cluster: string, file: string, key: string): string {
  const doc = parse(fs.readFileSync(path.join(ws.out, cluster, file), 'utf8'));
  return doc.stringData?.[key] ?? Buffer.from(doc.data[key], 'base64').toString('utf8');
}

function findings(stdout: string): Record<string, string> {
  const report = JSON.parse(stdout) as { clusters: { checks: { check: string; state: string }[] }[] };
  return Object.fromEntries(report.clusters[0].checks.map((c) => [c.check, c.state]));
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(KIT, 'start.sh'))) throw new Error(`kube-apiserver kit not found at ${KIT}: set KUBE_APISERVER_KIT to the folder holding start.sh`);
  kitDir = tmpDir('meshgen-kapi-status-');
  const { stdout } = await run(path.join(KIT, 'start.sh'), ['--istio-crds', kitDir], { timeout: 180_000 });
  const m = /export KUBECONFIG=(\S+)/.exec(stdout);
  if (!m) throw new Error(`start.sh printed no KUBECONFIG: ${stdout}`);
  kitKubeconfig = m[1];
  adminToken = parse(fs.readFileSync(kitKubeconfig, 'utf8')).users[0].user.token;
  silent = net.createServer(() => undefined).listen(0, '127.0.0.1');

  ws = workspace(
    meshYaml({
      clusters: [
        { name: 'cluster1', network: 'network1', context: 'c1' },
        { name: 'cluster2', network: 'network2', context: 'c2' },
      ],
      extra: '  credentials: {kubeconfig: kubeconfig}\n',
    }).replace('      network: network1\n', '      network: network1\n      eastWestGateway: {address: 192.0.2.10}\n'),
  );
  writeKubeconfig();
  const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
  if (r.code !== 0) throw new Error(`synth failed: ${r.stderr}`);

  // cluster1's folder, then what istioctl install and a running istiod would add.
  await kubectl(['apply', '-k', path.join(ws.out, 'cluster1')]);
  const root = outputSecretValue('cluster1', 'secret.istio-system.cacerts.yaml', 'root-cert.pem');
  const objects = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'istiod', namespace: 'istio-system', labels: { app: 'istiod' } },
      spec: {
        selector: { matchLabels: { app: 'istiod' } },
        template: {
          metadata: { labels: { app: 'istiod' } },
          spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.30.3', env: [{ name: 'CLUSTER_ID', value: 'cluster1' }] }] },
        },
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'defaultConfig:\n  meshId: mesh1\n' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-ca-root-cert', namespace: 'istio-system' }, data: { 'root-cert.pem': root } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } },
      spec: { type: 'LoadBalancer', selector: { istio: 'eastwestgateway' }, ports: [{ name: 'tls', port: 15443, targetPort: 15443 }] },
    },
  ];
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await kubectl([
    '-n', 'istio-system', 'patch', 'service', 'istio-eastwestgateway', '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } }),
  ]);
}, 240_000);

afterAll(async () => {
  silent?.close();
  if (kitDir) await run(path.join(KIT, 'stop.sh'), [kitDir]).catch(() => undefined);
});

describe('meshgen status against a real API server', () => {
  it('says ok for every check of an applied, running cluster, and exits 0', async () => {
    const r = await status(['--cluster', 'cluster1', '--json']);
    expect(r.stderr).toBe('');
    expect(findings(r.stdout)).toEqual({
      cacerts: 'ok',
      'istio-ca-root-cert': 'ok',
      istiod: 'ok',
      network: 'ok',
      'east-west-gateway': 'ok',
      'remote-secret/cluster2': 'ok',
      'remote-access/cluster2': 'ok',
    });
    expect(r.code).toBe(0);
  });

  it('finds a changed cacerts, a deleted and a stale remote secret, and exits 1; prints no secret value', async () => {
    const other = Buffer.from(outputSecretValue('cluster2', 'secret.istio-system.cacerts.yaml', 'ca-cert.pem')).toString('base64');
    await kubectl(['-n', 'istio-system', 'patch', 'secret', 'cacerts', '--type=merge', '-p', JSON.stringify({ data: { 'ca-cert.pem': other } })]);
    await kubectl(['-n', 'istio-system', 'delete', 'secret', 'istio-remote-secret-cluster2']);
    await kubectl(['-n', 'istio-system', 'create', 'secret', 'generic', 'istio-remote-secret-gone', '--from-literal=gone=x']);
    await kubectl(['-n', 'istio-system', 'label', 'secret', 'istio-remote-secret-gone', 'istio/multiCluster=true']);

    const r = await status(['--cluster', 'cluster1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cluster1 +cacerts +differs +the cluster's cacerts has intermediate /m);
    expect(r.stdout).toMatch(/^cluster1 +remote-secret\/cluster2 +missing +no Secret istio-system\/istio-remote-secret-cluster2/m);
    expect(r.stdout).toMatch(/^cluster1 +remote-secret\/gone +differs +stale istio-remote-secret-gone.*fix: kubectl --context=c1 -n istio-system delete secret istio-remote-secret-gone$/m);
    expect(r.stdout).toMatch(/^cluster1 +istiod +ok/m);
    const printed = r.stdout + r.stderr;
    expect(printed).not.toContain(adminToken);
    expect(printed).not.toContain('PRIVATE KEY');
    expect(printed).not.toContain(outputSecretValue('cluster1', 'secret.istio-system.cacerts.yaml', 'ca-key.pem').split('\n')[1]);
  });

  it('finds a wrong network label, and a remote secret whose token the server refuses (expired or revoked), and exits 1', async () => {
    await kubectl(['label', 'namespace', 'istio-system', 'topology.istio.io/network=wrong-network', '--overwrite']);
    // The output's remote secret for cluster2, with a token the API server does not know: what a revoked one looks like.
    const file = path.join(ws.out, 'cluster1', 'secret.istio-system.istio-remote-secret-cluster2.yaml');
    const secret = parse(fs.readFileSync(file, 'utf8'));
    const kubeconfig = parse(secret.stringData.cluster2);
    kubeconfig.users[0].user = { token: 'revoked-token-0123456789' };
    secret.stringData.cluster2 = stringify(kubeconfig);
    await kubectl(['apply', '-f', '-'], JSON.stringify(secret));

    const r = await status(['--cluster', 'cluster1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cluster1 +network +differs +istio-system is labelled topology\.istio\.io\/network="wrong-network", the topology says "network1"/m);
    expect(r.stdout).toMatch(/^cluster1 +remote-secret\/cluster2 +differs /m);
    expect(r.stdout).toMatch(/^cluster1 +remote-access\/cluster2 +differs +the API server at \S+ refused the credential \(HTTP 401\): the token is expired or revoked/m);
    expect(r.stdout + r.stderr).not.toMatch(/revoked-token-0123456789|PRIVATE KEY/);
    expect(r.stdout + r.stderr).not.toContain(adminToken);
  });

  it('discover stores the primary\'s load-balancer address, and synth of a primary-remote mesh fills remotePilotAddress with it', () => {
    // A second mesh on the same server: cluster1 serves the remote cluster2, and the topology sets no gateway address.
    const file = path.join(ws.dir, 'primary-remote.yaml');
    fs.writeFileSync(
      file,
      [
        'apiVersion: meshgen.dev/v1alpha1',
        'kind: Mesh',
        'metadata: {name: mesh-pr}',
        'spec:',
        '  istio: {version: 1.30.3}',
        '  trust: {keyStore: pki-pr, keyAlgorithm: ECDSA-P256}',
        '  credentials: {kubeconfig: kubeconfig}',
        '  clusters:',
        '    - {name: cluster1, context: c1, network: network1}',
        '    - {name: cluster2, context: c2, network: network1, role: remote, controlPlane: cluster1}',
        '',
      ].join('\n'),
    );
    const before = runCli(['validate', '-f', file], ws.dir);
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/meshgen discover --cluster cluster1/);

    const discovered = runCli(['discover', '-f', file, '--cluster', 'cluster1'], ws.dir);
    expect(discovered.code, discovered.stderr).toBe(0);
    expect(discovered.stdout).toContain('192.0.2.10');
    const state = JSON.parse(fs.readFileSync(path.join(ws.dir, 'pki-pr', 'discovered.json'), 'utf8'));
    expect(state.clusters.cluster1.address).toBe('192.0.2.10');

    const synth = runCli(['synth', '-f', file, '-o', 'dist-pr'], ws.dir);
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stdout).toMatch(/cluster1: east-west gateway address 192\.0\.2\.10 from meshgen discover \(\d{4}-\d{2}-\d{2}\)/);
    const remote = parse(fs.readFileSync(path.join(ws.dir, 'dist-pr', 'cluster2', 'istiooperator.remote.yaml'), 'utf8'));
    expect(remote.spec.values.global.remotePilotAddress).toBe('192.0.2.10');
    expect(discovered.stdout + discovered.stderr + synth.stdout + synth.stderr).not.toContain(adminToken);
  });

  it('reports a context whose server never answers as unreachable, within the time limit', async () => {
    writeKubeconfig(`https://127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
    const started = Date.now();
    const r = await status(['--cluster', 'cluster1', '--timeout', '2', '--json']);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.code).toBe(1);
    const states = new Set(Object.values(findings(r.stdout)));
    expect([...states]).toEqual(['unreachable']);
    expect(r.stdout).toMatch(/cannot reach the API server of context \\"c1\\" at https:\/\/127\.0\.0\.1:\d+ \(no answer within the time limit\)/);
  });
});
