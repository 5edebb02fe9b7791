/**
 * `meshgen status`: the checks against fake clusters (a ClusterReader over
 * plain maps, made healthy from the synthesized output and then changed one
 * thing at a time), the report's JSON shape, the table, exit codes of the
 * command, and that no secret value ever reaches what it prints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/model/load';
import type { Topology } from '../../src/model/types';
import { checkStatus, formatStatusTable, StatusReport } from '../../src/status/status';
import { AccessResult, ClusterAccessError, ClusterReader, GatewayView, SecretView, ServiceView } from '../../src/status/reader';
import { FIXTURE_PKI, meshYaml, primaryRemoteYaml, runMain, workspace } from '../helpers';

const TOKENS = { cluster1: 'unit-token-one-1f9a', cluster2: 'unit-token-two-7c3e' };

/** What a fake cluster holds; reads come from these maps, by `namespace/name`. */
interface FakeState {
  unreachable?: boolean;
  /** The context may not list ConfigMaps cluster-wide (HTTP 403). */
  listForbidden?: boolean;
  secrets: Map<string, SecretView>;
  configMaps: Map<string, Record<string, string>>;
  deployments: Map<string, Record<string, string>>;
  namespaces: Map<string, Record<string, string>>;
  services: Map<string, ServiceView>;
  gateways: Map<string, GatewayView>;
  access: AccessResult;
}

function fakeReader(state: FakeState): ClusterReader {
  const read = async <T>(map: Map<string, T>, key: string): Promise<T | undefined> => {
    if (state.unreachable) throw new ClusterAccessError('cannot reach the API server of context "kind-cluster1" at https://cluster1.example:6443 (ECONNREFUSED)', 'check that the cluster is up', true);
    return map.get(key);
  };
  return {
    secret: (ns, name) => read(state.secrets, `${ns}/${name}`),
    secretsLabelled: async (ns, label, value) => [...state.secrets.entries()].filter(([k, s]) => k.startsWith(`${ns}/`) && s.labels[label] === value).map(([, s]) => s),
    configMap: (ns, name) => read(state.configMaps, `${ns}/${name}`),
    configMapsNamed: async (name) => {
      if (state.unreachable) throw new ClusterAccessError('cannot reach the API server', 'check that the cluster is up', true);
      if (state.listForbidden) throw new ClusterAccessError('context "kind-cluster1" may not read this (HTTP 403)', 'use another context', false);
      return [...state.configMaps.entries()].filter(([k]) => k.endsWith(`/${name}`)).map(([k, data]) => ({ namespace: k.split('/')[0], data }));
    },
    deploymentEnv: (ns, name) => read(state.deployments, `${ns}/${name}`),
    namespaceLabels: (name) => read(state.namespaces, name),
    service: (ns, name) => read(state.services, `${ns}/${name}`),
    gateway: (ns, name) => read(state.gateways, `${ns}/${name}`),
    nodes: async () => [],
    remoteAccess: async () => state.access,
  };
}

let ws: { dir: string; file: string; out: string };
let topology: Topology;

/** A plaintext Secret file of the output, as the API would return it (data in base64). */
function outputSecret(cluster: string, file: string): SecretView {
  const doc = parse(fs.readFileSync(path.join(ws.out, cluster, file), 'utf8'));
  const data: Record<string, string> = { ...(doc.data ?? {}) };
  for (const [k, v] of Object.entries((doc.stringData ?? {}) as Record<string, string>)) data[k] = Buffer.from(v).toString('base64');
  return { name: doc.metadata.name, labels: doc.metadata.labels ?? {}, data };
}

/** cluster1 as a healthy, running Istio would leave it after the folder was applied. */
function healthy(): FakeState {
  const cacerts = outputSecret('cluster1', 'secret.istio-system.cacerts.yaml');
  const root = Buffer.from(cacerts.data['root-cert.pem'], 'base64').toString('utf8');
  return {
    secrets: new Map([
      ['istio-system/cacerts', cacerts],
      ['istio-system/istio-remote-secret-cluster2', outputSecret('cluster1', 'secret.istio-system.istio-remote-secret-cluster2.yaml')],
    ]),
    configMaps: new Map<string, Record<string, string>>([
      ['istio-system/istio', { mesh: 'defaultConfig:\n  meshId: mesh1\n' }],
      ['istio-system/istio-ca-root-cert', { 'root-cert.pem': root }],
    ]),
    deployments: new Map([['istio-system/istiod', { CLUSTER_ID: 'cluster1' }]]),
    namespaces: new Map([['istio-system', { 'topology.istio.io/network': 'network1' }]]),
    services: new Map<string, ServiceView>([['istio-system/istio-eastwestgateway', { type: 'LoadBalancer', labels: { 'topology.istio.io/network': 'network1' }, ingress: ['192.0.2.10'], nodePorts: { tls: 31443 } }]]),
    gateways: new Map(),
    access: { kind: 'allowed' },
  };
}

async function statusOf(state: FakeState, outdir = ws.out): Promise<StatusReport> {
  return checkStatus(topology, { outdir, clusters: ['cluster1'], readerFor: () => fakeReader(state) });
}

function states(report: StatusReport): Record<string, string> {
  return Object.fromEntries(report.clusters[0].checks.map((f) => [f.check, f.state]));
}

/** Every value a secret holds here, in every form it could leak in. */
function secretStrings(): string[] {
  const cacerts = outputSecret('cluster1', 'secret.istio-system.cacerts.yaml');
  const key = Buffer.from(cacerts.data['ca-key.pem'], 'base64').toString('utf8');
  return [...Object.values(TOKENS), ...Object.values(TOKENS).map((t) => Buffer.from(t).toString('base64')), cacerts.data['ca-key.pem'], key.split('\n')[1], 'PRIVATE KEY'];
}

/** The topology's kubeconfig: contexts kind-cluster1 (at `cluster1Server`) and kind-cluster2, with CA data and tokens. */
function writeKubeconfig(cluster1Server: string): void {
  const ca = fs.readFileSync(path.join(FIXTURE_PKI, 'root-cert.pem')).toString('base64');
  const names = ['cluster1', 'cluster2'] as const;
  fs.writeFileSync(
    path.join(ws.dir, 'kubeconfig'),
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: names.map((n) => ({ name: n, cluster: { server: n === 'cluster1' ? cluster1Server : `https://${n}.example:6443`, 'certificate-authority-data': ca } })),
      users: names.map((n) => ({ name: n, user: { token: TOKENS[n] } })),
      contexts: names.map((n) => ({ name: `kind-${n}`, context: { cluster: n, user: n } })),
    }),
  );
}

beforeAll(async () => {
  ws = workspace(
    meshYaml({ clusters: [{ name: 'cluster1', network: 'network1' }, { name: 'cluster2', network: 'network2' }], extra: '  credentials: {kubeconfig: kubeconfig}\n' }).replace(
      '      network: network1\n',
      '      network: network1\n      eastWestGateway: {address: 192.0.2.10}\n',
    ),
  );
  writeKubeconfig('https://cluster1.example:6443');
  const r = await runMain(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
  expect(fs.existsSync(path.join(ws.out, 'cluster1', 'secret.istio-system.istio-remote-secret-cluster2.yaml')), r.stderr).toBe(true);
  // From here on nothing answers for cluster1's context (the command line tests); synth refuses such a server, status reads through it.
  writeKubeconfig('https://127.0.0.1:1');
  topology = loadTopology([ws.file]);
});

describe('status checks against a fake cluster', () => {
  it('says ok for every check of a healthy cluster', async () => {
    const report = await statusOf(healthy());
    expect(states(report)).toEqual({
      cacerts: 'ok',
      'istio-ca-root-cert': 'ok',
      istiod: 'ok',
      network: 'ok',
      'east-west-gateway': 'ok',
      'remote-secret/cluster2': 'ok',
      'remote-access/cluster2': 'ok',
    });
    expect(report.ok).toBe(true);
    expect(report.counts).toEqual({ ok: 7, differs: 0, missing: 0, unreachable: 0 });
  });

  const differs: [string, string, (s: FakeState) => void, RegExp][] = [
    ['another intermediate in cacerts', 'cacerts', (s) => s.secrets.set('istio-system/cacerts', outputSecret('cluster2', 'secret.istio-system.cacerts.yaml')), /intermediate [0-9A-F:]+…, the output has/],
    ['a root missing from istio-ca-root-cert', 'istio-ca-root-cert', (s) => s.configMaps.set('istio-system/istio-ca-root-cert', { 'root-cert.pem': '' }), /lacks root/],
    [
      "a namespace's copy of istio-ca-root-cert without the root",
      'istio-ca-root-cert',
      (s) => {
        const root = s.configMaps.get('istio-system/istio-ca-root-cert')!;
        s.configMaps.set('shop/istio-ca-root-cert', root);
        s.configMaps.set('sample/istio-ca-root-cert', { 'root-cert.pem': '' });
      },
      /^the copy in namespace sample lacks a root that istio-system's carries/,
    ],
    ['istiod with another clusterName', 'istiod', (s) => s.deployments.set('istio-system/istiod', { CLUSTER_ID: 'Kubernetes' }), /clusterName "Kubernetes", not "cluster1"/],
    ['istiod with another meshID', 'istiod', (s) => s.configMaps.set('istio-system/istio', { mesh: 'defaultConfig:\n  meshId: other\n' }), /meshID "other", not "mesh1"/],
    ['a wrong network label', 'network', (s) => s.namespaces.set('istio-system', { 'topology.istio.io/network': 'network9' }), /labelled topology.istio.io\/network="network9", the topology says "network1"/],
    [
      'a gateway at another address',
      'east-west-gateway',
      (s) => s.services.set('istio-system/istio-eastwestgateway', { ...s.services.get('istio-system/istio-eastwestgateway')!, ingress: ['198.51.100.7'] }),
      /address 198\.51\.100\.7, the topology's eastWestGateway\.address is 192\.0\.2\.10/,
    ],
    [
      'a gateway without an address',
      'east-west-gateway',
      (s) => s.services.set('istio-system/istio-eastwestgateway', { ...s.services.get('istio-system/istio-eastwestgateway')!, ingress: [] }),
      /no external address yet/,
    ],
    [
      'a remote secret with another kubeconfig',
      'remote-secret/cluster2',
      (s) => {
        const secret = s.secrets.get('istio-system/istio-remote-secret-cluster2')!;
        s.secrets.set('istio-system/istio-remote-secret-cluster2', { ...secret, data: { cluster2: Buffer.from('apiVersion: v1\nkind: Config\n').toString('base64') } });
      },
      /carries another kubeconfig than/,
    ],
    [
      'a stale remote secret of a cluster that left',
      'remote-secret/gone',
      (s) => s.secrets.set('istio-system/istio-remote-secret-gone', { name: 'istio-remote-secret-gone', labels: { 'istio/multiCluster': 'true' }, data: {} }),
      /stale istio-remote-secret-gone/,
    ],
    ['an expired token in a remote secret', 'remote-access/cluster2', (s) => (s.access = { kind: 'unauthenticated', status: 401 }), /refused the credential \(HTTP 401\): the token is expired or revoked/],
    ['a credential that may not list pods', 'remote-access/cluster2', (s) => (s.access = { kind: 'denied', what: 'list pods cluster-wide' }), /may not list pods cluster-wide/],
  ];
  it.each(differs)('says differs for %s', async (_what, check, change, detail) => {
    const state = healthy();
    change(state);
    const report = await statusOf(state);
    const finding = report.clusters[0].checks.find((f) => f.check === check)!;
    expect(finding.state).toBe('differs');
    expect(finding.detail).toMatch(detail);
    expect(finding.fix).toBeTruthy();
    expect(report.ok).toBe(false);
    expect(report.clusters[0].checks.filter((f) => f.state !== 'ok').map((f) => f.check)).toEqual([check]);
  });

  it('says differs for a gateway at another address than meshgen discover stored, and ok at that address, saying where it came from', async () => {
    const mesh = topology.meshes[0];
    const discovered = {
      ...topology,
      meshes: [{ ...mesh, clusters: mesh.clusters.map((c) => (c.name === 'cluster1' ? { ...c, eastWestGateway: { ...c.eastWestGateway, addressSource: 'discovered' as const } } : c)) }],
    };
    const state = healthy();
    const gateway = (ingress: string[]) => state.services.set('istio-system/istio-eastwestgateway', { ...state.services.get('istio-system/istio-eastwestgateway')!, ingress });
    const finding = async () => (await checkStatus(discovered, { outdir: ws.out, clusters: ['cluster1'], readerFor: () => fakeReader(state) })).clusters[0].checks.find((f) => f.check === 'east-west-gateway');
    gateway(['198.51.100.7']);
    expect(await finding()).toEqual({
      check: 'east-west-gateway',
      state: 'differs',
      detail: 'Service istio-eastwestgateway: address 198.51.100.7, the address meshgen discover stored is 192.0.2.10',
      fix: 'run meshgen discover --cluster cluster1, then synth and apply the clusters that use it',
    });
    gateway(['192.0.2.10']);
    expect(await finding()).toEqual({ check: 'east-west-gateway', state: 'ok', detail: 'Service istio-eastwestgateway: address 192.0.2.10 (as meshgen discover stored it)' });
  });

  it("checks an ambient mesh's Gateway API Gateway, and its Service only where there is no Gateway", async () => {
    const mesh = topology.meshes[0];
    const ambient = { ...topology, meshes: [{ ...mesh, dataplane: 'ambient' as const }] };
    const state = healthy();
    const finding = async () => (await checkStatus(ambient, { outdir: ws.out, clusters: ['cluster1'], readerFor: () => fakeReader(state) })).clusters[0].checks.find((f) => f.check === 'east-west-gateway');
    expect(await finding()).toMatchObject({ state: 'ok', detail: 'Service istio-eastwestgateway: address 192.0.2.10 (as the topology says)' });
    const labels = { 'topology.istio.io/network': 'network1' };
    state.gateways.set('istio-system/istio-eastwestgateway', { labels, addresses: ['192.0.2.10'] });
    expect(await finding()).toMatchObject({ state: 'ok', detail: 'Gateway istio-eastwestgateway: address 192.0.2.10 (as the topology says)' });
    // The Gateway decides, whatever its Service has.
    state.gateways.set('istio-system/istio-eastwestgateway', { labels, addresses: [] });
    expect(await finding()).toMatchObject({ state: 'differs', detail: 'Gateway istio-eastwestgateway: no external address yet' });
    state.gateways.clear();
    state.services.clear();
    expect(await finding()).toMatchObject({ state: 'missing', detail: 'no Gateway or Service istio-system/istio-eastwestgateway' });
  });

  it("checks istio-ca-root-cert in every namespace, and istio-system's alone when the context may not list them cluster-wide", async () => {
    const state = healthy();
    const root = state.configMaps.get('istio-system/istio-ca-root-cert')!;
    for (const ns of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) state.configMaps.set(`${ns}/istio-ca-root-cert`, ns === 'a' ? root : { 'root-cert.pem': '' });
    const many = (await statusOf(state)).clusters[0].checks.find((f) => f.check === 'istio-ca-root-cert')!;
    expect(many.state).toBe('differs');
    expect(many.detail).toMatch(/^the copies in 6 namespaces \(b, c, d, e, f and 1 more\) lack a root/);
    expect(many.fix).toMatch(/kubectl --context=kind-cluster1 -n <namespace> delete configmap istio-ca-root-cert/);

    state.listForbidden = true;
    const own = (await statusOf(state)).clusters[0].checks.find((f) => f.check === 'istio-ca-root-cert')!;
    expect(own.state).toBe('ok');
    expect(own.detail).toMatch(/in istio-system \(the context may not list ConfigMaps cluster-wide: other namespaces not checked\)$/);

    for (const ns of ['b', 'c', 'd', 'e', 'f', 'g']) state.configMaps.set(`${ns}/istio-ca-root-cert`, root);
    state.listForbidden = false;
    const all = (await statusOf(state)).clusters[0].checks.find((f) => f.check === 'istio-ca-root-cert')!;
    expect(all).toMatchObject({ state: 'ok', detail: expect.stringMatching(/in istio-system and in 7 other namespaces$/) });
  });

  const missing: [string, string, (s: FakeState) => void][] = [
    ['cacerts', 'cacerts', (s) => s.secrets.delete('istio-system/cacerts')],
    ['istio-ca-root-cert', 'istio-ca-root-cert', (s) => s.configMaps.delete('istio-system/istio-ca-root-cert')],
    ['istiod', 'istiod', (s) => s.deployments.delete('istio-system/istiod')],
    ['the namespace', 'network', (s) => s.namespaces.delete('istio-system')],
    ['the east-west gateway', 'east-west-gateway', (s) => s.services.delete('istio-system/istio-eastwestgateway')],
  ];
  it.each(missing)('says missing when %s is not there', async (_what, check, change) => {
    const state = healthy();
    change(state);
    const finding = (await statusOf(state)).clusters[0].checks.find((f) => f.check === check)!;
    expect(finding.state).toBe('missing');
    expect(finding.fix).toBeTruthy();
  });

  it('says missing for a remote secret that is not applied, and for its access', async () => {
    const state = healthy();
    state.secrets.delete('istio-system/istio-remote-secret-cluster2');
    const report = await statusOf(state);
    expect(states(report)).toMatchObject({ 'remote-secret/cluster2': 'missing', 'remote-access/cluster2': 'missing' });
    expect(report.clusters[0].checks.find((f) => f.check === 'remote-secret/cluster2')!.fix).toMatch(/^apply the folder: kubectl --context=kind-cluster1 apply -k /);
  });

  it('says unreachable for every check of a cluster that does not answer, with the reason once per check', async () => {
    const report = await statusOf({ ...healthy(), unreachable: true });
    expect(new Set(Object.values(states(report)))).toEqual(new Set(['unreachable']));
    expect(Object.keys(states(report))).toHaveLength(7);
    expect(report.clusters[0].checks[0].detail).toMatch(/cannot reach the API server of context "kind-cluster1"/);
  });

  it('says unreachable for a remote secret whose server does not answer', async () => {
    const state = healthy();
    state.access = { kind: 'unreachable', reason: 'no answer within the time limit' };
    const finding = (await statusOf(state)).clusters[0].checks.find((f) => f.check === 'remote-access/cluster2')!;
    expect(finding).toMatchObject({ state: 'unreachable', detail: 'no answer from the API server at https://cluster2.example:6443 (no answer within the time limit)' });
  });

  it('compares an encrypted cacerts through the marker fingerprints', async () => {
    const out = path.join(ws.dir, 'dist-sops');
    fs.cpSync(ws.out, out, { recursive: true });
    const file = path.join(out, 'cluster1', 'secret.istio-system.cacerts.yaml');
    fs.rmSync(file);
    fs.mkdirSync(path.join(out, 'cluster1', 'secrets'), { recursive: true });
    fs.writeFileSync(
      path.join(out, 'cluster1', 'secrets', 'secret.istio-system.cacerts.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata: {name: cacerts, namespace: istio-system}\ndata:\n  ca-cert.pem: ENC[AES256_GCM,data:x]\nsops:\n  version: 3.13.0\n',
    );
    let finding = (await statusOf(healthy(), out)).clusters[0].checks.find((f) => f.check === 'cacerts')!;
    expect(finding).toMatchObject({ state: 'ok' });
    expect(finding.detail).toMatch(/the output is sops: compared with its marker's fingerprints/);
    const other = healthy();
    const second = outputSecret('cluster2', 'secret.istio-system.cacerts.yaml');
    // Another mesh's root: the fixture's cluster3 intermediate stands in for one.
    other.secrets.set('istio-system/cacerts', { ...second, data: { ...second.data, 'root-cert.pem': fs.readFileSync(path.join(FIXTURE_PKI, 'cluster3', 'ca-cert.pem')).toString('base64') } });
    finding = (await statusOf(other, out)).clusters[0].checks.find((f) => f.check === 'cacerts')!;
    expect(finding.state).toBe('differs');
    expect(finding.detail).toMatch(/roots [0-9A-F:]+…, the output has/);
  });

  it('reports a cluster without an output folder as missing output', async () => {
    const report = await statusOf(healthy(), path.join(ws.dir, 'nowhere'));
    expect(report.clusters[0].checks[0]).toMatchObject({ check: 'output', state: 'missing' });
  });
});

describe('the report', () => {
  it('has a stable JSON shape', async () => {
    const state = healthy();
    state.deployments.delete('istio-system/istiod');
    const json = JSON.parse(JSON.stringify(await statusOf(state)));
    expect(Object.keys(json)).toEqual(['ok', 'counts', 'clusters']);
    expect(json.ok).toBe(false);
    expect(json.counts).toEqual({ ok: 6, differs: 0, missing: 1, unreachable: 0 });
    expect(json.clusters).toHaveLength(1);
    expect(Object.keys(json.clusters[0])).toEqual(['mesh', 'cluster', 'context', 'role', 'checks']);
    expect(json.clusters[0]).toMatchObject({ mesh: 'mesh1', cluster: 'cluster1', context: 'kind-cluster1', role: 'primary' });
    expect(json.clusters[0].checks.find((c: { check: string }) => c.check === 'istiod')).toEqual({
      check: 'istiod',
      state: 'missing',
      detail: 'no Deployment istio-system/istiod',
      fix: 'install the control plane as the README says',
    });
    expect(json.clusters[0].checks[0]).toEqual({ check: 'cacerts', state: 'ok', detail: expect.stringMatching(/^intermediate [0-9A-F:]+… and root [0-9A-F:]+… match /) });
  });

  it('prints one line per check, then a summary', async () => {
    const state = healthy();
    state.namespaces.set('istio-system', {});
    const table = formatStatusTable(await statusOf(state));
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CLUSTER +CHECK +STATE +DETAIL$/);
    expect(lines).toHaveLength(1 + 7 + 1);
    expect(lines[4]).toBe(
      'cluster1  network                 differs  istio-system is labelled topology.istio.io/network=(none), the topology says "network1"; fix: apply namespace.istio-system.yaml of the folder, then restart istiod and the east-west gateway',
    );
    expect(lines[lines.length - 1]).toBe('1 cluster: 6 ok, 1 differs');
  });

  it('never prints a secret value, whatever differs', async () => {
    const state = healthy();
    state.secrets.set('istio-system/cacerts', outputSecret('cluster2', 'secret.istio-system.cacerts.yaml'));
    const secret = state.secrets.get('istio-system/istio-remote-secret-cluster2')!;
    state.secrets.set('istio-system/istio-remote-secret-cluster2', { ...secret, data: { cluster2: Buffer.from(`users: [{user: {token: ${TOKENS.cluster1}}}]\n`).toString('base64') } });
    state.access = { kind: 'unauthenticated', status: 401 };
    const report = await statusOf(state);
    const printed = formatStatusTable(report) + JSON.stringify(report);
    for (const s of secretStrings()) expect(printed).not.toContain(s);
  });
});

describe('meshgen status on the command line', () => {
  it('exits 2 for a cluster that is not in the topology', async () => {
    const r = await runMain(['status', '-f', ws.file, '-o', ws.out, '--cluster', 'nope'], ws.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('meshgen: not clusters of the topology: nope (it has cluster1, cluster2)\n');
    expect(r.stdout).toBe('');
  });

  it('exits 2 for a timeout that is not a number of seconds', async () => {
    const r = await runMain(['status', '-f', ws.file, '--timeout', '0'], ws.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give a number of seconds above 0/);
  });

  it('exits 1 and says unreachable for a context nothing answers, without a token in its output', async () => {
    const r = await runMain(['status', '-f', ws.file, '-o', ws.out, '--cluster', 'cluster1', '--timeout', '5', '--json'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as StatusReport;
    expect(report.counts).toEqual({ ok: 0, differs: 0, missing: 0, unreachable: 7 });
    expect(report.clusters[0].checks[0].detail).toBe('cannot reach the API server of context "kind-cluster1" at https://127.0.0.1:1 (ECONNREFUSED)');
    for (const s of secretStrings()) expect(r.stdout).not.toContain(s);
  });
});

describe('status of a remote waiting for its primary\'s address', () => {
  it('says its control plane is missing from the output, and what to run', async () => {
    const w = workspace(primaryRemoteYaml());
    const r = await runMain(['synth', '-q', '-f', w.file, '-o', w.out], w.dir);
    expect(r.code, r.stderr).toBe(0);
    const empty: FakeState = { secrets: new Map(), configMaps: new Map(), deployments: new Map(), namespaces: new Map([['istio-system', {}]]), services: new Map(), gateways: new Map(), access: { kind: 'allowed' } };
    const report = await checkStatus(loadTopology([w.file]), { outdir: w.out, clusters: ['cluster2'], readerFor: () => fakeReader(empty) });
    const finding = report.clusters[0].checks[0];
    expect(finding).toEqual({
      check: 'control-plane',
      state: 'missing',
      detail: 'the output holds no control plane for this remote yet: it waits for the east-west gateway address of "cluster1"',
      fix: 'install "cluster1" by its README, then run meshgen discover --cluster cluster1 and meshgen synth again (or set eastWestGateway.address of "cluster1" in the topology), then apply this cluster\'s folder',
    });
    expect(report.ok).toBe(false);
    // A cluster that does not answer: what the output alone tells stays missing, the rest is unreachable.
    const away = await checkStatus(loadTopology([w.file]), { outdir: w.out, clusters: ['cluster2'], readerFor: () => fakeReader({ ...empty, unreachable: true }) });
    expect(away.clusters[0].checks.map((f) => [f.check, f.state])).toEqual([
      ['control-plane', 'missing'],
      ['cacerts', 'unreachable'],
      ['istio-ca-root-cert', 'unreachable'],
      ['network', 'unreachable'],
    ]);
  });
});
