/**
 * EastWestGatewayManifests: the shapes Istio's `gateway` chart renders for
 * `helm install istio-eastwestgateway istio/gateway -n istio-system
 * --set name=istio-eastwestgateway --set networkGateway=<network>` (Istio 1.30),
 * their agreement with the IstioOperator form (EastWestGateway), and a
 * `kubectl kustomize` build of them.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { descriptionOf } from '../../src/constructs/description';
import { EastWestGateway } from '../../src/constructs/east-west-gateway';
import { EastWestGatewayManifests, EastWestGatewayManifestsProps } from '../../src/constructs/east-west-gateway-manifests';
import { manifestFileName, toYaml } from '../../src/synth/files';
import { tmpDir } from '../helpers';

/** A synthesized manifest: plain JSON, as Testing.synth returns it. */
type Manifest = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function synth(props: EastWestGatewayManifestsProps): Manifest[] {
  const chart = Testing.chart();
  new EastWestGatewayManifests(chart, 'EW', props);
  return Testing.synth(chart);
}

function byKind(objs: Manifest[]): Record<string, Manifest> {
  return Object.fromEntries(objs.map((o) => [o.kind, o]));
}

const SELECTOR = { app: 'istio-eastwestgateway', istio: 'eastwestgateway' };

describe('EastWestGatewayManifests', () => {
  it('is what the gateway chart renders for --set name=istio-eastwestgateway --set networkGateway=network1', () => {
    // Reference: istio/istio manifests/charts/gateway (Istio 1.30), default values apart from
    // name and networkGateway; Helm's release labels and the empty `annotations: {}` left out.
    expect(synth({ network: 'network1' })).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system', labels: SELECTOR },
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system', labels: SELECTOR },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system', labels: SELECTOR },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'istio-eastwestgateway' },
        subjects: [{ kind: 'ServiceAccount', name: 'istio-eastwestgateway' }],
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'istio-eastwestgateway',
          namespace: 'istio-system',
          labels: {
            'app.kubernetes.io/name': 'istio-eastwestgateway',
            'app.kubernetes.io/part-of': 'istio',
            app: 'istio-eastwestgateway',
            istio: 'eastwestgateway',
          },
        },
        spec: {
          selector: { matchLabels: SELECTOR },
          template: {
            metadata: {
              annotations: {
                'prometheus.io/port': '15020',
                'prometheus.io/scrape': 'true',
                'prometheus.io/path': '/stats/prometheus',
                'inject.istio.io/templates': 'gateway',
                'sidecar.istio.io/inject': 'true',
              },
              labels: {
                'sidecar.istio.io/inject': 'true',
                app: 'istio-eastwestgateway',
                istio: 'eastwestgateway',
                'app.kubernetes.io/name': 'istio-eastwestgateway',
                'app.kubernetes.io/part-of': 'istio',
                'topology.istio.io/network': 'network1',
              },
            },
            spec: {
              serviceAccountName: 'istio-eastwestgateway',
              securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
              containers: [
                {
                  name: 'istio-proxy',
                  image: 'auto',
                  securityContext: {
                    capabilities: { drop: ['ALL'] },
                    allowPrivilegeEscalation: false,
                    privileged: false,
                    readOnlyRootFilesystem: true,
                    runAsUser: 1337,
                    runAsGroup: 1337,
                    runAsNonRoot: true,
                  },
                  env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: 'network1' }],
                  ports: [{ containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' }],
                  resources: {
                    requests: { cpu: '100m', memory: '128Mi' },
                    limits: { cpu: '2000m', memory: '1024Mi' },
                  },
                },
              ],
              terminationGracePeriodSeconds: 30,
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'istio-eastwestgateway',
          namespace: 'istio-system',
          labels: { app: 'istio-eastwestgateway', istio: 'eastwestgateway', 'topology.istio.io/network': 'network1' },
        },
        spec: {
          type: 'LoadBalancer',
          ports: [
            { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
            { name: 'tls', port: 15443, targetPort: 15443, protocol: 'TCP' },
            { name: 'tls-istiod', port: 15012, targetPort: 15012, protocol: 'TCP' },
            { name: 'tls-webhook', port: 15017, targetPort: 15017, protocol: 'TCP' },
          ],
          selector: SELECTOR,
        },
      },
    ]);
  });

  it('labels the pod istio.io/rev with a revision, as --set revision=<rev> does', () => {
    const { Deployment } = byKind(synth({ network: 'network1', revision: '1-30-3' }));
    expect(Deployment.spec.template.metadata.labels).toEqual({
      'sidecar.istio.io/inject': 'true',
      'istio.io/rev': '1-30-3',
      app: 'istio-eastwestgateway',
      istio: 'eastwestgateway',
      'app.kubernetes.io/name': 'istio-eastwestgateway',
      'app.kubernetes.io/part-of': 'istio',
      'topology.istio.io/network': 'network1',
    });
    // The selector never carries the revision, so a revision upgrade keeps the Deployment.
    expect(Deployment.spec.selector).toEqual({ matchLabels: SELECTOR });
  });

  it('takes no istio.io/rev label for an empty revision, as the chart skips an empty value', () => {
    const { Deployment } = byKind(synth({ network: 'network1', revision: '' }));
    expect(Deployment.spec.template.metadata.labels).not.toHaveProperty('istio.io/rev');
  });

  it('makes a NodePort Service with traffic.istio.io/nodeSelector: {}', () => {
    const { Service } = byKind(synth({ network: 'network1', serviceType: 'NodePort' }));
    expect(Service.spec.type).toBe('NodePort');
    expect(Service.metadata.annotations).toEqual({ 'traffic.istio.io/nodeSelector': '{}' });
  });

  it('lets given Service annotations win over the NodePort default, and keeps a LoadBalancer without it', () => {
    const nodePort = byKind(
      synth({ network: 'n1', serviceType: 'NodePort', serviceAnnotations: { 'traffic.istio.io/nodeSelector': '{"pool":"edge"}', 'x/y': 'z' } }),
    );
    expect(nodePort.Service.metadata.annotations).toEqual({ 'traffic.istio.io/nodeSelector': '{"pool":"edge"}', 'x/y': 'z' });
    const lb = byKind(synth({ network: 'n1', serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } }));
    expect(lb.Service.spec.type).toBe('LoadBalancer');
    expect(lb.Service.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
  });

  it('describes every object for the README', () => {
    const chart = Testing.chart();
    const ew = new EastWestGatewayManifests(chart, 'EW', { network: 'network1' });
    for (const obj of [ew.serviceAccount, ew.role, ew.roleBinding, ew.deployment, ew.service]) {
      const text = descriptionOf(obj);
      expect(text).toMatch(new RegExp(`^${obj.kind} \`istio-eastwestgateway\`: `));
      expect(text).not.toContain('\n');
    }
  });

  it('fails when the network is empty', () => {
    expect(() => new EastWestGatewayManifests(Testing.chart(), 'EW', { network: '' })).toThrow(/network must not be empty/);
  });
});

describe('EastWestGatewayManifests and the IstioOperator form agree', () => {
  const variants: [string, EastWestGatewayManifestsProps][] = [
    ['defaults', { network: 'network1' }],
    ['a revision', { network: 'network2', revision: '1-30-3' }],
    ['NodePort', { network: 'network3', serviceType: 'NodePort' }],
    ['NodePort, annotations and a revision', { network: 'n4', revision: 'canary', serviceType: 'NodePort', serviceAnnotations: { 'traffic.istio.io/nodeSelector': '{"pool":"edge"}', 'x/y': 'z' } }],
    ['LoadBalancer with annotations', { network: 'no', serviceType: 'LoadBalancer', serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } }],
  ];

  it.each(variants)('on labels, ports, env, Service type and annotations: %s', (_name, props) => {
    const chart = Testing.chart();
    const iopForm = new EastWestGateway(chart, 'IOP', props);
    const manifests = new EastWestGatewayManifests(chart, 'Manifests', props);
    const objs = Testing.synth(chart);
    const iop = objs.find((o) => o.kind === 'IstioOperator');
    const { Deployment, Service } = byKind(objs.filter((o) => o.kind !== 'IstioOperator'));
    const gw = iop.spec.components.ingressGateways[0];

    // Names: the component name is the Deployment's and the Service's.
    expect(Deployment.metadata.name).toBe(gw.name);
    expect(Service.metadata.name).toBe(gw.name);

    // Every label of the IstioOperator gateway, on the pods and on the Service.
    expect(Object.keys(gw.label).sort()).toEqual(['app', 'istio', 'topology.istio.io/network']);
    const podLabels = Deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(gw.label)) {
      expect(podLabels[key], `pod label ${key}`).toBe(value);
      expect(Service.metadata.labels[key], `Service label ${key}`).toBe(value);
    }
    expect(gw.label['topology.istio.io/network']).toBe(iop.spec.values.global.network);
    // Both select the pods by the same labels; Gateways select by `istio`.
    for (const [key, value] of Object.entries(Service.spec.selector)) expect(gw.label[key]).toBe(value);
    expect(Deployment.spec.selector.matchLabels).toEqual(Service.spec.selector);
    expect(manifests.selector).toEqual(Service.spec.selector);
    expect(Service.spec.selector).toMatchObject(iopForm.selector);

    // Every port, in order.
    const ports = Service.spec.ports.map((p: Manifest) => ({ name: p.name, port: p.port, targetPort: p.targetPort }));
    expect(ports).toEqual(gw.k8s.service.ports);
    expect(Service.spec.ports.every((p: Manifest) => p.protocol === 'TCP')).toBe(true);

    // Every env value.
    expect(Deployment.spec.template.spec.containers[0].env).toEqual(gw.k8s.env);

    // Service type and annotations.
    expect(Service.spec.type).toBe(gw.k8s.service.type ?? 'LoadBalancer');
    expect(Service.metadata.annotations).toEqual(gw.k8s.serviceAnnotations);

    // The revision: spec.revision of the IstioOperator, istio.io/rev of the gateway injection.
    expect(podLabels['istio.io/rev'] ?? '').toBe(iop.spec.revision);

    // Gateway injection, as values.gateways.istio-ingressgateway.injectionTemplate asks.
    expect(iop.spec.values.gateways['istio-ingressgateway'].injectionTemplate).toBe('gateway');
    expect(Deployment.spec.template.metadata.annotations['inject.istio.io/templates']).toBe('gateway');
  });
});

describe('EastWestGatewayManifests with kubectl kustomize', () => {
  it.each<[string, EastWestGatewayManifestsProps]>([
    ['defaults', { network: 'network1' }],
    ['NodePort, annotations and a revision', { network: 'no', revision: '1-30-3', serviceType: 'NodePort', serviceAnnotations: { 'x/y': 'z' } }],
  ])('builds a kustomization of the manifests unchanged: %s', (_name, props) => {
    const objs = synth(props);
    const dir = tmpDir('meshgen-ew-manifests-');
    const files = objs.map((o) => manifestFileName(o));
    objs.forEach((o, i) => fs.writeFileSync(path.join(dir, files[i]), toYaml(o)));
    fs.writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      toYaml({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...files].sort() }),
    );
    expect(files.sort()).toEqual([
      'deployment.istio-system.istio-eastwestgateway.yaml',
      'role.istio-system.istio-eastwestgateway.yaml',
      'rolebinding.istio-system.istio-eastwestgateway.yaml',
      'service.istio-system.istio-eastwestgateway.yaml',
      'serviceaccount.istio-system.istio-eastwestgateway.yaml',
    ]);

    const built = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    const docs = parseAllDocuments(built).map((d) => d.toJS());
    const key = (o: Manifest) => `${o.kind}/${o.metadata.name}`;
    const sorted = (list: Manifest[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    expect(sorted(docs)).toEqual(sorted(objs));
  });
});
