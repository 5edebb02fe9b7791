/**
 * Ambient meshes (spec.dataplane: ambient) against what Istio 1.30's own
 * tools and guides write: the east-west gateway of gen-eastwest-gateway.sh
 * --ambient, the waypoint of istioctl waypoint generate, istiod's ambient
 * settings, and the cni and ztunnel charts' values, in every install form.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_TOPOLOGIES, readTree, REPO, runCli, synthFixture, walk, workspace } from '../helpers';
import { chartValueKeys, checkValues } from '../helpers/istio-api';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; [k: string]: any };

const FLEET_KUBECONFIG = path.join(FIXTURE_TOPOLOGIES, '..', 'kubeconfig', 'fleet.yaml');
const ISTIO_OUTPUT = path.join(REPO, 'test', 'fixtures', 'istio');
const FORMS = ['ambient-multi-network.yaml', 'ambient-install-helm.yaml', 'ambient-install-sail.yaml', 'ambient-install-flux.yaml', 'ambient-install-argocd.yaml'];
const outputs = new Map<string, string>();
/** The clusters of the ambient fixtures and their networks. */
const CLUSTERS = [
  ['cluster1', 'network1'],
  ['cluster2', 'network2'],
  ['cluster3', 'network3'],
] as const;

beforeAll(async () => {
  for (const f of FORMS) outputs.set(f, await synthFixture(f, { KUBECONFIG: FLEET_KUBECONFIG }));
});

function objects(out: string, cluster: string): Obj[] {
  const dir = path.join(out, cluster);
  return walk(dir)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'))
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Obj));
}

function istioTool(file: string): Obj {
  return parse(fs.readFileSync(path.join(ISTIO_OUTPUT, file), 'utf8')) as Obj;
}

/** The values of each Istio chart a folder installs, from whichever form it takes. */
function chartValues(out: string, cluster: string): Map<string, Record<string, any>> {
  const objs = objects(out, cluster);
  const values = new Map<string, Record<string, any>>();
  for (const o of objs) {
    if (o.kind === 'HelmRelease') values.set(o.spec.chart.spec.chart, o.spec.values ?? {});
    if (o.kind === 'Application' && o.spec.source.chart) values.set(o.spec.source.chart, o.spec.source.helm?.valuesObject ?? {});
  }
  for (const f of walk(path.join(out, cluster)).filter((x) => x.startsWith('helm/'))) {
    const release = path.basename(f, '.values.yaml');
    const chart = { 'istio-base': 'base', 'istio-cni': 'cni' }[release] ?? (release.startsWith('istiod') ? 'istiod' : release);
    values.set(chart, parse(fs.readFileSync(path.join(out, cluster, f), 'utf8')) ?? {});
  }
  return values;
}

/** Leaf keys of `values` that `known` lacks; `profile` is read by every Istio chart's profile template. */
function unknownKeys(values: Record<string, unknown>, known: Set<string>): string[] {
  const out: string[] = [];
  const visit = (v: unknown, at: string) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      if (at !== 'profile' && !known.has(at)) out.push(at);
      return;
    }
    for (const [k, child] of Object.entries(v)) visit(child, at ? `${at}.${k}` : k);
  };
  visit(values, '');
  return out;
}

describe.each(FORMS)('ambient: %s', (fixture) => {
  it("writes the east-west gateway that gen-eastwest-gateway.sh --ambient writes, with the cluster's network", () => {
    const out = outputs.get(fixture)!;
    const upstream = istioTool('gen-eastwest-gateway-ambient.yaml');
    for (const [cluster, network] of CLUSTERS) {
      const gateways = objects(out, cluster).filter((o) => o.kind === 'Gateway' && o.metadata.namespace === 'istio-system');
      expect(gateways).toHaveLength(1);
      const expected = { ...upstream, metadata: { ...upstream.metadata, labels: { 'topology.istio.io/network': network } } };
      expect(gateways[0]).toEqual(expected);
    }
  });

  it('writes the waypoint istioctl waypoint generate writes, in every cluster alike, its Service global', () => {
    const out = outputs.get(fixture)!;
    const upstream = istioTool('waypoint-generate-for-service.yaml');
    const waypoints = CLUSTERS.map(([c]) => c).map((c) => objects(out, c).filter((o) => o.kind === 'Gateway' && o.spec.gatewayClassName === 'istio-waypoint'));
    expect(waypoints[0]).toEqual(waypoints[1]);
    expect(waypoints[0]).toEqual(waypoints[2]);
    expect(waypoints[0]).toEqual([{ ...upstream, spec: { ...upstream.spec, infrastructure: { labels: { 'istio.io/global': 'true' } } } }]);
  });

  it('writes no sidecar pieces: no east-west gateway Service or Deployment, no cross-network Gateway, no injection label', () => {
    const out = outputs.get(fixture)!;
    for (const [cluster] of CLUSTERS) {
      const objs = objects(out, cluster);
      expect(objs.filter((o) => o.kind === 'Gateway' && o.apiVersion.startsWith('networking.istio.io'))).toEqual([]);
      expect(objs.filter((o) => ['Service', 'Deployment'].includes(o.kind) && o.metadata.namespace === 'istio-system')).toEqual([]);
      expect(objs.filter((o) => o.kind === 'IstioOperator' && o.metadata.name === 'eastwest')).toEqual([]);
      const sample = objs.find((o) => o.kind === 'Namespace' && o.metadata.name === 'sample')!;
      expect(sample.metadata.labels).toEqual({ 'istio.io/dataplane-mode': 'ambient' });
      const helloworld = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'helloworld')!;
      expect(helloworld.metadata.labels?.['istio.io/global']).toBe('true');
    }
  });

  it("runs istiod with the ambient profile, Istio's multi-network switch and the cluster's identity; every values key is Istio's", () => {
    const out = outputs.get(fixture)!;
    for (const [cluster, network] of CLUSTERS) {
      const objs = objects(out, cluster);
      const iop = objs.find((o) => o.kind === 'IstioOperator');
      const sail = objs.find((o) => o.kind === 'Istio');
      const values = iop?.spec.values ?? sail?.spec.values ?? chartValues(out, cluster).get('istiod')!;
      const profile = iop?.spec.profile ?? sail?.spec.profile ?? values.profile;
      expect(profile).toBe('ambient');
      expect(values.global).toMatchObject({ meshID: 'mesh1', multiCluster: { clusterName: cluster }, network });
      expect(values.pilot.env).toEqual({ AMBIENT_ENABLE_MULTI_NETWORK: 'true' });
      const { profile: _, ...rest } = values;
      expect(checkValues(rest)).toEqual([]);
      // The profile's own global-service rule stays first, then the topology's namespaces.
      const scopes = (iop?.spec.meshConfig ?? values.meshConfig).serviceScopeConfigs;
      expect(scopes).toEqual([
        { servicesSelector: { matchExpressions: [{ key: 'istio.io/global', operator: 'In', values: ['true'] }] }, scope: 'GLOBAL' },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } }, servicesSelector: { matchLabels: { tier: 'api' } }, scope: 'GLOBAL' },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, scope: 'GLOBAL' },
      ]);
      if (sail) expect(values.pilot.trustedZtunnelNamespace).toBe('ztunnel');
    }
  });

  it('installs the CNI agent and ztunnel after istiod, ztunnel knowing its cluster and network, with keys of their charts', () => {
    const out = outputs.get(fixture)!;
    for (const [cluster, network] of CLUSTERS) {
      const objs = objects(out, cluster);
      if (fixture === 'ambient-multi-network.yaml') {
        // istioctl: the ambient profile enables both components, and values.global reaches ztunnel.
        expect(objs.filter((o) => o.kind === 'IstioOperator').map((o) => o.metadata.name)).toEqual(['control-plane']);
        continue;
      }
      if (fixture === 'ambient-install-sail.yaml') {
        const cni = objs.find((o) => o.kind === 'IstioCNI')!;
        const ztunnel = objs.find((o) => o.kind === 'ZTunnel')!;
        expect(cni.spec).toEqual({ version: 'v1.30.3', namespace: 'istio-cni', profile: 'ambient' });
        expect(ztunnel.spec).toEqual({ version: 'v1.30.3', namespace: 'ztunnel', values: { ztunnel: { multiCluster: { clusterName: cluster }, network } } });
        expect(objs.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name).sort()).toEqual(['istio-cni', 'istio-system', 'sample', 'ztunnel']);
        continue;
      }
      const charts = chartValues(out, cluster);
      expect([...charts.keys()].sort()).toEqual(['base', 'cni', 'istiod', 'ztunnel']);
      expect(charts.get('cni')).toMatchObject({ profile: 'ambient' });
      expect(charts.get('ztunnel')).toMatchObject({ multiCluster: { clusterName: cluster }, network });
      expect(unknownKeys(charts.get('cni')!, chartValueKeys('istio-cni-chart'))).toEqual([]);
      expect(unknownKeys(charts.get('ztunnel')!, chartValueKeys('ztunnel-chart'))).toEqual([]);
      // Order: Flux dependsOn, Argo CD sync waves, the README's helm commands.
      const releases = objs.filter((o) => o.kind === 'HelmRelease');
      if (releases.length > 0) {
        const after = Object.fromEntries(releases.map((r) => [r.metadata.name, r.spec.dependsOn?.map((d: { name: string }) => d.name)]));
        expect(after).toEqual({ 'istio-base': undefined, istiod: ['istio-base'], 'istio-cni': ['istiod'], ztunnel: ['istio-cni'] });
      }
      const apps = objs.filter((o) => o.kind === 'Application' && o.spec.source.chart);
      if (apps.length > 0) {
        const waves = apps.map((a) => [a.spec.source.chart, Number(a.metadata.annotations?.['argocd.argoproj.io/sync-wave'])] as const).sort((a, b) => a[1] - b[1]);
        expect(waves.map(([chart]) => chart)).toEqual(['base', 'istiod', 'cni', 'ztunnel']);
      }
      const readme = fs.readFileSync(path.join(out, cluster, 'README.md'), 'utf8');
      if (fixture === 'ambient-install-helm.yaml') {
        const order = ['istio/base', 'istio/istiod', 'istio/cni', 'istio/ztunnel'].map((c) => readme.indexOf(`${c} --kube-context`));
        expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1])), order.join()).toBe(true);
      }
    }
  });

  it('says in the README to install the Gateway API CRDs first, how to check them, and how to use the ambient mesh', () => {
    const out = outputs.get(fixture)!;
    const readme = fs.readFileSync(path.join(out, 'cluster1', 'README.md'), 'utf8');
    const crds =
      'kubectl --context=kind-cluster1 get crd gateways.gateway.networking.k8s.io >/dev/null 2>&1 || kubectl --context=kind-cluster1 apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/experimental-install.yaml';
    expect(readme).toContain(`1. The Gateway API CRDs`);
    expect(readme.indexOf(crds)).toBeGreaterThan(readme.indexOf('## Apply, in this order'));
    expect(readme.indexOf(crds)).toBeLessThan(readme.indexOf('2. '));
    expect(readme).toContain('label namespace <namespace> istio.io/dataplane-mode=ambient');
    expect(readme).toContain('label namespace sample istio.io/use-waypoint=waypoint');
    expect(readme).toContain('- namespace `payments`: the Services labelled `tier=api`');
    expect(readme).not.toMatch(/sidecar injection|istio-injection/);
    expect(readme).toContain('get gateway istio-eastwestgateway');
  });
});

describe('sidecar meshes', () => {
  it('are unchanged by the ambient settings: no profile, no ambient env, no cni or ztunnel', async () => {
    const out = await synthFixture('install-helm-two-networks.yaml', { KUBECONFIG: FLEET_KUBECONFIG });
    expect(fs.readdirSync(path.join(out, 'cluster1', 'helm')).sort()).toEqual(['istio-base.values.yaml', 'istio-eastwestgateway.values.yaml', 'istiod.values.yaml']);
    const istiod = parse(fs.readFileSync(path.join(out, 'cluster1', 'helm', 'istiod.values.yaml'), 'utf8'));
    expect(istiod.profile).toBeUndefined();
    expect(istiod.pilot).toBeUndefined();
  });
});

describe('changing the data plane of a mesh with output', () => {
  it('is refused, writing nothing, until --allow-dataplane-change; the markers record ambient', () => {
    const ws = workspace();
    expect(runCli(['synth', '-q', '-f', 'mesh.yaml', '-o', 'dist'], ws.dir, { KUBECONFIG: FLEET_KUBECONFIG }).code).toBe(0);
    const before = readTree(ws.out, { modes: true });
    expect(before['cluster1/.meshgen-output']).not.toMatch(/dataplane/);
    fs.writeFileSync(ws.file, fs.readFileSync(ws.file, 'utf8').replace('spec:\n', 'spec:\n  dataplane: ambient\n'));
    const refused = runCli(['synth', '-q', '-f', 'mesh.yaml', '-o', 'dist'], ws.dir, { KUBECONFIG: FLEET_KUBECONFIG });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('meshgen: the data plane of a mesh would change');
    expect(refused.stderr).toContain('mesh "mesh1" is now ambient, and its output (cluster1, cluster2) was made for sidecar');
    expect(refused.stderr).toMatch(/fix: read the README's "Ambient meshes" section, then synthesize with --allow-dataplane-change; or keep spec\.dataplane: sidecar/);
    expect(readTree(ws.out, { modes: true })).toEqual(before);
    // diff shows the change instead of refusing it.
    expect(runCli(['diff', '-f', 'mesh.yaml', '-o', 'dist'], ws.dir, { KUBECONFIG: FLEET_KUBECONFIG }).stdout).toMatch(/\+dataplane: ambient/);
    const allowed = runCli(['synth', '-q', '-f', 'mesh.yaml', '-o', 'dist', '--allow-dataplane-change'], ws.dir, { KUBECONFIG: FLEET_KUBECONFIG });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(fs.readFileSync(path.join(ws.out, 'cluster1', '.meshgen-output'), 'utf8')).toMatch(/^dataplane: ambient$/m);
    // Back to sidecar is the same change the other way.
    fs.writeFileSync(ws.file, fs.readFileSync(ws.file, 'utf8').replace('  dataplane: ambient\n', ''));
    const back = runCli(['synth', '-q', '-f', 'mesh.yaml', '-o', 'dist'], ws.dir, { KUBECONFIG: FLEET_KUBECONFIG });
    expect(back.code).toBe(1);
    expect(back.stderr).toContain('mesh "mesh1" is now sidecar, and its output (cluster1, cluster2) was made for ambient');
  });
});
