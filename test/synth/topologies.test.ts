/**
 * Golden trees of every documented Istio multicluster install and a mixed
 * fleet (test/fixtures/topologies), checked object by object against the
 * reference shapes, against Istio's APIs, and with kubectl kustomize.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAgainstCrd, checkIstioOperator } from '../helpers/istio-api';
import { FIXTURE_TOPOLOGIES, readTree, synthFixture as synthFixtureIn, walk } from '../helpers';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any };

/** Fixture kubeconfig with the contexts of the topology fixtures. */
const FLEET_KUBECONFIG = path.join(FIXTURE_TOPOLOGIES, '..', 'kubeconfig', 'fleet.yaml');

const FIXTURES = fs.readdirSync(FIXTURE_TOPOLOGIES).filter((f) => f.endsWith('.yaml')).sort();
const outputs = new Map<string, string>();

/** Synthesizes a fixture with the fixture kubeconfig. */
function synthFixture(name: string): Promise<string> {
  return synthFixtureIn(name, { KUBECONFIG: FLEET_KUBECONFIG });
}

function objectsOf(out: string, cluster: string): Obj[] {
  const dir = path.join(out, cluster);
  return walk(dir)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml') && !f.startsWith('helm/'))
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Obj));
}

/** The istiod Helm values of a cluster, from whichever install form its folder uses. */
function istiodValuesOf(out: string, cluster: string, objs: Obj[]): any {
  const iop = objs.find((o) => o.kind === 'IstioOperator' && o.metadata.name !== 'eastwest');
  if (iop) return iop.spec.values;
  const sail = objs.find((o) => o.kind === 'Istio');
  if (sail) return sail.spec.values;
  const release = objs.find((o) => o.kind === 'HelmRelease' && o.spec.chart.spec.chart === 'istiod');
  if (release) return release.spec.values;
  const app = objs.find((o) => o.kind === 'Application' && o.spec.source.chart === 'istiod');
  if (app) return app.spec.source.helm.valuesObject;
  const file = walk(path.join(out, cluster)).find((f) => /^helm\/istiod.*\.values\.yaml$/.test(f));
  return parse(fs.readFileSync(path.join(out, cluster, file!), 'utf8'));
}

function find(objs: Obj[], kind: string, name: string): Obj | undefined {
  return objs.find((o) => o.kind === kind && o.metadata.name === name);
}

function summary(objs: Obj[]): string[] {
  return objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

beforeAll(async () => {
  for (const f of FIXTURES) outputs.set(f, await synthFixture(f));
});

describe.each(FIXTURES)('%s', (fixture) => {
  it('matches its golden tree', async () => {
    const tree = readTree(outputs.get(fixture)!, { modes: true });
    const text = Object.entries(tree)
      .map(([file, content]) => `=== ${file}\n${content}`)
      .join('\n');
    await expect(text).toMatchFileSnapshot(path.join('__golden__', fixture.replace(/\.yaml$/, '.txt')));
  });

  it('is byte-identical when synthesized again', async () => {
    expect(readTree(await synthFixture(fixture), { modes: true })).toEqual(readTree(outputs.get(fixture)!, { modes: true }));
  });

  it('validates against Istio 1.30.3 APIs, and kubectl kustomize builds every folder', () => {
    const out = outputs.get(fixture)!;
    for (const cluster of fs.readdirSync(out)) {
      for (const o of objectsOf(out, cluster).filter((x) => /istio\.io|fluxcd\.io|argoproj\.io|sailoperator\.io|external-secrets\.io|cert-manager\.io|gateway\.networking\.k8s\.io/.test(x.apiVersion))) {
        const problems = o.kind === 'IstioOperator' ? checkIstioOperator(o as any) : checkAgainstCrd(o);
        expect(problems, `${cluster} ${o.kind}/${o.metadata.name}`).toEqual([]);
      }
      const folders = walk(path.join(out, cluster))
        .filter((f) => f.endsWith('kustomization.yaml'))
        .map((f) => path.join(out, cluster, path.dirname(f)));
      const kinds = folders.flatMap((dir) =>
        parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJS()?.kind),
      );
      expect(kinds).not.toContain('IstioOperator');
      expect(kinds.some((k) => k === 'Namespace' || k === 'Application')).toBe(true);
    }
  });

  it('points every Flux Kustomization and Argo CD Application at a folder that exists, with a kustomization.yaml', () => {
    const out = outputs.get(fixture)!;
    for (const cluster of fs.readdirSync(out)) {
      const objs = objectsOf(out, cluster);
      const paths = [
        ...objs.filter((o) => o.kind === 'Kustomization' && o.apiVersion.startsWith('kustomize.toolkit.fluxcd.io')).map((o) => o.spec.path as string),
        ...objs.filter((o) => o.kind === 'Application' && o.spec.source.path !== undefined).map((o) => o.spec.source.path as string),
      ];
      for (const p of paths) {
        const rest = p.slice(p.indexOf(`/${cluster}`) + cluster.length + 1);
        expect(p, `${cluster}: ${p}`).toContain(`/${cluster}`);
        expect(fs.existsSync(path.join(out, cluster, rest, 'kustomization.yaml')), `${cluster}: ${p}`).toBe(true);
      }
    }
  });

  it('names every remote secret, its annotation and its kubeconfig after the cluster it opens, in istioctl\'s format', () => {
    const out = outputs.get(fixture)!;
    for (const cluster of fs.readdirSync(out)) {
      for (const o of objectsOf(out, cluster).filter((x) => x.metadata.name.startsWith('istio-remote-secret-'))) {
        const target = o.metadata.name.slice('istio-remote-secret-'.length);
        if (o.kind === 'ExternalSecret') {
          expect(o.spec.target.template.metadata.annotations).toEqual({ 'networking.istio.io/cluster': target });
          expect(o.spec.data[0].secretKey).toBe(target);
          continue;
        }
        const secret = o as Obj & { stringData: Record<string, string>; type?: string };
        expect(secret.metadata).toEqual({
          name: `istio-remote-secret-${target}`,
          namespace: 'istio-system',
          labels: { 'istio/multiCluster': 'true' },
          annotations: { 'networking.istio.io/cluster': target },
        });
        expect(secret.type).toBeUndefined();
        expect(Object.keys(secret.stringData)).toEqual([target]);
        const kubeconfig = parse(secret.stringData[target]);
        expect(kubeconfig['current-context']).toBe(target);
        expect(kubeconfig.clusters.map((c: { name: string }) => c.name)).toEqual([target]);
        expect(kubeconfig.users.map((c: { name: string }) => c.name)).toEqual([target]);
        expect(kubeconfig.contexts).toEqual([{ context: { cluster: target, user: target }, name: target }]);
      }
    }
  });

  it('names one network everywhere: namespace label, istiod values, gateway label, env and values', () => {
    const out = outputs.get(fixture)!;
    for (const cluster of fs.readdirSync(out)) {
      // A remote waiting for its primary's address has no control plane in its folder yet.
      if (fs.readFileSync(path.join(out, cluster, 'README.md'), 'utf8').includes('## Waiting for the address of')) continue;
      const objs = objectsOf(out, cluster);
      const ns = find(objs, 'Namespace', 'istio-system')!;
      const values = istiodValuesOf(out, cluster, objs);
      const network = values.global.network ?? /\/net\/([^/]+)$/.exec(values.istiodRemote.injectionPath)![1];
      const label = ns.metadata.labels?.['topology.istio.io/network'];
      if (label !== undefined) expect(label, cluster).toBe(network);
      const ew = find(objs, 'IstioOperator', 'eastwest');
      if (ew) {
        const gw = ew.spec.components.ingressGateways[0];
        if (fixture.includes('multi-network') || fixture === 'mixed.yaml' || fixture.startsWith('install-')) {
          expect(label, `${cluster} has the network label`).toBe(network);
        }
        expect(gw.label['topology.istio.io/network'], cluster).toBe(network);
        expect(gw.k8s.env, cluster).toEqual([{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: network }]);
        expect(ew.spec.values.global.network, cluster).toBe(network);
      }
      // The other forms of the east-west gateway: plain manifests, or the gateway chart's values.
      const service = find(objs, 'Service', 'istio-eastwestgateway') as (Obj & { metadata: { labels: Record<string, string> } }) | undefined;
      if (service) expect(service.metadata.labels['topology.istio.io/network'], cluster).toBe(network);
      const gateway = objs.find((o) => (o.kind === 'HelmRelease' && o.spec.chart.spec.chart === 'gateway') || (o.kind === 'Application' && o.spec.source.chart === 'gateway'));
      if (gateway) expect((gateway.spec.values ?? gateway.spec.source.helm.valuesObject).networkGateway, cluster).toBe(network);
      const valuesFile = path.join(out, cluster, 'helm', 'istio-eastwestgateway.values.yaml');
      if (fs.existsSync(valuesFile)) expect(parse(fs.readFileSync(valuesFile, 'utf8')).networkGateway, cluster).toBe(network);
    }
  });
});

describe('A. multi-primary, one network', () => {
  it('has no east-west gateway, no network label, no cross-network Gateway', () => {
    const out = outputs.get('multi-primary-single-network.yaml')!;
    for (const cluster of ['cluster1', 'cluster2']) {
      const objs = objectsOf(out, cluster);
      const other = cluster === 'cluster1' ? 'cluster2' : 'cluster1';
      expect(summary(objs)).toEqual(['IstioOperator/control-plane', 'Namespace/istio-system', 'Secret/cacerts', `Secret/istio-remote-secret-${other}`]);
      expect(find(objs, 'Namespace', 'istio-system')!.metadata).toEqual({ name: 'istio-system' });
      expect(find(objs, 'IstioOperator', 'control-plane')!.spec.values).toEqual({
        global: { meshID: 'mesh1', multiCluster: { clusterName: cluster }, network: 'network1' },
      });
    }
  });
});

describe('B. multi-primary, several networks', () => {
  it('gives every cluster a network label, an east-west gateway and the cross-network Gateway', () => {
    const out = outputs.get('multi-primary-multi-network.yaml')!;
    for (const [cluster, network, other] of [['cluster1', 'network1', 'cluster2'], ['cluster2', 'network2', 'cluster1']]) {
      const objs = objectsOf(out, cluster);
      expect(summary(objs)).toEqual([
        'Gateway/cross-network-gateway',
        'IstioOperator/control-plane',
        'IstioOperator/eastwest',
        'Namespace/istio-system',
        'Secret/cacerts',
        `Secret/istio-remote-secret-${other}`,
      ]);
      expect(find(objs, 'Namespace', 'istio-system')!.metadata.labels).toEqual({ 'topology.istio.io/network': network });
      expect(find(objs, 'IstioOperator', 'eastwest')!.spec.revision).toBe('');
    }
  });
});

describe('C. primary-remote, one network', () => {
  const out = () => outputs.get('primary-remote-single-network.yaml')!;

  it('makes the primary an external istiod with an east-west gateway and expose-istiod, without network labels', () => {
    const objs = objectsOf(out(), 'cluster1');
    expect(summary(objs)).toEqual([
      'Gateway/istiod-gateway',
      'IstioOperator/control-plane',
      'IstioOperator/eastwest',
      'Namespace/istio-system',
      'Secret/cacerts',
      'Secret/istio-remote-secret-cluster2',
      'VirtualService/istiod-vs',
    ]);
    expect(find(objs, 'Namespace', 'istio-system')!.metadata).toEqual({ name: 'istio-system' });
    expect(find(objs, 'IstioOperator', 'control-plane')!.spec.values.global).toEqual({
      meshID: 'mesh1',
      multiCluster: { clusterName: 'cluster1' },
      network: 'network1',
      externalIstiod: true,
    });
    expect(find(objs, 'Gateway', 'istiod-gateway')!.spec).toEqual({
      selector: { istio: 'eastwestgateway' },
      servers: [
        { port: { name: 'tls-istiod', number: 15012, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
        { port: { name: 'tls-istiodwebhook', number: 15017, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
      ],
    });
    expect(find(objs, 'VirtualService', 'istiod-vs')!.spec).toEqual({
      hosts: ['*'],
      gateways: ['istiod-gateway'],
      tls: [
        { match: [{ port: 15012, sniHosts: ['*'] }], route: [{ destination: { host: 'istiod.istio-system.svc.cluster.local', port: { number: 15012 } } }] },
        { match: [{ port: 15017, sniHosts: ['*'] }], route: [{ destination: { host: 'istiod.istio-system.svc.cluster.local', port: { number: 443 } } }] },
      ],
    });
  });

  it('makes the remote a remote profile pointed at the primary, annotated, with no Istio objects and no gateway', () => {
    const objs = objectsOf(out(), 'cluster2');
    expect(summary(objs)).toEqual(['IstioOperator/remote', 'Namespace/istio-system', 'Secret/cacerts']);
    expect(find(objs, 'Namespace', 'istio-system')!.metadata).toEqual({
      name: 'istio-system',
      annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' },
    });
    expect(find(objs, 'IstioOperator', 'remote')!.spec).toEqual({
      profile: 'remote',
      hub: 'docker.io/istio',
      tag: '1.30.3',
      values: {
        istiodRemote: { injectionPath: '/inject/cluster/cluster2/net/network1' },
        global: { remotePilotAddress: '192.0.2.10' },
      },
    });
  });
});

describe('D. primary-remote, several networks', () => {
  const out = () => outputs.get('primary-remote-multi-network.yaml')!;

  it('labels both namespaces, gives both an east-west gateway, and exposes services on the primary only', () => {
    const primary = objectsOf(out(), 'cluster1');
    const remote = objectsOf(out(), 'cluster2');
    expect(summary(primary)).toEqual([
      'Gateway/cross-network-gateway',
      'Gateway/istiod-gateway',
      'IstioOperator/control-plane',
      'IstioOperator/eastwest',
      'Namespace/istio-system',
      'Secret/cacerts',
      'Secret/istio-remote-secret-cluster2',
      'VirtualService/istiod-vs',
    ]);
    expect(summary(remote)).toEqual(['IstioOperator/eastwest', 'IstioOperator/remote', 'Namespace/istio-system', 'Secret/cacerts']);
    expect(find(primary, 'Namespace', 'istio-system')!.metadata.labels).toEqual({ 'topology.istio.io/network': 'network1' });
    expect(find(remote, 'Namespace', 'istio-system')!.metadata).toEqual({
      name: 'istio-system',
      labels: { 'topology.istio.io/network': 'network2' },
      annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' },
    });
    expect(find(remote, 'IstioOperator', 'remote')!.spec.values.istiodRemote.injectionPath).toBe('/inject/cluster/cluster2/net/network2');
    expect(find(remote, 'IstioOperator', 'eastwest')!.spec.values.global.network).toBe('network2');
  });

  it('has the primary read the remote and the remote read nobody', () => {
    const primaryReadme = fs.readFileSync(path.join(out(), 'cluster1', 'README.md'), 'utf8');
    const remoteReadme = fs.readFileSync(path.join(out(), 'cluster2', 'README.md'), 'utf8');
    expect(primaryReadme).toMatch(/- `istio-remote-secret-cluster2`: in this folder\./);
    expect(remoteReadme).not.toMatch(/## Endpoint discovery/);
    expect(remoteReadme).toMatch(/its istiod reads this cluster's API through `istio-remote-secret-cluster2`, in `\.\.\/cluster1`/);
  });
});

/** Objects of the sample apps, left out where a test is about the mesh's own objects. */
const SAMPLE = /^(Deployment|Service|ServiceAccount)\/|^Namespace\/sample$/;

describe('mixed fleet', () => {
  const out = () => outputs.get('mixed.yaml')!;

  it('gives each cluster what its role and network need', () => {
    expect(fs.readdirSync(out()).sort()).toEqual(['cluster-east-1', 'cluster-east-2', 'cluster-west-1', 'edge-1']);
    const base = ['Gateway/cross-network-gateway', 'IstioOperator/control-plane', 'IstioOperator/eastwest', 'Namespace/istio-system', 'Secret/cacerts'];
    // east-2's credentials come from a secret store; edge-1's reader token is not fetched yet.
    expect(summary(objectsOf(out(), 'cluster-east-1')).filter((o) => !SAMPLE.test(o))).toEqual(
      [...base, 'ExternalSecret/istio-remote-secret-cluster-east-2', 'Secret/istio-remote-secret-cluster-west-1'].sort(),
    );
    expect(summary(objectsOf(out(), 'cluster-east-2')).filter((o) => !SAMPLE.test(o))).toEqual(
      [...base, 'Secret/istio-remote-secret-cluster-east-1', 'Secret/istio-remote-secret-cluster-west-1'].sort(),
    );
    expect(summary(objectsOf(out(), 'cluster-west-1')).filter((o) => !SAMPLE.test(o))).toEqual(
      [
        ...base,
        'ExternalSecret/istio-remote-secret-cluster-east-2',
        'Gateway/istiod-gateway',
        'Secret/istio-remote-secret-cluster-east-1',
        'VirtualService/istiod-vs-1-30-3',
      ].sort(),
    );
    expect(summary(objectsOf(out(), 'edge-1')).filter((o) => !SAMPLE.test(o))).toEqual([
      'IstioOperator/eastwest',
      'IstioOperator/remote',
      'Namespace/istio-system',
      'Secret/cacerts',
      'Secret/istio-reader-service-account-istio-remote-secret-token',
    ]);
  });

  it('carries the revision into every IstioOperator and the revisioned expose-istiod template', () => {
    for (const cluster of fs.readdirSync(out())) {
      for (const o of objectsOf(out(), cluster).filter((x) => x.kind === 'IstioOperator')) {
        expect(o.spec.revision, `${cluster} ${o.metadata.name}`).toBe('1-30-3');
      }
    }
    const west = objectsOf(out(), 'cluster-west-1');
    const vs = find(west, 'VirtualService', 'istiod-vs-1-30-3')!;
    expect(vs.spec.tls[0].match[0].sniHosts).toEqual(['istiod-1-30-3.istio-system.svc', 'istiod-1-30-3.istio-system.svc.cluster.local']);
    expect(vs.spec.tls[1].route[0].destination).toEqual({ host: 'istiod-1-30-3.istio-system.svc.cluster.local', port: { number: 443 } });
    expect(find(west, 'Gateway', 'istiod-gateway')!.spec.servers[1].port.name).toBe('tls-webhook');
    const readme = fs.readFileSync(path.join(out(), 'edge-1', 'README.md'), 'utf8');
    expect(readme).toMatch(/kubectl --context=edge-1 label namespace <namespace> istio\.io\/rev=1-30-3/);
  });

  it('applies the gateway options: NodePort with a node selector, load-balancer annotations, the address of the remote', () => {
    const east2 = find(objectsOf(out(), 'cluster-east-2'), 'IstioOperator', 'eastwest')!.spec.components.ingressGateways[0].k8s;
    expect(east2.service.type).toBe('NodePort');
    expect(east2.serviceAnnotations).toEqual({ 'traffic.istio.io/nodeSelector': '{}' });
    const west1 = find(objectsOf(out(), 'cluster-west-1'), 'IstioOperator', 'eastwest')!.spec.components.ingressGateways[0].k8s;
    expect(west1.service.type).toBeUndefined();
    expect(west1.serviceAnnotations).toEqual({
      'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
      'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    });
    const remote = find(objectsOf(out(), 'edge-1'), 'IstioOperator', 'remote')!;
    expect(remote.spec.values.global.remotePilotAddress).toBe('eastwest.west-1.example.com');
    expect(remote.spec.hub).toBe('registry.example.com/istio');
  });

  it('tells the install order: a remote after its primary, a primary before its remotes', () => {
    const edge = fs.readFileSync(path.join(out(), 'edge-1', 'README.md'), 'utf8');
    const west = fs.readFileSync(path.join(out(), 'cluster-west-1', 'README.md'), 'utf8');
    expect(edge).toMatch(/First install `cluster-west-1` \(`\.\.\/cluster-west-1\/README\.md`\)/);
    expect(west).toMatch(/Install this cluster before its remotes: `edge-1`\./);
    // The reader token is fetched after the remote's own install, then the primary's folder is applied again.
    const install = edge.indexOf('istioctl install --context=edge-1 -y -f istiooperator.remote.yaml');
    const fetch = edge.indexOf('meshgen credentials fetch -f ../../mixed.yaml --cluster edge-1');
    expect(install).toBeGreaterThan(0);
    expect(fetch).toBeGreaterThan(install);
    expect(west).toMatch(/- `istio-remote-secret-edge-1`: not written yet: its reader token has not been fetched yet/);
    expect(west).toMatch(/kubectl --context=arn:aws:eks:us-west-2:111122223333:cluster\/west-1 apply -k \./);
  });

  it('deploys the samples: helloworld v1 and v2 alternating, sleep everywhere, a revision-labelled namespace, and says how to verify', () => {
    const versions = ['cluster-east-1', 'cluster-east-2', 'cluster-west-1'].map(
      (c) => objectsOf(out(), c).find((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('helloworld-'))!.metadata.name,
    );
    expect(versions).toEqual(['helloworld-v1', 'helloworld-v2', 'helloworld-v1']);
    const edge = objectsOf(out(), 'edge-1');
    expect(edge.filter((o) => o.metadata.name.startsWith('helloworld'))).toEqual([]);
    expect(find(edge, 'Deployment', 'sleep')).toBeDefined();
    expect(find(edge, 'Namespace', 'sample')!.metadata.labels).toEqual({ 'istio.io/rev': '1-30-3' });
    const readme = fs.readFileSync(path.join(out(), 'edge-1', 'README.md'), 'utf8');
    expect(readme).toMatch(/kubectl --context=edge-1 -n sample exec deploy\/sleep -c sleep -- curl -sS helloworld\.sample:5000\/hello/);
    expect(readme).toMatch(/helloworld runs in `cluster-east-1`, `cluster-east-2`, `cluster-west-1`/);
  });

  it('has every primary read every other cluster of the mesh', () => {
    const readme = fs.readFileSync(path.join(out(), 'cluster-east-1', 'README.md'), 'utf8');
    for (const other of ['cluster-east-2', 'cluster-west-1', 'edge-1']) expect(readme).toMatch(new RegExp(`- \`istio-remote-secret-${other}\``));
    expect(readme).toMatch(
      /delete secret -l istio\/multiCluster=true --field-selector metadata\.name!=istio-remote-secret-cluster-east-2,metadata\.name!=istio-remote-secret-cluster-west-1,metadata\.name!=istio-remote-secret-edge-1/,
    );
  });
});
