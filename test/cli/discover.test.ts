/**
 * `meshgen discover` against a fake API server: which gateway addresses it
 * stores in `<keyStore>/discovered.json`, which it only reports, and how
 * validate and synth use a stored address where the topology sets none.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { CliResult, meshYaml, primaryRemoteYaml, REPO, tmpDir, workspace } from '../helpers';

const SERVICE_PATH = '/api/v1/namespaces/istio-system/services/istio-eastwestgateway';

/** A primary-remote mesh on one network: only cluster1 (the primary) has an east-west gateway. */
const primaryRemote = (address?: string) => primaryRemoteYaml({ address });

/** A kubeconfig with the one context kind-cluster1, at `server`. */
function kubeconfig(dir: string, server: string): string {
  const file = path.join(dir, 'kubeconfig.yaml');
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: not-a-real-token}}]',
      'contexts: [{name: kind-cluster1, context: {cluster: c, user: u}}]',
      'current-context: kind-cluster1',
      '',
    ].join('\n'),
  );
  return file;
}

/** Runs the built CLI without blocking this process, so the fake API server can answer. */
function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'meshgen'), ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The ambient east-west Gateway (Gateway API) of istio-system. */
const GATEWAY_PATH = '/apis/gateway.networking.k8s.io/v1/namespaces/istio-system/gateways/istio-eastwestgateway';

/**
 * A fake API server answering the east-west gateway Service GET with `service` (404 when undefined), the node list
 * with `nodes`, and the ambient east-west Gateway with `gateway` (404 when undefined); counts requests.
 */
async function fakeServer(service: object | undefined, nodes: object[] | 'forbidden' = [], gateway?: object): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url?.split('?')[0] === GATEWAY_PATH && gateway) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Gateway', apiVersion: 'gateway.networking.k8s.io/v1', metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system' }, ...gateway }));
    } else if (req.url?.split('?')[0] === SERVICE_PATH && service) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Service', apiVersion: 'v1', metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system' }, ...service }));
    } else if (req.url?.split('?')[0] === '/api/v1/nodes' && nodes === 'forbidden') {
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Failure","code":403}');
    } else if (req.url?.split('?')[0] === '/api/v1/nodes') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: nodes }));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const servers: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A workspace with the mesh, and a fake API server for cluster1 answering `service`. */
async function setup(service: object | undefined, address?: string) {
  const ws = workspace(primaryRemote(address));
  const server = await fakeServer(service);
  servers.push(server);
  const env = { KUBECONFIG: kubeconfig(ws.dir, server.url) };
  const discovered = path.join(ws.dir, 'pki', 'discovered.json');
  return { ...ws, server, env, discovered, discover: (...args: string[]) => run(['discover', ...args, '--timeout', '5'], ws.dir, env) };
}

const loadBalancer = (ingress: object[]) => ({ spec: { type: 'LoadBalancer', ports: [{ name: 'tls', port: 15443 }] }, status: { loadBalancer: { ingress } } });

describe('meshgen discover', () => {
  it('stores a LoadBalancer ingress IP in the key store, and validate and synth use it where the topology sets no address', async () => {
    const t = await setup(loadBalancer([{ ip: '192.0.2.10' }, { ip: '192.0.2.11' }]));
    // Before discover: the primary serving a remote has no address, so the remote's control plane waits, and the next step is discover.
    const before = await run(['validate'], t.dir, t.env);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/valid, with the remote secrets of 1 cluster pending and 1 remote waiting for its primary's address \(validate --strict fails on it\)/);
    expect(before.stderr).toMatch(/^waiting: control plane of remote "cluster2" \(mesh "mesh1"\): it reaches the istiod of "cluster1" through that cluster's east-west gateway, whose address is not known yet$/m);
    expect(before.stderr).toMatch(/next: install "cluster1" by its README, then run meshgen discover --cluster cluster1 and meshgen synth again \(or set eastWestGateway\.address of "cluster1" in the topology\)/);
    const strict = await run(['validate', '--strict'], t.dir, t.env);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/cluster "cluster1" eastWestGateway\.address: the control plane of remote "cluster2" \(mesh "mesh1"\) cannot be written/);
    // synth writes the primary whole and the remote's namespace and CA, with a README that says what comes next.
    const early = await run(['synth', '-o', 'dist'], t.dir, { KUBECONFIG: path.join(t.dir, 'no-such-kubeconfig') });
    expect(early.code, early.stderr).toBe(0);
    expect(fs.readdirSync(path.join(t.out, 'cluster2')).sort()).toEqual(['.meshgen-output', 'README.md', 'kustomization.yaml', 'namespace.istio-system.yaml', 'secret.istio-system.cacerts.yaml']);
    const waiting = fs.readFileSync(path.join(t.out, 'cluster2', 'README.md'), 'utf8');
    expect(waiting).toContain('## Waiting for the address of `cluster1`');
    expect(waiting).toContain('   meshgen discover -f ../../mesh.yaml --cluster cluster1\n   meshgen synth -f ../../mesh.yaml -o ..\n');
    expect(fs.readFileSync(path.join(t.out, 'cluster1', 'README.md'), 'utf8')).toContain('run `meshgen discover -f ../../mesh.yaml --cluster cluster1` and then `meshgen synth -f ../../mesh.yaml -o ..` from this folder');
    expect(fs.existsSync(path.join(t.out, 'cluster1', 'istiooperator.control-plane.yaml'))).toBe(true);

    const r = await t.discover();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cluster1: 192\.0\.2\.10 from Service istio-system\/istio-eastwestgateway, stored in .*discovered\.json$/m);
    expect(r.stdout).not.toMatch(/cluster2/);
    expect(t.server.requests).toEqual([`GET ${SERVICE_PATH}`]);
    expect(r.stdout + r.stderr).not.toMatch(/not-a-real-token/);
    const stored = JSON.parse(fs.readFileSync(t.discovered, 'utf8'));
    expect(stored).toEqual({
      version: 1,
      clusters: { cluster1: { address: '192.0.2.10', from: 'Service istio-system/istio-eastwestgateway', discovered: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } },
    });
    expect(fs.statSync(t.discovered).mode & 0o777).toBe(0o644);
    // The topology file is not touched.
    expect(fs.readFileSync(t.file, 'utf8')).toBe(primaryRemote());

    const valid = await run(['validate'], t.dir, t.env);
    expect(valid.code, valid.stderr).toBe(0);
    const date = stored.clusters.cluster1.discovered.slice(0, 10);
    const synth = await run(['synth', '-o', 'dist'], t.dir, { KUBECONFIG: path.join(t.dir, 'no-such-kubeconfig') });
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stdout).toContain(`cluster1: east-west gateway address 192.0.2.10 from meshgen discover (${date})`);
    const remote = fs.readFileSync(path.join(t.out, 'cluster2', 'istiooperator.remote.yaml'), 'utf8');
    expect(remote).toMatch(/remotePilotAddress: 192\.0\.2\.10\n/);
    const readme = fs.readFileSync(path.join(t.out, 'cluster2', 'README.md'), 'utf8');
    expect(readme).toContain(`reached at \`192.0.2.10\` (discovered by \`meshgen discover\` on ${date}).`);

    // Discovering again with the same address keeps the file (and the date the address was first read).
    const text = fs.readFileSync(t.discovered, 'utf8');
    const again = await t.discover('--cluster', 'cluster1');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^cluster1: 192\.0\.2\.10 from Service istio-system\/istio-eastwestgateway, unchanged since /m);
    expect(fs.readFileSync(t.discovered, 'utf8')).toBe(text);
  });

  it('stores a LoadBalancer ingress hostname, keeping the entries of other clusters', async () => {
    const t = await setup(loadBalancer([{ hostname: 'eastwest.cluster1.example.com' }]));
    const other = { address: '198.51.100.7', from: 'Service istio-system/istio-eastwestgateway', discovered: '2026-01-02T03:04:05.000Z' };
    fs.writeFileSync(t.discovered, JSON.stringify({ version: 1, clusters: { other: other } }));
    const r = await t.discover();
    expect(r.code, r.stderr).toBe(0);
    const stored = JSON.parse(fs.readFileSync(t.discovered, 'utf8'));
    expect(stored.clusters.other).toEqual(other);
    expect(stored.clusters.cluster1).toMatchObject({ address: 'eastwest.cluster1.example.com', from: 'Service istio-system/istio-eastwestgateway' });
    const synth = await run(['synth', '-o', 'dist'], t.dir, { KUBECONFIG: path.join(t.dir, 'no-such-kubeconfig') });
    expect(synth.code, synth.stderr).toBe(0);
    expect(fs.readFileSync(path.join(t.out, 'cluster2', 'istiooperator.remote.yaml'), 'utf8')).toMatch(/remotePilotAddress: eastwest\.cluster1\.example\.com\n/);
  });

  it("reports a primary's NodePort Service, which cannot serve its remotes istiod on 15012, with its fix, and stores nothing", async () => {
    const t = await setup({ spec: { type: 'NodePort', ports: [{ name: 'tls', port: 15443, nodePort: 31443 }] }, status: { loadBalancer: {} } });
    const r = await t.discover();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cluster1: no address: Service istio-system\/istio-eastwestgateway is a NodePort Service: remotes reach istiod on port 15012 of the gateway address/m);
    expect(r.stdout).toContain('fix: make it a LoadBalancer Service (eastWestGateway.serviceType), or set eastWestGateway.address to an address that serves port 15012');
    expect(fs.existsSync(t.discovered)).toBe(false);
  });

  it("stores a NodePort exporter's node address and the node port of tls, and the importing mesh's ServiceEntry calls that port", async () => {
    const dir = workspace().dir;
    const mesh = (name: string, cluster: string, network: string, gateway: string) =>
      `apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: ${name}}\nspec:\n  trustDomain: ${name}.example.com\n  istio: {version: 1.30.3}\n  trust: {keyStore: fed-pki, keyAlgorithm: ECDSA-P256}\n` +
      `  clusters:\n    - {name: ${cluster}, context: kind-${cluster}, network: ${network}, eastWestGateway: ${gateway}}\n`;
    const file = path.join(dir, 'federation.yaml');
    fs.writeFileSync(
      file,
      [
        mesh('mesh-a', 'cluster1', 'net-a', '{serviceType: NodePort}'),
        mesh('mesh-b', 'cluster2', 'net-b', '{address: 192.0.2.20}'),
        'apiVersion: meshgen.dev/v1alpha1\nkind: MeshFederation\nmetadata: {name: ab}\nspec:\n  meshes: [mesh-a, mesh-b]\n  exports:\n' +
          '    - {service: echo, namespace: demo, from: mesh-a, to: [mesh-b], ports: [{number: 80, name: http, protocol: HTTP}]}\n',
      ].join('---\n'),
    );
    const node = (name: string, addresses: object[], ready = 'True') => ({ metadata: { name }, status: { addresses, conditions: [{ type: 'Ready', status: ready }] } });
    const server = await fakeServer({ spec: { type: 'NodePort', ports: [{ name: 'status-port', port: 15021, nodePort: 30021 }, { name: 'tls', port: 15443, nodePort: 31443 }] }, status: { loadBalancer: {} } }, [
      node('node-c', [{ type: 'InternalIP', address: '10.0.0.3' }, { type: 'ExternalIP', address: '203.0.113.3' }]),
      node('node-b', [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'ExternalIP', address: '203.0.113.2' }]),
      node('node-a', [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'ExternalIP', address: '203.0.113.1' }], 'False'),
    ]);
    servers.push(server);
    const env = { KUBECONFIG: kubeconfig(dir, server.url) };
    const before = await run(['validate', '-f', 'federation.yaml'], dir, env);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/with 1 imported service endpoint waiting for its exporting cluster's address/);
    expect(before.stderr).toMatch(/^waiting: import of echo\.demo\.global \(mesh "mesh-b"\): calls to it go to the east-west gateways of the clusters of mesh "mesh-a" that run it, and the address of "cluster1" is not known yet$/m);

    const r = await run(['discover', '-f', 'federation.yaml', '--timeout', '5'], dir, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mesh-a\/cluster1: 203\.0\.113\.2:31443 from Service istio-system\/istio-eastwestgateway \(node port of "tls"\) on Node node-b \(ExternalIP\), stored in /m);
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'fed-pki', 'discovered.json'), 'utf8'));
    expect(stored.clusters.cluster1).toMatchObject({ address: '203.0.113.2', port: 31443 });

    const synth = await run(['synth', '-f', 'federation.yaml', '-o', 'dist'], dir, { KUBECONFIG: path.join(dir, 'no-such-kubeconfig') });
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stdout).toContain('cluster1: east-west gateway address 203.0.113.2:31443 from meshgen discover');
    const entry = parse(fs.readFileSync(path.join(dir, 'dist', 'cluster2', 'serviceentry.istio-system.echo.demo.global.yaml'), 'utf8'));
    expect(entry.spec.endpoints).toEqual([{ address: '203.0.113.2', ports: { http: 31443 } }]);

    // Set in the topology, a NodePort exporter's address needs its port too.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('{serviceType: NodePort}', '{serviceType: NodePort, address: 203.0.113.9}'));
    const noPort = await run(['validate', '-f', 'federation.yaml'], dir, env);
    expect(noPort.code).toBe(1);
    expect(noPort.stderr).toMatch(/spec\.clusters\[0\]\.eastWestGateway\.address: cluster "cluster1" exports echo\.demo\.global to other meshes through a NodePort gateway at 203\.0\.113\.9, .* no port is set/);
    expect(noPort.stderr).toMatch(/fix: set eastWestGateway\.port of "cluster1" to the node port of its "tls" port/);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('address: 203.0.113.9}', 'address: 203.0.113.9, port: 30443}'));
    expect((await run(['synth', '-f', 'federation.yaml', '-o', 'dist'], dir, { KUBECONFIG: path.join(dir, 'no-such-kubeconfig') })).code).toBe(0);
    const pinned = parse(fs.readFileSync(path.join(dir, 'dist', 'cluster2', 'serviceentry.istio-system.echo.demo.global.yaml'), 'utf8'));
    expect(pinned.spec.endpoints).toEqual([{ address: '203.0.113.9', ports: { http: 30443 } }]);
  });

  it("reports a NodePort exporter whose nodes the context may not list, with the fix, and stores nothing", async () => {
    const dir = tmpDir();
    fs.writeFileSync(
      path.join(dir, 'mesh.yaml'),
      meshYaml({ clusters: [{ name: 'cluster1', network: 'network1' }, { name: 'cluster2', network: 'network2' }] }).replace(
        '      network: network1\n',
        '      network: network1\n      eastWestGateway: {serviceType: NodePort}\n',
      ),
    );
    const server = await fakeServer({ spec: { type: 'NodePort', ports: [{ name: 'tls', port: 15443, nodePort: 31443 }] }, status: { loadBalancer: {} } }, 'forbidden');
    servers.push(server);
    const r = await run(['discover', '--cluster', 'cluster1', '--timeout', '5'], dir, { KUBECONFIG: kubeconfig(dir, server.url) });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cluster1: no address: Service istio-system\/istio-eastwestgateway is a NodePort Service, and the context may not list the cluster's nodes to find an address \(context "kind-cluster1" may not read this \(HTTP 403\)\)$/m);
    expect(r.stdout).toContain('fix: use a context that may list nodes, or set eastWestGateway.address (and eastWestGateway.port)');
    expect(fs.existsSync(path.join(dir, 'pki', 'discovered.json'))).toBe(false);
  });

  it('reads a NodePort gateway from the InternalIP of a ready node when no node has an ExternalIP, and reports each Service it cannot use', async () => {
    const dir = tmpDir();
    fs.writeFileSync(
      path.join(dir, 'mesh.yaml'),
      meshYaml({ clusters: [{ name: 'cluster1', network: 'network1' }, { name: 'cluster2', network: 'network2' }] }).replace('      network: network1\n', '      network: network1\n      eastWestGateway: {serviceType: NodePort}\n'),
    );
    const node = (name: string, ready: string, addresses: object[]) => ({ metadata: { name }, status: { addresses, conditions: [{ type: 'Ready', status: ready }] } });
    const nodePort = (ports: object[]) => ({ spec: { type: 'NodePort', ports }, status: { loadBalancer: {} } });
    const tls = [{ name: 'tls', port: 15443, nodePort: 31443 }];
    const cases: [string, object, object[], RegExp][] = [
      ['InternalIP only', nodePort(tls), [node('n2', 'True', [{ type: 'InternalIP', address: '10.0.0.2' }]), node('n1', 'False', [{ type: 'ExternalIP', address: '203.0.113.1' }])], /^cluster1: 10\.0\.0\.2:31443 from Service istio-system\/istio-eastwestgateway \(node port of "tls"\) on Node n2 \(InternalIP: no node has an ExternalIP, so the other networks must reach this one\), stored in /m],
      ['no tls node port', nodePort([{ name: 'status-port', port: 15021, nodePort: 30021 }]), [], /^cluster1: no address: Service istio-system\/istio-eastwestgateway is a NodePort Service without a node port for its "tls" port\n {4}fix: install "cluster1" by its README again/m],
      ['no ready node', nodePort(tls), [node('n1', 'False', [{ type: 'ExternalIP', address: '203.0.113.1' }])], /^cluster1: no address: Service istio-system\/istio-eastwestgateway is a NodePort Service, and no ready node has an address\n {4}fix: set eastWestGateway\.address \(and eastWestGateway\.port\)/m],
      ['ClusterIP', { spec: { type: 'ClusterIP', ports: tls }, status: { loadBalancer: {} } }, [], /^cluster1: no address: Service istio-system\/istio-eastwestgateway is of type ClusterIP, which other networks cannot reach\n {4}fix: make it a LoadBalancer Service/m],
    ];
    for (const [what, service, nodes, expected] of cases) {
      fs.rmSync(path.join(dir, 'pki', 'discovered.json'), { force: true });
      const server = await fakeServer(service, nodes);
      servers.push(server);
      const r = await run(['discover', '--cluster', 'cluster1', '--timeout', '5'], dir, { KUBECONFIG: kubeconfig(dir, server.url) });
      expect(r.stdout, what).toMatch(expected);
      expect(r.code, what).toBe(what === 'InternalIP only' ? 0 : 1);
      expect(fs.existsSync(path.join(dir, 'pki', 'discovered.json')), what).toBe(what === 'InternalIP only');
    }
  });

  it("reads an ambient mesh's east-west Gateway: its address, none yet, or its Service when there is no Gateway", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), meshYaml({ clusters: [{ name: 'cluster1', network: 'network1' }, { name: 'cluster2', network: 'network2' }] }).replace('  istio:\n', '  dataplane: ambient\n  istio:\n'));
    const cases: [string, object | undefined, object | undefined, RegExp, number][] = [
      ['Gateway with an address', { status: { addresses: [{ type: 'IPAddress', value: '192.0.2.50' }] } }, undefined, /^cluster1: 192\.0\.2\.50 from Gateway istio-system\/istio-eastwestgateway, stored in /m, 0],
      ['Gateway without one', { status: {} }, loadBalancer([{ ip: '192.0.2.60' }]), /^cluster1: no address: Gateway istio-system\/istio-eastwestgateway has no address yet\n {4}fix: wait for the load balancer, then run meshgen discover again$/m, 1],
      ['no Gateway, its Service', undefined, loadBalancer([{ ip: '192.0.2.70' }]), /^cluster1: 192\.0\.2\.70 from Service istio-system\/istio-eastwestgateway, stored in /m, 0],
    ];
    for (const [what, gateway, service, expected, code] of cases) {
      fs.rmSync(path.join(dir, 'pki', 'discovered.json'), { force: true });
      const server = await fakeServer(service, [], gateway);
      servers.push(server);
      const r = await run(['discover', '--cluster', 'cluster1', '--timeout', '5'], dir, { KUBECONFIG: kubeconfig(dir, server.url) });
      expect(r.stdout, what).toMatch(expected);
      expect(r.code, what).toBe(code);
      expect(server.requests[0], what).toBe(`GET ${GATEWAY_PATH}`);
    }
  });

  it('reports a LoadBalancer Service without an ingress yet and stores nothing', async () => {
    const t = await setup(loadBalancer([]));
    const r = await t.discover();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cluster1: no address: Service istio-system\/istio-eastwestgateway has no load-balancer ingress yet/m);
    expect(r.stdout).toContain('fix: wait for the load balancer');
    expect(fs.existsSync(t.discovered)).toBe(false);
    // No Service at all: install the cluster first.
    const none = await setup(undefined);
    const n = await none.discover();
    expect(n.code).toBe(1);
    expect(n.stdout).toMatch(/Service istio-system\/istio-eastwestgateway does not exist\n {4}fix: install "cluster1" by its README first/);
  });

  it('skips a cluster whose topology sets the address, without asking its API server: the topology wins', async () => {
    const t = await setup(loadBalancer([{ ip: '192.0.2.99' }]), '192.0.2.10');
    fs.writeFileSync(t.discovered, JSON.stringify({ version: 1, clusters: { cluster1: { address: '192.0.2.99', from: 'x', discovered: '2026-01-02T00:00:00Z' } } }));
    const r = await t.discover();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cluster1: set in the topology \(192\.0\.2\.10\); skipped$/m);
    expect(t.server.requests).toEqual([]);
    const synth = await run(['synth', '-o', 'dist'], t.dir, { KUBECONFIG: path.join(t.dir, 'no-such-kubeconfig') });
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stdout).not.toMatch(/from meshgen discover/);
    expect(fs.readFileSync(path.join(t.out, 'cluster2', 'istiooperator.remote.yaml'), 'utf8')).toMatch(/remotePilotAddress: 192\.0\.2\.10\n/);
    expect(fs.readFileSync(path.join(t.out, 'cluster2', 'README.md'), 'utf8')).not.toMatch(/discovered by/);
  });

  it('reports a cluster it cannot reach, and a cluster that has no gateway, and refuses an unknown cluster', async () => {
    const t = await setup(undefined);
    const port = Number(new URL(t.server.url).port);
    await t.server.close();
    const r = await t.discover('--cluster', 'cluster1', 'cluster2');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^cluster1: no address: cannot reach the API server of context "kind-cluster1" at http://127\\.0\\.0\\.1:${port}`, 'm'));
    expect(r.stdout).toMatch(/^cluster2: has no east-west gateway .*; skipped$/m);
    expect(r.stdout + r.stderr).not.toMatch(/not-a-real-token/);
    // Only a cluster without a gateway: said of it, not of the whole topology, and nothing to fail.
    const none = await t.discover('--cluster', 'cluster2');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('cluster2: has no east-west gateway (a remote reaches its primary "cluster1" through the primary\'s gateway); skipped\nnone of these clusters has an east-west gateway: nothing to discover\n');
    const usage = await t.discover('--cluster', 'cluster9');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/not clusters of the topology: cluster9/);
  });

  it('fails validate and synth on a damaged discovered.json, naming the file and the fix; discover replaces it', async () => {
    const t = await setup(loadBalancer([{ ip: '192.0.2.10' }]));
    fs.writeFileSync(t.discovered, '{"version": 1, "clusters": ');
    for (const cmd of [['validate'], ['synth', '-o', 'dist']]) {
      const r = await run(cmd, t.dir, t.env);
      expect(r.code, cmd.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/pki\/discovered\.json: is damaged: not JSON\n\s+fix: run meshgen discover again or delete it/);
    }
    fs.writeFileSync(t.discovered, '{"version": 1, "clusters": {"cluster1": {"address": 5}}}');
    expect((await run(['validate'], t.dir, t.env)).stderr).toMatch(/discovered\.json: is damaged: the entry of cluster "cluster1"/);
    const r = await t.discover();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(t.discovered, 'utf8')).clusters.cluster1.address).toBe('192.0.2.10');
    expect((await run(['validate'], t.dir, t.env)).code).toBe(0);
  });
});
