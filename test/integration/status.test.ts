/**
 * `meshgen status` against real API servers (the kube-apiserver kit), one
 * per cluster: each cluster's folder is applied to its own server, and the
 * objects a running Istio would have are made by hand (these servers run no
 * controllers). Then status says ok for both; a changed cacerts, a deleted
 * and a stale remote secret, a wrong network label, a revoked token and a
 * server that never answers each give their finding and exit 1.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { meshYaml, REPO, runCli, workspace } from '../helpers';
import { ApiServer, startApiServer, stopApiServers } from '../helpers/api-server';

// Each test waits on real API servers; the limit only guards against a hang.
vi.setConfig({ testTimeout: 300_000 });

const CLUSTERS = ['cluster1', 'cluster2'] as const;
/** The load-balancer address each cluster's east-west gateway gets. */
const GATEWAY_ADDRESS = { cluster1: '192.0.2.10', cluster2: '192.0.2.20' };

const servers = new Map<string, ApiServer>();
let ws: { dir: string; file: string; out: string };
/** The admin token of each server. */
const adminTokens = new Map<string, string>();
/** A port that accepts connections and never answers. */
let silent: net.Server;

async function kubectl(cluster: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: servers.get(cluster)!.kubeconfig } });
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
 * The kubeconfig of the topology: context c1 reaches cluster1's server and c2 cluster2's, each through its
 * IPv4-mapped IPv6 address (not "local" to synth, which refuses 127.0.0.1 in remote secrets) and the name its
 * certificate carries; with `c1Server`, c1 points there instead.
 */
function writeKubeconfig(c1Server?: string): void {
  const entries = CLUSTERS.map((cluster, i) => {
    const kit = parse(fs.readFileSync(servers.get(cluster)!.kubeconfig, 'utf8'));
    const port = new URL(kit.clusters[0].cluster.server).port;
    const server = { server: `https://[::ffff:127.0.0.1]:${port}`, 'certificate-authority': kit.clusters[0].cluster['certificate-authority'], 'tls-server-name': 'kubernetes' };
    return { name: `c${i + 1}`, cluster: i === 0 && c1Server ? { server: c1Server, 'insecure-skip-tls-verify': true } : server, user: { token: adminTokens.get(cluster)! } };
  });
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map((e) => ({ name: e.name, cluster: e.cluster })),
    users: entries.map((e) => ({ name: e.name, user: e.user })),
    contexts: entries.map((e) => ({ name: e.name, context: { cluster: e.name, user: e.name } })),
  };
  fs.writeFileSync(path.join(ws.dir, 'kubeconfig'), stringify(config), { mode: 0o600 });
}

/** A value of a plaintext Secret file of the output. */
function outputSecretValue(cluster: string, file: string, key: string): string {
  const doc = parse(fs.readFileSync(path.join(ws.out, cluster, file), 'utf8'));
  return doc.stringData?.[key] ?? Buffer.from(doc.data[key], 'base64').toString('utf8');
}

function findings(stdout: string, cluster = 'cluster1'): Record<string, string> {
  const report = JSON.parse(stdout) as { clusters: { cluster: string; checks: { check: string; state: string }[] }[] };
  const c = report.clusters.find((x) => x.cluster === cluster)!;
  return Object.fromEntries(c.checks.map((f) => [f.check, f.state]));
}

/** Applies `cluster`'s folder to its server, then makes what istioctl install and a running istiod would add. */
async function applyAndRun(cluster: (typeof CLUSTERS)[number]): Promise<void> {
  await kubectl(cluster, ['apply', '-k', path.join(ws.out, cluster)]);
  const root = outputSecretValue(cluster, 'secret.istio-system.cacerts.yaml', 'root-cert.pem');
  const network = cluster.replace('cluster', 'network');
  const objects = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'istiod', namespace: 'istio-system', labels: { app: 'istiod' } },
      spec: {
        selector: { matchLabels: { app: 'istiod' } },
        template: {
          metadata: { labels: { app: 'istiod' } },
          spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.30.3', env: [{ name: 'CLUSTER_ID', value: cluster }] }] },
        },
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'defaultConfig:\n  meshId: mesh1\n' } },
    // istiod copies the root into every namespace; `default` stands for the workloads' namespaces.
    ...['istio-system', 'default'].map((namespace) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-ca-root-cert', namespace }, data: { 'root-cert.pem': root } })),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system', labels: { 'topology.istio.io/network': network } },
      spec: { type: 'LoadBalancer', selector: { istio: 'eastwestgateway' }, ports: [{ name: 'tls', port: 15443, targetPort: 15443 }] },
    },
  ];
  await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await kubectl(cluster, [
    '-n', 'istio-system', 'patch', 'service', 'istio-eastwestgateway', '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: GATEWAY_ADDRESS[cluster] }] } } }),
  ]);
}

beforeAll(async () => {
  // One after the other, as apply.test.ts starts its own: servers starting side by side overload a busy machine.
  for (const c of CLUSTERS) {
    const server = await startApiServer(`status-${c}`);
    servers.set(c, server);
    adminTokens.set(c, parse(fs.readFileSync(server.kubeconfig, 'utf8')).users[0].user.token);
  }
  silent = net.createServer(() => undefined).listen(0, '127.0.0.1');

  ws = workspace(
    meshYaml({
      clusters: [
        { name: 'cluster1', network: 'network1', context: 'c1' },
        { name: 'cluster2', network: 'network2', context: 'c2' },
      ],
      extra: '  credentials: {kubeconfig: kubeconfig}\n',
    })
      .replace('      network: network1\n', `      network: network1\n      eastWestGateway: {address: ${GATEWAY_ADDRESS.cluster1}}\n`)
      .replace('      network: network2\n', `      network: network2\n      eastWestGateway: {address: ${GATEWAY_ADDRESS.cluster2}}\n`),
  );
  writeKubeconfig();
  const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
  if (r.code !== 0) throw new Error(`synth failed: ${r.stderr}`);
  await Promise.all(CLUSTERS.map(applyAndRun));
}, 480_000);

afterAll(async () => {
  silent?.close();
  await stopApiServers(servers.values());
});

describe('meshgen status against a real API server', () => {
  it('says ok for every check of both applied, running clusters, each remote secret authenticating to the other server, and exits 0', async () => {
    const r = await status(['--json']);
    expect(r.stderr).toBe('');
    for (const [self, other] of [['cluster1', 'cluster2'], ['cluster2', 'cluster1']]) {
      expect(findings(r.stdout, self), self).toEqual({
        cacerts: 'ok',
        'istio-ca-root-cert': 'ok',
        istiod: 'ok',
        network: 'ok',
        'east-west-gateway': 'ok',
        [`remote-secret/${other}`]: 'ok',
        [`remote-access/${other}`]: 'ok',
      });
    }
    expect(r.code).toBe(0);
  });

  it('finds a changed cacerts, a deleted and a stale remote secret, and exits 1; prints no secret value', async () => {
    const other = Buffer.from(outputSecretValue('cluster2', 'secret.istio-system.cacerts.yaml', 'ca-cert.pem')).toString('base64');
    await kubectl('cluster1', ['-n', 'istio-system', 'patch', 'secret', 'cacerts', '--type=merge', '-p', JSON.stringify({ data: { 'ca-cert.pem': other } })]);
    await kubectl('cluster1', ['-n', 'istio-system', 'delete', 'secret', 'istio-remote-secret-cluster2']);
    await kubectl('cluster1', ['-n', 'istio-system', 'create', 'secret', 'generic', 'istio-remote-secret-gone', '--from-literal=gone=x']);
    await kubectl('cluster1', ['-n', 'istio-system', 'label', 'secret', 'istio-remote-secret-gone', 'istio/multiCluster=true']);

    const r = await status(['--cluster', 'cluster1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cluster1 +cacerts +differs +the cluster's cacerts has intermediate /m);
    expect(r.stdout).toMatch(/^cluster1 +remote-secret\/cluster2 +missing +no Secret istio-system\/istio-remote-secret-cluster2/m);
    expect(r.stdout).toMatch(/^cluster1 +remote-secret\/gone +differs +stale istio-remote-secret-gone.*fix: kubectl --context=c1 -n istio-system delete secret istio-remote-secret-gone$/m);
    expect(r.stdout).toMatch(/^cluster1 +istiod +ok/m);
    const printed = r.stdout + r.stderr;
    for (const token of adminTokens.values()) expect(printed).not.toContain(token);
    expect(printed).not.toContain('PRIVATE KEY');
    expect(printed).not.toContain(outputSecretValue('cluster1', 'secret.istio-system.cacerts.yaml', 'ca-key.pem').split('\n')[1]);
  });

  it('finds a wrong network label, and a remote secret whose token the server refuses (expired or revoked), and exits 1', async () => {
    await kubectl('cluster1', ['label', 'namespace', 'istio-system', 'topology.istio.io/network=wrong-network', '--overwrite']);
    // The output's remote secret for cluster2, with a token the API server does not know: what a revoked one looks like.
    const file = path.join(ws.out, 'cluster1', 'secret.istio-system.istio-remote-secret-cluster2.yaml');
    const secret = parse(fs.readFileSync(file, 'utf8'));
    const kubeconfig = parse(secret.stringData.cluster2);
    kubeconfig.users[0].user = { token: 'revoked-token-0123456789' };
    secret.stringData.cluster2 = stringify(kubeconfig);
    await kubectl('cluster1', ['apply', '-f', '-'], JSON.stringify(secret));

    const r = await status(['--cluster', 'cluster1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cluster1 +network +differs +istio-system is labelled topology\.istio\.io\/network="wrong-network", the topology says "network1"/m);
    expect(r.stdout).toMatch(/^cluster1 +remote-secret\/cluster2 +differs /m);
    expect(r.stdout).toMatch(/^cluster1 +remote-access\/cluster2 +differs +the API server at \S+ refused the credential \(HTTP 401\): the token is expired or revoked/m);
    expect(r.stdout + r.stderr).not.toMatch(/revoked-token-0123456789|PRIVATE KEY/);
    for (const token of adminTokens.values()) expect(r.stdout + r.stderr).not.toContain(token);
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
    expect(before.code, before.stderr).toBe(0);
    expect(before.stderr).toMatch(/waiting: control plane of remote "cluster2" .*\n.*meshgen discover --cluster cluster1/);

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
    for (const token of adminTokens.values()) expect(discovered.stdout + discovered.stderr + synth.stdout + synth.stderr).not.toContain(token);
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
