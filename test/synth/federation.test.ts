/**
 * Multi-mesh federation: the objects each side gets, the mesh settings, and
 * every validation failure with its message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/errors';
import { loadTopology, parseTopology } from '../../src/model/load';
import { staticAddresses } from '../../src/model/federation-plan';
import { synthesize } from '../../src/synth/synthesize';
import { awaitingOf, incompleteOutputError, pendingOf, resolveTopologyCredentials } from '../../src/synth/pending';
import { readDeployedCacerts } from '../../src/synth/deployed';
import { generatePrivateKey } from '../../src/pki/certificates';
import { pemCertificates } from '../../src/pki/inspect';
import { advanceRootRotation } from '../../src/pki/rotate';
import { FIXTURE_TOPOLOGIES, fixedKeyStore, synthFixture, thrown, tmpDir, walk } from '../helpers';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any };


function objects(out: string, cluster: string): Obj[] {
  const dir = path.join(out, cluster);
  return walk(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Obj));
}

const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);

describe('federation of mesh-east and mesh-west (shared root)', () => {
  let out: string;
  beforeAll(async () => {
    out = await synthFixture('federation.yaml');
  });

  it('imports echo into every cluster of mesh-east through mesh-west\'s gateway, with mutual TLS and the split', () => {
    for (const cluster of ['cluster-east-1', 'cluster-east-2']) {
      const objs = objects(out, cluster);
      expect(find(objs, 'ServiceEntry', 'echo.demo.global')!.spec).toEqual({
        hosts: ['echo.demo.global'],
        location: 'MESH_INTERNAL',
        resolution: 'DNS',
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        endpoints: [{ address: 'eastwest.west-1.example.com', locality: 'us-west-2/us-west-2a', ports: { http: 15443 } }],
      });
      expect(find(objs, 'DestinationRule', 'echo.demo.global')!.spec).toEqual({ host: 'echo.demo.global', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } });
      expect(find(objs, 'VirtualService', 'echo-demo-split')!.spec).toEqual({
        hosts: ['echo.demo.svc.cluster.local'],
        http: [
          {
            route: [
              { destination: { host: 'echo.demo.svc.cluster.local' }, weight: 80 },
              { destination: { host: 'echo.demo.global' }, weight: 20 },
            ],
          },
        ],
      });
    }
  });

  it('exports ledger from both east clusters: a workloadSelector ServiceEntry and a Gateway for that host only', () => {
    for (const cluster of ['cluster-east-1', 'cluster-east-2']) {
      const objs = objects(out, cluster);
      expect(find(objs, 'ServiceEntry', 'ledger.payments.global')!.metadata.namespace).toBe('payments');
      expect(find(objs, 'ServiceEntry', 'ledger.payments.global')!.spec.workloadSelector).toEqual({ labels: { 'app.kubernetes.io/name': 'ledger' } });
      expect(find(objs, 'Gateway', 'federation-gateway')!.spec.servers).toEqual([
        { port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['ledger.payments.global'] },
      ]);
    }
    const west = objects(out, 'cluster-west-1');
    expect(find(west, 'ServiceEntry', 'ledger.payments.global')!.spec.endpoints).toEqual([
      { address: '198.51.100.11', locality: 'us-east1/us-east1-b', ports: { 'tcp-postgres': 15443 } },
      { address: '198.51.100.12', locality: 'us-east1/us-east1-c', ports: { 'tcp-postgres': 15443 } },
    ]);
    expect(find(west, 'ServiceEntry', 'ledger.payments.global')!.spec.resolution).toBe('STATIC');
    expect(find(west, 'ServiceEntry', 'echo.demo.global')!.spec.ports).toEqual([{ number: 80, targetPort: 8080, name: 'http', protocol: 'HTTP' }]);
    // mesh-west has one network, so its gateway exists only because it exports.
    expect(find(west, 'IstioOperator', 'eastwest')).toBeDefined();
    expect(find(west, 'Gateway', 'cross-network-gateway')).toBeUndefined();
  });

  it('sets trust domains, aliases and DNS proxying in the control planes (no auto-allocate flag from Istio 1.25 on)', () => {
    const east = find(objects(out, 'cluster-east-1'), 'IstioOperator', 'control-plane')!.spec.meshConfig;
    expect(east).toEqual({
      trustDomain: 'east.example.com',
      trustDomainAliases: ['west.example.com'],
      defaultConfig: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true' } },
    });
    expect(find(objects(out, 'cluster-west-1'), 'IstioOperator', 'control-plane')!.spec.meshConfig.trustDomainAliases).toEqual(['east.example.com']);
  });

  it('shares one root between the meshes', () => {
    const root = (cluster: string) =>
      Buffer.from(parse(fs.readFileSync(path.join(out, cluster, 'secret.istio-system.cacerts.yaml'), 'utf8')).data['root-cert.pem'], 'base64').toString();
    expect(root('cluster-east-1')).toBe(root('cluster-west-1'));
  });
});

describe('federation with trust bundles and static addresses', () => {
  it("makes each mesh trust the other's root, allocates a stable address, and asks old Istio to allocate addresses itself only when auto", async () => {
    const out = await synthFixture('federation-trust-bundles.yaml');
    const root = (cluster: string) =>
      Buffer.from(parse(fs.readFileSync(path.join(out, cluster, 'secret.istio-system.cacerts.yaml'), 'utf8')).data['root-cert.pem'], 'base64').toString();
    expect(root('cluster-a')).not.toBe(root('cluster-b'));
    const iopA = find(objects(out, 'cluster-a'), 'IstioOperator', 'control-plane')!.spec;
    const a = iopA.meshConfig;
    expect(a.caCertificates).toEqual([{ pem: root('cluster-b') }]);
    // Without these istiod ignores caCertificates and proxies never receive the extra root.
    expect(a.defaultConfig.proxyMetadata).toEqual({ ISTIO_META_DNS_CAPTURE: 'true', PROXY_CONFIG_XDS_AGENT: 'true' });
    expect(iopA.values.pilot).toEqual({ env: { ISTIO_MULTIROOT_MESH: 'true' } });
    const se = find(objects(out, 'cluster-a'), 'ServiceEntry', 'reviews.shop.mesh')!;
    expect(se.spec.addresses).toEqual([staticAddresses(loadTopology(path.join(FIXTURE_TOPOLOGIES, 'federation-trust-bundles.yaml'))).get('reviews.shop.mesh')]);
    expect(se.spec.addresses[0]).toMatch(/^240\.241\.\d+\.\d+$/);
    expect(find(objects(out, 'cluster-b'), 'IstioOperator', 'control-plane')!.spec.meshConfig.caCertificates).toEqual([{ pem: root('cluster-a') }]);
  });

  it('during a root rotation of one mesh, makes the other trust both of its roots, one caCertificates entry each', async () => {
    const out = await synthFixture('federation-trust-bundles.yaml');
    const file = path.join(path.dirname(out), 'federation-trust-bundles.yaml');
    const topology = loadTopology(file);
    const meshA = topology.meshes.find((m) => m.clusters.some((c) => c.name === 'cluster-a'))!;
    await advanceRootRotation([meshA], readDeployedCacerts(out, meshA.name), { generateKey: () => generatePrivateKey(2048), start: true });
    await synthesize(topology, { outdir: out, keyStore: { generateKey: () => generatePrivateKey(2048) } });
    const rootsOfA = Buffer.from(parse(fs.readFileSync(path.join(out, 'cluster-a', 'secret.istio-system.cacerts.yaml'), 'utf8')).data['root-cert.pem'], 'base64').toString();
    expect(pemCertificates(rootsOfA)).toHaveLength(2);
    const b = find(objects(out, 'cluster-b'), 'IstioOperator', 'control-plane')!.spec;
    expect(b.meshConfig.caCertificates).toEqual(pemCertificates(rootsOfA).map((pem) => ({ pem })));
  });

  it('sets ISTIO_META_DNS_AUTO_ALLOCATE before Istio 1.25 with auto allocation', async () => {
    const dir = tmpDir();
    const text = fs
      .readFileSync(path.join(FIXTURE_TOPOLOGIES, 'federation-trust-bundles.yaml'), 'utf8')
      .replace('addressAllocation: static', 'addressAllocation: auto');
    fs.writeFileSync(path.join(dir, 'm.yaml'), text);
    await synthesize(loadTopology(path.join(dir, 'm.yaml')), { outdir: path.join(dir, 'dist'), keyStore: fixedKeyStore() });
    const cp = find(objects(path.join(dir, 'dist'), 'cluster-a'), 'IstioOperator', 'control-plane')!;
    expect(cp.spec.meshConfig.defaultConfig.proxyMetadata).toEqual({ ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true', PROXY_CONFIG_XDS_AGENT: 'true' });
  });
});

describe('federation validation', () => {
  const base = fs.readFileSync(path.join(FIXTURE_TOPOLOGIES, 'federation.yaml'), 'utf8');
  const FILE = '/topo/fed.yaml';
  const cases: { name: string; edit: (s: string) => string; expect: RegExp[] }[] = [
    {
      name: 'fails when a federation names a mesh that does not exist',
      edit: (s) => s.replace('meshes: [mesh-east, mesh-west]', 'meshes: [mesh-east, mesh-wset]'),
      expect: [/spec\.meshes\[1\]: mesh "mesh-wset" is not defined in the topology/, /did you mean "mesh-west"\?/],
    },
    {
      name: 'fails when an export comes from a mesh outside the federation',
      edit: (s) => s.replace('from: mesh-west', 'from: mesh-north'),
      expect: [/spec\.exports\[0\]\.from: mesh "mesh-north" is not a mesh of federation "east-west"/],
    },
    {
      name: 'fails when a mesh exports to itself',
      edit: (s) => s.replace('to: [mesh-east]', 'to: [mesh-west]'),
      expect: [/spec\.exports\[0\]\.to\[0\]: mesh "mesh-west" exports the service to itself/],
    },
    {
      name: 'fails when two exports give one mesh the same host',
      edit: (s) => `${s}    - {service: echo, namespace: demo, from: mesh-west, to: [mesh-east], ports: [{number: 8080, name: http, protocol: HTTP}]}\n`,
      expect: [/spec\.exports\[2\]\.service: mesh "mesh-east" would import host echo\.demo\.global twice: it is already exported to it at/],
    },
    {
      name: 'fails when split weights do not add up to 100',
      edit: (s) => s.replace('split: {local: 80, remote: 20}', 'split: {local: 80, remote: 30}'),
      expect: [/spec\.exports\[0\]\.split: split weights add up to 110, not 100/],
    },
    {
      name: 'fails when shared-root meshes have different key stores',
      edit: (s) => s.replace('keyStore: .meshgen/federated-pki\n  clusters:\n    - name: cluster-west-1', 'keyStore: .meshgen/west-pki\n  clusters:\n    - name: cluster-west-1'),
      expect: [/meshes "mesh-east" and "mesh-west" have different key stores, so different root CAs, but trust shared-root needs one root/, /or set trust: trust-bundles/],
    },
    {
      name: 'fails when meshes share a key store without a shared-root federation',
      edit: (s) => s.replace('meshes: [mesh-east, mesh-west]', 'meshes: [mesh-east, mesh-west]\n  trust: trust-bundles'),
      expect: [/spec\.trust\.keyStore: the key store of mesh "mesh-west" is also the key store of mesh "mesh-east", so both meshes would share one root CA/],
    },
    {
      name: 'fails when an export lists a cluster of another mesh',
      edit: (s) => s.replace('      split: {local: 80, remote: 20}', '      split: {local: 80, remote: 20}\n      clusters: [cluster-east-1]'),
      expect: [/spec\.exports\[0\]\.clusters\[0\]: cluster "cluster-east-1" is not a cluster of mesh "mesh-west"/],
    },
    {
      name: 'fails when two meshes share a network',
      edit: (s) => s.replace('network: network-west', 'network: network-east-1'),
      expect: [/network "network-east-1" is already a network of mesh "mesh-east"/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const text = c.edit(base);
      expect(text).not.toBe(base);
      const err = thrown(() => parseTopology([{ file: FILE, text }]), TopologyError);
      for (const re of c.expect) expect(err.message).toMatch(re);
    });
  }
});

describe('meshes sharing a key store', () => {
  const mesh = (name: string, n: number) =>
    `apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata:\n  name: ${name}\nspec:\n  istio: {version: 1.30.3}\n  trust: {keyStore: pki}\n  clusters:\n    - {name: c${n}, context: k${n}, network: n${n}, eastWestGateway: {address: 192.0.2.${n}}}\n`;
  const fed = (name: string, a: string, b: string) =>
    `apiVersion: meshgen.dev/v1alpha1\nkind: MeshFederation\nmetadata:\n  name: ${name}\nspec:\n  meshes: [${a}, ${b}]\n` +
    `  exports:\n    - {service: s${name}, namespace: demo, from: ${a}, to: [${b}], ports: [{number: 80, name: http, protocol: HTTP}]}\n`;
  const parse = (docs: string[]) => () => parseTopology([{ file: 'mesh.yaml', text: docs.join('---\n') }]);

  it('are accepted in any document order when shared-root federations join them, even through another mesh', () => {
    const feds = [fed('f1', 'a', 'b'), fed('f2', 'a', 'c')];
    for (const order of [['a', 'b', 'c'], ['b', 'a', 'c'], ['c', 'b', 'a']]) {
      expect(parse([...order.map((m) => mesh(m, m.charCodeAt(0) - 96)), ...feds])).not.toThrow();
    }
  });

  it('are refused in any document order when nothing joins them', () => {
    for (const order of [['a', 'b', 'c'], ['b', 'a', 'c'], ['c', 'b', 'a']]) {
      const err = thrown(parse([...order.map((m) => mesh(m, m.charCodeAt(0) - 96)), fed('f1', 'a', 'b')]), TopologyError);
      expect(err.message).toMatch(/the key store of mesh "(a|b|c)" is also the key store of mesh "(a|b|c)"/);
      expect(err.message).toMatch(/"c"/);
    }
  });
});

describe('an import whose exporting cluster has no gateway address yet', () => {
  it('waits: the importers get no ServiceEntry for it, their README and the reports say to run discover, and the address brings it', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'fed.yaml');
    const base = fs.readFileSync(path.join(FIXTURE_TOPOLOGIES, 'federation.yaml'), 'utf8');
    fs.writeFileSync(file, base.replace('      eastWestGateway: {address: eastwest.west-1.example.com}\n', ''));
    const topology = loadTopology(file);
    expect(awaitingOf(topology).map((a) => [a.kind, a.mesh, a.subject, a.waitsFor])).toEqual([['import', 'mesh-east', 'import of echo.demo.global', 'cluster-west-1']]);
    const out = path.join(dir, 'dist');
    const result = await synthesize(topology, { outdir: out, keyStore: fixedKeyStore() });
    expect(result.awaiting).toHaveLength(1);
    expect(find(objects(out, 'cluster-east-1'), 'ServiceEntry', 'echo.demo.global')).toBeUndefined();
    // The other direction is unaffected: mesh-west still imports ledger from mesh-east.
    expect(find(objects(out, 'cluster-west-1'), 'ServiceEntry', 'ledger.payments.global')).toBeDefined();
    const readme = fs.readFileSync(path.join(out, 'cluster-east-1', 'README.md'), 'utf8');
    expect(readme).toContain('- `echo.demo.global` at `cluster-west-1` of mesh `mesh-west`: once it is installed, run `meshgen discover -f ../../fed.yaml --cluster cluster-west-1` and `meshgen synth -f ../../fed.yaml -o ..` from this folder');
    expect(incompleteOutputError(topology, pendingOf(topology, resolveTopologyCredentials(topology, {})), awaitingOf(topology))?.problems.map((p) => p.path)).toContain('cluster "cluster-west-1" eastWestGateway.address');

    fs.writeFileSync(file, base);
    await synthesize(loadTopology(file), { outdir: out, keyStore: fixedKeyStore() });
    expect(find(objects(out, 'cluster-east-1'), 'ServiceEntry', 'echo.demo.global')).toBeDefined();
    expect(fs.readFileSync(path.join(out, 'cluster-east-1', 'README.md'), 'utf8')).not.toContain('meshgen discover');
  });
});
