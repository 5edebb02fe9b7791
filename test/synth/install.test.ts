/**
 * Install methods and GitOps engines: Helm values files, Flux, Argo CD and
 * Sail, each on the two-network example and on a primary-remote mesh.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { chartValueKeys, checkValues } from '../helpers/istio-api';
import { synthFixture, walk } from '../helpers';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any };

const outputs = new Map<string, string>();
const ENGINES = ['helm', 'flux', 'argocd', 'sail'] as const;

beforeAll(async () => {
  for (const engine of ENGINES) {
    for (const topo of ['two-networks', 'primary-remote']) {
      const name = `install-${engine}-${topo}.yaml`;
      outputs.set(name, await synthFixture(name));
    }
  }
});

function files(out: string, cluster: string): string[] {
  return walk(path.join(out, cluster));
}

function objects(out: string, cluster: string, folder = ''): Obj[] {
  return files(out, cluster)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml') && !f.startsWith('helm/') && path.dirname(f) === (folder || '.'))
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(out, cluster, f), 'utf8')).map((d) => d.toJS() as Obj));
}

function allObjects(out: string, cluster: string): Obj[] {
  return ['', 'istio', 'istio-config', 'prereqs'].flatMap((f) => objects(out, cluster, f));
}

function kustomization(out: string, cluster: string, folder = ''): string[] {
  return parse(fs.readFileSync(path.join(out, cluster, folder, 'kustomization.yaml'), 'utf8')).resources;
}

/** Problems of gateway chart values: keys the chart does not define (free-form maps like annotations excepted). */
function checkGatewayValues(values: Record<string, unknown>): string[] {
  const known = chartValueKeys('gateway-chart');
  const problems: string[] = [];
  const visit = (v: unknown, at: string) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
    for (const [k, child] of Object.entries(v)) {
      const key = at ? `${at}.${k}` : k;
      if (!known.has(key)) problems.push(`${key}: not a value of the gateway chart`);
      else if (!['service.annotations', 'labels', 'annotations', 'env'].includes(key)) visit(child, key);
    }
  };
  visit(values, '');
  return problems;
}

describe('istio.install: helm', () => {
  it('writes values files for base, istiod and the gateway, and no IstioOperator', () => {
    const out = outputs.get('install-helm-two-networks.yaml')!;
    const f = files(out, 'cluster1');
    expect(f.filter((x) => x.startsWith('helm/'))).toEqual(['helm/istio-base.values.yaml', 'helm/istio-eastwestgateway.values.yaml', 'helm/istiod.values.yaml']);
    expect(f.some((x) => x.startsWith('istiooperator.'))).toBe(false);
    const istiod = parse(fs.readFileSync(path.join(out, 'cluster1', 'helm', 'istiod.values.yaml'), 'utf8'));
    expect(istiod).toEqual({ global: { hub: 'docker.io/istio', tag: '1.30.3', meshID: 'mesh1', multiCluster: { clusterName: 'cluster1' }, network: 'network1' } });
    expect(parse(fs.readFileSync(path.join(out, 'cluster1', 'helm', 'istio-eastwestgateway.values.yaml'), 'utf8'))).toEqual({
      name: 'istio-eastwestgateway',
      networkGateway: 'network1',
    });
    // Objects that need Istio's CRDs wait in istio-config/, after the charts.
    expect(kustomization(out, 'cluster1')).toEqual(['namespace.istio-system.yaml', 'secret.istio-system.cacerts.yaml']);
    expect(kustomization(out, 'cluster1', 'istio-config')).toEqual(['gateway.istio-system.cross-network-gateway.yaml']);
  });

  it('gives the remote the remote profile, as Istio\'s Helm install steps do', () => {
    const out = outputs.get('install-helm-primary-remote.yaml')!;
    expect(parse(fs.readFileSync(path.join(out, 'cluster2', 'helm', 'istio-base.values.yaml'), 'utf8'))).toEqual({ profile: 'remote' });
    expect(parse(fs.readFileSync(path.join(out, 'cluster2', 'helm', 'istiod.values.yaml'), 'utf8'))).toEqual({
      profile: 'remote',
      global: {
        hub: 'docker.io/istio',
        tag: '1.30.3',
        multiCluster: { clusterName: 'cluster2' },
        network: 'network2',
        configCluster: true,
        remotePilotAddress: '192.0.2.10',
      },
      istiodRemote: { injectionPath: '/inject/cluster/cluster2/net/network2' },
    });
    const primary = parse(fs.readFileSync(path.join(out, 'cluster1', 'helm', 'istiod.values.yaml'), 'utf8'));
    expect(primary.global.externalIstiod).toBe(true);
  });

  it('gives the exact helm commands in order in the README', () => {
    const readme = fs.readFileSync(path.join(outputs.get('install-helm-two-networks.yaml')!, 'cluster1', 'README.md'), 'utf8');
    const lines = readme.split('\n').filter((l) => l.includes('helm upgrade --install'));
    expect(lines.map((l) => l.trim())).toEqual([
      'helm upgrade --install istio-base istio/base --kube-context=kind-cluster1 -n istio-system --version 1.30.3 -f helm/istio-base.values.yaml --wait',
      'helm upgrade --install istiod istio/istiod --kube-context=kind-cluster1 -n istio-system --version 1.30.3 -f helm/istiod.values.yaml --wait',
      'helm upgrade --install istio-eastwestgateway istio/gateway --kube-context=kind-cluster1 -n istio-system --version 1.30.3 -f helm/istio-eastwestgateway.values.yaml --wait',
    ]);
    expect(readme.indexOf('kubectl --context=kind-cluster1 apply -k istio-config')).toBeGreaterThan(readme.indexOf('istio/gateway'));
  });
});

describe('values keys are all known to the charts', () => {
  it('in every values file, HelmRelease, Application and Sail resource', () => {
    for (const [name, out] of outputs) {
      for (const cluster of ['cluster1', 'cluster2']) {
        const forms: { chart: string; values: Record<string, unknown> }[] = [];
        for (const f of files(out, cluster).filter((x) => x.startsWith('helm/'))) {
          const chart = f.includes('eastwest') ? 'gateway' : 'other';
          forms.push({ chart, values: parse(fs.readFileSync(path.join(out, cluster, f), 'utf8')) ?? {} });
        }
        for (const o of allObjects(out, cluster)) {
          if (o.kind === 'HelmRelease') forms.push({ chart: o.spec.chart.spec.chart, values: o.spec.values ?? {} });
          if (o.kind === 'Application' && o.spec.source.chart) forms.push({ chart: o.spec.source.chart, values: o.spec.source.helm.valuesObject ?? {} });
          if (o.kind === 'Istio') forms.push({ chart: 'istiod', values: o.spec.values });
        }
        expect(forms.length, `${name} ${cluster}`).toBeGreaterThan(0);
        for (const form of forms) {
          const problems = form.chart === 'gateway' ? checkGatewayValues(form.values) : checkValues(form.values);
          expect(problems, `${name} ${cluster} ${form.chart}`).toEqual([]);
        }
      }
    }
  });

  it('the checkers reject unknown keys', () => {
    expect(checkGatewayValues({ networkGatway: 'x', service: { typ: 'NodePort' } })).toEqual([
      'networkGatway: not a value of the gateway chart',
      'service.typ: not a value of the gateway chart',
    ]);
  });
});

describe('gitops.engine: flux', () => {
  it('installs the charts as HelmReleases in dependency order, pinned to the release, then the config after them', () => {
    const out = outputs.get('install-flux-two-networks.yaml')!;
    expect(kustomization(out, 'cluster1')).toEqual([
      'namespace.istio-system.yaml',
      'secret.istio-system.cacerts.yaml',
      'kustomization.flux-system.cluster1-istio.yaml',
      'kustomization.flux-system.cluster1-istio-config.yaml',
    ]);
    const releases = objects(out, 'cluster1', 'istio').filter((o) => o.kind === 'HelmRelease');
    expect(releases.map((r) => [r.metadata.name, r.spec.chart.spec.chart, r.spec.chart.spec.version, r.spec.dependsOn])).toEqual([
      ['istio-base', 'base', '1.30.3', undefined],
      ['istio-eastwestgateway', 'gateway', '1.30.3', [{ name: 'istiod' }]],
      ['istiod', 'istiod', '1.30.3', [{ name: 'istio-base' }]],
    ]);
    const root = objects(out, 'cluster1');
    const ks = ['cluster1-istio', 'cluster1-istio-config'].map((n) => root.find((o) => o.kind === 'Kustomization' && o.metadata.name === n)!);
    expect(ks.map((k) => [k.metadata.name, k.spec.path, k.spec.wait, k.spec.dependsOn])).toEqual([
      ['cluster1-istio', './dist/cluster1/istio', true, undefined],
      ['cluster1-istio-config', './dist/cluster1/istio-config', true, [{ name: 'cluster1-istio' }]],
    ]);
    expect(ks[0].spec.sourceRef).toEqual({ kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' });
    expect(objects(out, 'cluster1', 'istio').find((o) => o.kind === 'HelmRepository')!.spec.url).toBe('https://istio-release.storage.googleapis.com/charts');
  });

  // A remote's releases fail while its primary's istiod does not serve yet; without a retry strategy Flux gives up and the remote stays Stalled.
  it('retries every failed install and upgrade, on primaries and remotes alike, without uninstalling', () => {
    for (const fixture of ['install-flux-two-networks.yaml', 'install-flux-primary-remote.yaml']) {
      const out = outputs.get(fixture)!;
      const releases = ['cluster1', 'cluster2'].flatMap((c) => objects(out, c, 'istio')).filter((o) => o.kind === 'HelmRelease');
      expect(releases.length).toBeGreaterThanOrEqual(5);
      for (const r of releases) {
        for (const action of ['install', 'upgrade']) {
          expect(r.spec[action]?.strategy, `${fixture} ${r.metadata.name} ${action}`).toEqual({ name: 'RetryOnFailure', retryInterval: '2m' });
          expect(r.spec[action].remediation).toBeUndefined();
        }
        expect(r.spec.timeout).toBe('10m');
      }
    }
  });
});

describe('gitops.engine: argocd', () => {
  it('makes Applications in sync waves: CA secret, base, istiod, gateway, config', () => {
    const out = outputs.get('install-argocd-two-networks.yaml')!;
    const all = objects(out, 'cluster1').filter((o) => o.kind === 'Application');
    // The parent (app of apps) syncs the folder, whose Applications then sync wave after wave.
    const parent = all.find((o) => o.metadata.name === 'cluster1-istio')!;
    expect(parent.metadata.annotations).toBeUndefined();
    expect(parent.spec.source).toEqual({ repoURL: 'https://git.example.com/platform/mesh.git', targetRevision: 'HEAD', path: 'clusters/dist/cluster1' });
    expect(parent.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'argocd' });
    expect(kustomization(out, 'cluster1', '')).not.toContain('argocd-app-of-apps.yaml');
    const apps = all.filter((o) => o !== parent);
    for (const a of apps) expect(a.spec.syncPolicy.retry.limit).toBeGreaterThan(0);
    expect(apps.find((a) => a.metadata.name === 'cluster1-istio-config')!.spec.syncPolicy.syncOptions).toContain('SkipDryRunOnMissingResource=true');
    const order = [...apps].sort((a, b) => Number(a.metadata.annotations!['argocd.argoproj.io/sync-wave']) - Number(b.metadata.annotations!['argocd.argoproj.io/sync-wave']));
    expect(order.map((a) => [a.metadata.name, a.metadata.annotations!['argocd.argoproj.io/sync-wave']])).toEqual([
      ['cluster1-istio-prereqs', '-2'],
      ['cluster1-istio-base', '-1'],
      ['cluster1-istiod', '0'],
      ['cluster1-istio-eastwestgateway', '1'],
      ['cluster1-istio-config', '2'],
    ]);
    for (const a of apps) {
      expect(a.metadata.namespace).toBe('argocd');
      expect(a.spec.destination).toEqual({ name: 'cluster1', namespace: 'istio-system' });
    }
    expect(order[0].spec.source).toEqual({ repoURL: 'https://git.example.com/platform/mesh.git', targetRevision: 'HEAD', path: 'clusters/dist/cluster1/prereqs' });
    expect(order[2].spec.source.helm.valuesObject.global.multiCluster).toEqual({ clusterName: 'cluster1' });
    expect(kustomization(out, 'cluster1', 'prereqs')).toEqual(['namespace.istio-system.yaml', 'secret.istio-system.cacerts.yaml']);
  });

  // istiod patches its webhooks' failurePolicy and caBundle at run time; compared as rendered, self-heal and istiod would flip them for ever.
  it('leaves what istiod patches in its webhooks to istiod, and keeps it out of every sync', () => {
    const validating = {
      group: 'admissionregistration.k8s.io',
      kind: 'ValidatingWebhookConfiguration',
      jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle', '.webhooks[]?.failurePolicy'],
    };
    const mutating = { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'] };
    for (const fixture of ['install-argocd-two-networks.yaml', 'install-argocd-primary-remote.yaml']) {
      const out = outputs.get(fixture)!;
      for (const cluster of ['cluster1', 'cluster2']) {
        const apps = objects(out, cluster).filter((o) => o.kind === 'Application' && o.spec.source.chart);
        const byChart = new Map(apps.map((a) => [a.spec.source.chart as string, a]));
        expect(byChart.get('base')!.spec.ignoreDifferences, `${fixture} ${cluster} base`).toEqual([validating]);
        expect(byChart.get('istiod')!.spec.ignoreDifferences, `${fixture} ${cluster} istiod`).toEqual([mutating, validating]);
        for (const chart of ['base', 'istiod']) expect(byChart.get(chart)!.spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
        const gateway = byChart.get('gateway');
        if (gateway) {
          expect(gateway.spec.ignoreDifferences).toBeUndefined();
          expect(gateway.spec.syncOptions ?? []).not.toContain('RespectIgnoreDifferences=true');
        }
      }
    }
  });
});

describe('istio.install: sail', () => {
  it('makes an Istio resource with the same values, and the east-west gateway as manifests in istio-config', () => {
    const out = outputs.get('install-sail-primary-remote.yaml')!;
    const primary = objects(out, 'cluster1').find((o) => o.kind === 'Istio')!;
    expect(primary.spec).toEqual({
      version: 'v1.30.3',
      namespace: 'istio-system',
      values: {
        global: { hub: 'docker.io/istio', tag: '1.30.3', meshID: 'mesh1', multiCluster: { clusterName: 'cluster1' }, network: 'network1', externalIstiod: true },
      },
    });
    const remote = objects(out, 'cluster2').find((o) => o.kind === 'Istio')!;
    expect(remote.spec.profile).toBe('remote');
    expect(remote.spec.values.istiodRemote).toEqual({ injectionPath: '/inject/cluster/cluster2/net/network2' });
    const config = objects(out, 'cluster2', 'istio-config');
    expect(config.filter((o) => o.metadata.name === 'istio-eastwestgateway').map((o) => o.kind).sort()).toEqual(['Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
  });
});

describe('exactly one form of each component', () => {
  it('never has an IstioOperator next to another form, and says in the README which form it uses', () => {
    for (const [name, out] of outputs) {
      for (const cluster of ['cluster1', 'cluster2']) {
        const all = allObjects(out, cluster);
        const f = files(out, cluster);
        expect(all.filter((o) => o.kind === 'IstioOperator'), name).toEqual([]);
        const gatewayForms = [
          f.includes('helm/istio-eastwestgateway.values.yaml'),
          all.some((o) => o.kind === 'HelmRelease' && o.metadata.name === 'istio-eastwestgateway'),
          all.some((o) => o.kind === 'Application' && o.metadata.name.endsWith('istio-eastwestgateway')),
          all.some((o) => o.kind === 'Deployment' && o.metadata.name === 'istio-eastwestgateway'),
        ].filter(Boolean);
        expect(gatewayForms, `${name} ${cluster}`).toHaveLength(1);
        const readme = fs.readFileSync(path.join(out, cluster, 'README.md'), 'utf8');
        const engine = name.split('-')[1];
        expect(readme, name).toMatch(
          { helm: /Helm installs Istio's charts/, flux: /Flux installs everything/, argocd: /Argo CD installs everything/, sail: /Sail operator installs/ }[engine]!,
        );
      }
    }
  });
});

describe('engine folders need only the engine', () => {
  it('apply with kubectl apply -k on a cluster that has Flux or Argo CD and nothing of Istio', () => {
    for (const engine of ['flux', 'argocd']) {
      for (const topo of ['two-networks', 'primary-remote']) {
        const out = outputs.get(`install-${engine}-${topo}.yaml`)!;
        for (const cluster of ['cluster1', 'cluster2']) {
          const groups = new Set(objects(out, cluster).map((o) => o.apiVersion.split('/')[0]));
          const allowed = engine === 'flux' ? ['v1', 'kustomize.toolkit.fluxcd.io'] : ['argoproj.io'];
          expect([...groups].filter((g) => !allowed.includes(g)), `${engine} ${topo} ${cluster}`).toEqual([]);
        }
      }
    }
  });
});
