import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { CacertsSecret } from '../../src/constructs/cacerts-secret';
import { ControlPlane } from '../../src/constructs/control-plane';
import { CrossNetworkGateway } from '../../src/constructs/cross-network-gateway';
import { EastWestGateway } from '../../src/constructs/east-west-gateway';
import { ExposeIstiod } from '../../src/constructs/expose-istiod';
import { RemoteControlPlane } from '../../src/constructs/remote-control-plane';
import { IstioSystemNamespace } from '../../src/constructs/istio-system-namespace';
import { checkAgainstCrd, checkIstioOperator } from '../helpers/istio-api';

describe('EastWestGateway', () => {
  it('is the IstioOperator gen-eastwest-gateway.sh --network prints', () => {
    const chart = Testing.chart();
    new EastWestGateway(chart, 'EW', { network: 'network1' });
    const [iop] = Testing.synth(chart);
    // Reference: samples/multicluster/gen-eastwest-gateway.sh --network network1 (Istio 1.30).
    expect(iop).toEqual({
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: 'eastwest' },
      spec: {
        revision: '',
        profile: 'empty',
        components: {
          ingressGateways: [
            {
              name: 'istio-eastwestgateway',
              label: { istio: 'eastwestgateway', app: 'istio-eastwestgateway', 'topology.istio.io/network': 'network1' },
              enabled: true,
              k8s: {
                env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: 'network1' }],
                service: {
                  ports: [
                    { name: 'status-port', port: 15021, targetPort: 15021 },
                    { name: 'tls', port: 15443, targetPort: 15443 },
                    { name: 'tls-istiod', port: 15012, targetPort: 15012 },
                    { name: 'tls-webhook', port: 15017, targetPort: 15017 },
                  ],
                },
              },
            },
          ],
        },
        values: {
          gateways: { 'istio-ingressgateway': { injectionTemplate: 'gateway' } },
          global: { network: 'network1' },
        },
      },
    });
    expect(checkIstioOperator(iop)).toEqual([]);
  });
});

describe('ControlPlane', () => {
  it('sets mesh ID, cluster name, network, hub and tag', () => {
    const chart = Testing.chart();
    new ControlPlane(chart, 'CP', { meshID: 'mesh1', clusterName: 'cluster1', network: 'network1', hub: 'docker.io/istio', tag: '1.30.3' });
    const [iop] = Testing.synth(chart);
    expect(iop).toEqual({
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: 'control-plane' },
      spec: {
        hub: 'docker.io/istio',
        tag: '1.30.3',
        values: { global: { meshID: 'mesh1', multiCluster: { clusterName: 'cluster1' }, network: 'network1' } },
      },
    });
    expect(checkIstioOperator(iop)).toEqual([]);
  });
});

describe('CrossNetworkGateway', () => {
  it('is expose-services.yaml in networking.istio.io/v1', () => {
    const chart = Testing.chart();
    new CrossNetworkGateway(chart, 'G');
    const [gw] = Testing.synth(chart);
    expect(gw).toEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'cross-network-gateway', namespace: 'istio-system' },
      spec: {
        selector: { istio: 'eastwestgateway' },
        servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*.local'] }],
      },
    });
    expect(checkAgainstCrd(gw)).toEqual([]);
  });
});

describe('IstioSystemNamespace', () => {
  it('carries the network label when given a network', () => {
    const chart = Testing.chart();
    new IstioSystemNamespace(chart, 'NS', { network: 'network2' });
    expect(Testing.synth(chart)).toEqual([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network2' } } },
    ]);
  });

  it('has no labels without a network', () => {
    const chart = Testing.chart();
    new IstioSystemNamespace(chart, 'NS');
    expect(Testing.synth(chart)).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } }]);
  });
});

describe('CacertsSecret', () => {
  it('is an Opaque Secret cacerts in istio-system with the four PEM files', () => {
    const chart = Testing.chart();
    const files = { 'ca-cert.pem': 'CA\n', 'ca-key.pem': 'KEY\n', 'root-cert.pem': 'ROOT\n', 'cert-chain.pem': 'CA\nROOT\n' };
    new CacertsSecret(chart, 'S', { files });
    const [secret] = Testing.synth(chart);
    expect(secret.metadata).toEqual({ name: 'cacerts', namespace: 'istio-system' });
    expect(secret.type).toBe('Opaque');
    expect(Object.keys(secret.data).sort()).toEqual(['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
    for (const [k, v] of Object.entries(files)) expect(Buffer.from(secret.data[k], 'base64').toString()).toBe(v);
  });
});

describe('EastWestGateway options', () => {
  it('takes a revision, a NodePort Service with a node selector, and extra annotations that win', () => {
    const chart = Testing.chart();
    new EastWestGateway(chart, 'EW', {
      network: 'n1',
      revision: 'canary',
      serviceType: 'NodePort',
      serviceAnnotations: { 'traffic.istio.io/nodeSelector': '{"pool":"edge"}', 'x/y': 'z' },
    });
    const [iop] = Testing.synth(chart);
    expect(iop.spec.revision).toBe('canary');
    const k8s = iop.spec.components.ingressGateways[0].k8s;
    expect(k8s.service.type).toBe('NodePort');
    expect(k8s.serviceAnnotations).toEqual({ 'traffic.istio.io/nodeSelector': '{"pool":"edge"}', 'x/y': 'z' });
    expect(checkIstioOperator(iop)).toEqual([]);
  });
});

describe('RemoteControlPlane', () => {
  it('is the remote profile pointed at the primary', () => {
    const chart = Testing.chart();
    new RemoteControlPlane(chart, 'R', {
      injectionPath: '/inject/cluster/c2/net/n2',
      remotePilotAddress: '192.0.2.1',
      primary: 'c1',
      hub: 'docker.io/istio',
      tag: '1.30.3',
    });
    const [iop] = Testing.synth(chart);
    expect(iop).toEqual({
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: 'remote' },
      spec: {
        profile: 'remote',
        hub: 'docker.io/istio',
        tag: '1.30.3',
        values: { istiodRemote: { injectionPath: '/inject/cluster/c2/net/n2' }, global: { remotePilotAddress: '192.0.2.1' } },
      },
    });
    expect(checkIstioOperator(iop)).toEqual([]);
  });
});

describe('ExposeIstiod', () => {
  it('is expose-istiod.yaml without a revision and the -rev template with one, valid against the CRDs', () => {
    for (const revision of [undefined, 'canary']) {
      const chart = Testing.chart();
      new ExposeIstiod(chart, 'E', { revision });
      const [gw, vs] = Testing.synth(chart);
      expect(gw.metadata).toEqual({ name: 'istiod-gateway', namespace: 'istio-system' });
      expect(vs.metadata.name).toBe(revision ? 'istiod-vs-canary' : 'istiod-vs');
      const host = revision ? 'istiod-canary.istio-system.svc.cluster.local' : 'istiod.istio-system.svc.cluster.local';
      expect(vs.spec.tls.map((t: any) => t.route[0].destination)).toEqual([
        { host, port: { number: 15012 } },
        { host, port: { number: 443 } },
      ]);
      expect(vs.spec.tls[0].match[0].sniHosts).toEqual(revision ? ['istiod-canary.istio-system.svc', host] : ['*']);
      expect(checkAgainstCrd(gw)).toEqual([]);
      expect(checkAgainstCrd(vs)).toEqual([]);
    }
  });
});
