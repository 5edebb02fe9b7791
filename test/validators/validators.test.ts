/**
 * Every object of every golden tree (test/synth/__golden__, read as they
 * are now) against what a cluster running Istio 1.30 (Kubernetes 1.32+)
 * enforces and the v1.20 test API server does not: the CEL rules of its
 * CRD, the full upstream schema of its CRD with unknown fields rejected, and
 * the published model of its API (@kubernetes-models). Then the same for the
 * SealedSecrets meshgen writes, and cases that show each check can fail.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/model/load';
import { synthesize } from '../../src/synth/synthesize';
import { FIXTURE_TOPOLOGIES, meshYaml, REPO, TWO_CLUSTERS, walk, workspace } from '../helpers';
import { controllerKey } from '../helpers/sealed';
import { checkCel, compileRule, rulesOf } from './cel';
import { servedVersion, servedVersions } from './crds';
import { parseRequestUri } from './k8s-url';
import { checkModel, checkSchema, hasModels, type KubeObject } from './schema';

const GOLDEN = path.join(REPO, 'test', 'synth', '__golden__');

/**
 * API groups that are Kubernetes' own, not custom resources: their schemas
 * are the API server's, and test/integration applies every golden folder to
 * a real one.
 */
const BUILT_IN_GROUPS = new Set(['', 'apps', 'rbac.authorization.k8s.io', 'batch', 'policy', 'autoscaling', 'networking.k8s.io', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'storage.k8s.io', 'discovery.k8s.io', 'coordination.k8s.io', 'scheduling.k8s.io']);

/** Objects in the output that are never sent to an API server, and why. */
const NOT_APPLIED: Record<string, string> = {
  'kustomize.config.k8s.io/v1beta1/Kustomization': "kustomize's own file: kubectl reads it, no API server does",
  'install.istio.io/v1alpha1/IstioOperator': "istioctl's input (every kustomization leaves it out); test/helpers/istio-api checks it against Istio's Go types",
};

interface Found {
  /** Where: `tree: path#document`. */
  readonly at: string;
  readonly obj: KubeObject;
}

/** The files of a golden tree, as test/synth/topologies.test.ts writes it (`=== path` then `mode content`). */
function goldenFiles(tree: string): Map<string, string> {
  const text = fs.readFileSync(path.join(GOLDEN, tree), 'utf8');
  const files = new Map<string, string>();
  const parts = text.split(/^=== (.+)\n/m);
  for (let i = 1; i < parts.length; i += 2) files.set(parts[i], parts[i + 1].replace(/^[0-7]{3} /, ''));
  return files;
}

/** The API objects of YAML files: documents with an apiVersion and a kind. */
function objectsOf(files: Map<string, string>, label: string): Found[] {
  const out: Found[] = [];
  for (const [file, content] of files) {
    if (!file.endsWith('.yaml')) continue;
    parseAllDocuments(content).forEach((doc, i) => {
      const obj = doc.toJS() as KubeObject | null;
      if (typeof obj?.apiVersion === 'string' && typeof obj.kind === 'string') out.push({ at: `${label}: ${file}#${i}`, obj });
    });
  }
  return out;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** What the checks found in a set of objects. */
interface Checked {
  problems: string[];
  /** Custom resources checked, by `apiVersion kind`. */
  kinds: Map<string, number>;
  evaluated: number;
  ran: Set<string>;
}

/** Runs every check on every custom resource of `objects`; anything that is neither built in, nor known not to be applied, nor served by a CRD here is a problem. */
function checkAll(objects: Found[]): Checked {
  const checked: Checked = { problems: [], kinds: new Map(), evaluated: 0, ran: new Set() };
  for (const { at, obj } of objects) {
    const id = `${at} ${obj.kind}/${obj.metadata?.name}`;
    if (BUILT_IN_GROUPS.has(groupOf(obj.apiVersion)) || `${obj.apiVersion}/${obj.kind}` in NOT_APPLIED) continue;
    const served = servedVersion(obj.apiVersion, obj.kind);
    if (!served) {
      checked.problems.push(`${id}: no CRD here serves ${obj.apiVersion} ${obj.kind}; add the upstream CRD to test/fixtures/crds/upstream`);
      continue;
    }
    const key = `${obj.apiVersion} ${obj.kind}`;
    checked.kinds.set(key, (checked.kinds.get(key) ?? 0) + 1);
    const cel = checkCel(obj, served.schema);
    checked.evaluated += cel.evaluated;
    cel.ran.forEach((r) => checked.ran.add(`${obj.kind} ${r}`));
    checked.problems.push(...cel.problems.map((p) => `${id}: CEL ${p}`));
    checked.problems.push(...checkSchema(obj).map((p) => `${id}: schema of ${served.crd}: ${p}`));
    if (hasModels(obj.apiVersion)) checked.problems.push(...checkModel(obj).map((p) => `${id}: @kubernetes-models: ${p}`));
  }
  return checked;
}

const TREES = fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.txt')).sort();
const results = new Map<string, Checked>();

beforeAll(() => {
  for (const tree of TREES) results.set(tree, checkAll(objectsOf(goldenFiles(tree), tree)));
});

describe('CEL rules of the CRDs', () => {
  it('compiles every rule of every served CRD version, and counts them', () => {
    const failures: string[] = [];
    const counts: Record<string, { rules: number; transition: number }> = {};
    for (const [key, { schema }] of servedVersions()) {
      const group = key.split('/')[0];
      const project = group.endsWith('.istio.io') ? 'istio.io' : group;
      counts[project] ??= { rules: 0, transition: 0 };
      for (const { at, rule } of rulesOf(schema)) {
        try {
          counts[project].rules++;
          if (compileRule(rule).kind === 'transition') counts[project].transition++;
        } catch (err) {
          failures.push(`${key} ${at}: ${(err as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // Each rule once per served version it appears in (Istio serves v1alpha3, v1beta1 and v1 of most kinds).
    expect(counts).toEqual({
      'istio.io': { rules: 362, transition: 0 },
      'argoproj.io': { rules: 0, transition: 0 },
      'cert-manager.io': { rules: 0, transition: 0 },
      'external-secrets.io': { rules: 0, transition: 0 },
      'source.toolkit.fluxcd.io': { rules: 0, transition: 0 },
      'helm.toolkit.fluxcd.io': { rules: 5, transition: 0 },
      'kustomize.toolkit.fluxcd.io': { rules: 2, transition: 0 },
      'sailoperator.io': { rules: 20, transition: 2 },
      'bitnami.com': { rules: 0, transition: 0 },
      'gateway.networking.k8s.io': { rules: 32, transition: 0 },
    });
  });
});

describe.each(TREES)('golden tree %s', (tree) => {
  it('passes the CEL rules, the upstream schema (no unknown fields) and the published model of every custom resource', () => {
    expect(results.get(tree)!.problems).toEqual([]);
  });
});

describe('the golden trees as a whole', () => {
  const total = () => {
    const kinds = new Map<string, number>();
    const ran = new Set<string>();
    let evaluated = 0;
    for (const r of results.values()) {
      r.kinds.forEach((n, k) => kinds.set(k, (kinds.get(k) ?? 0) + n));
      r.ran.forEach((x) => ran.add(x));
      evaluated += r.evaluated;
    }
    return { kinds, ran, evaluated };
  };

  it('hold custom resources of every project checked, so that no check passes for want of objects', () => {
    const groups = new Set([...total().kinds.keys()].map((k) => groupOf(k.split(' ')[0])));
    for (const g of ['networking.istio.io', 'helm.toolkit.fluxcd.io', 'source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io', 'argoproj.io', 'cert-manager.io', 'external-secrets.io', 'sailoperator.io', 'gateway.networking.k8s.io']) {
      expect(groups, g).toContain(g);
    }
  });

  it('reach the CEL rules of ServiceEntry, Gateway, HelmRelease and the Sail Istio', () => {
    const { ran, evaluated } = total();
    expect(evaluated).toBeGreaterThan(50);
    expect(ran).toContain('ServiceEntry .spec: (has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1');
    expect(ran).toContain('ServiceEntry .spec.ports: self.all(l1, self.exists_one(l2, l1.number == l2.number))');
    expect([...ran].some((r) => r.startsWith('Gateway .spec.servers[*]'))).toBe(true);
    expect([...ran].some((r) => r.startsWith('HelmRelease .spec:'))).toBe(true);
    expect([...ran].some((r) => r.startsWith('Istio .spec:') && r.includes('__namespace__'))).toBe(true);
    // The ambient east-west gateway and waypoints: Gateway API's rules on listeners.
    expect([...ran].some((r) => r.startsWith('Gateway .spec.listeners'))).toBe(true);
  });
});

describe('SealedSecrets that meshgen writes', () => {
  it('pass the Sealed Secrets CRD and its published model', async () => {
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: '  secrets: {encryption: sealed-secrets, sealedSecrets: {cert: "sealed/{cluster}.pem"}}\n' }));
    for (const cluster of ['cluster1', 'cluster2']) controllerKey(path.join(ws.dir, 'sealed'), cluster, { bits: 2048 });
    await synthesize(loadTopology(ws.file), { outdir: ws.out, env: { KUBECONFIG: path.join(FIXTURE_TOPOLOGIES, '..', 'kubeconfig', 'fleet.yaml') } });
    const files = new Map(walk(ws.out).map((f) => [f, fs.readFileSync(path.join(ws.out, f), 'utf8')]));
    const checked = checkAll(objectsOf(files, 'sealed-secrets output'));
    expect(checked.problems).toEqual([]);
    expect(checked.kinds.get('bitnami.com/v1alpha1 SealedSecret')).toBeGreaterThanOrEqual(4);
  });
});

// ------------------------------------------------------------ each check can fail

/** CEL problems of an object against the CRD that serves it. */
function cel(obj: KubeObject): string[] {
  return checkCel(obj, servedVersion(obj.apiVersion, obj.kind)!.schema).problems;
}

const serviceEntry = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  metadata: { name: 'payments', namespace: 'payments' },
  spec: { hosts: ['payments.global'], ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', location: 'MESH_INTERNAL', ...spec },
});

describe('the CEL check fails', () => {
  it('fails on a ServiceEntry with both workloadSelector and endpoints', () => {
    const both = serviceEntry({ workloadSelector: { labels: { app: 'payments' } }, endpoints: [{ address: '10.1.2.3' }] });
    expect(cel(both)).toEqual(['.spec: only one of WorkloadSelector or Endpoints can be set (rule: (has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1)']);
    // Each alone is fine, and the upstream schema has nothing against either: only the CEL rule catches it.
    expect(cel(serviceEntry({ endpoints: [{ address: '10.1.2.3' }] }))).toEqual([]);
    expect(cel(serviceEntry({ workloadSelector: { labels: { app: 'payments' } } }))).toEqual([]);
    expect(checkSchema(both)).toEqual([]);
  });

  it('fails on a port out of range, a repeated port, and a unix:// address with ports', () => {
    expect(cel(serviceEntry({ ports: [{ number: 70000, name: 'http', protocol: 'HTTP' }] }))).toEqual([
      '.spec.ports[0].number: port must be between 1-65535 (rule: 0 < self && self <= 65535)',
    ]);
    expect(cel(serviceEntry({ ports: [{ number: 80, name: 'a' }, { number: 80, name: 'b' }] }))).toEqual([
      '.spec.ports: port number cannot be duplicated (rule: self.all(l1, self.exists_one(l2, l1.number == l2.number)))',
    ]);
    expect(cel(serviceEntry({ endpoints: [{ address: 'unix:///var/run/a.sock', ports: { http: 80 } }] }))).toEqual([
      '.spec.endpoints[0]: UDS may not include ports (rule: (has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true)',
    ]);
  });

  it('fails on a duration under 1ms, and on one that is not a duration', () => {
    const rule = (connectTimeout: string): KubeObject => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'r', namespace: 'istio-system' },
      spec: { host: 'a.example', trafficPolicy: { connectionPool: { tcp: { connectTimeout } } } },
    });
    expect(cel(rule('10ms'))).toEqual([]);
    expect(cel(rule('0s'))[0]).toMatch(/^\.spec\.trafficPolicy\.connectionPool\.tcp\.connectTimeout: must be a valid duration greater than 1ms/);
    expect(cel(rule('1d'))[0]).toMatch(/connectTimeout: error: .*duration/);
  });

  it('fails on a Flux HelmRelease with both chart and chartRef, or a retry interval it would not use', () => {
    const release = (spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'istiod', namespace: 'istio-system' },
      spec: { interval: '10m', chart: { spec: { chart: 'istiod', sourceRef: { kind: 'HelmRepository', name: 'istio' } } }, ...spec },
    });
    expect(cel(release({}))).toEqual([]);
    expect(cel(release({ chartRef: { kind: 'OCIRepository', name: 'istiod' } }))).toEqual([
      '.spec: either chart or chartRef must be set (rule: (has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef)))',
    ]);
    expect(cel(release({ install: { strategy: { name: 'RemediateOnFailure', retryInterval: '2m' } } }))).toEqual([
      ".spec.install.strategy: .retryInterval cannot be set when .name is 'RemediateOnFailure' (rule: !has(self.retryInterval) || self.name != 'RemediateOnFailure')",
    ]);
  });

  it('fails on a Sail Istio whose values name another namespace, through the escaped property `namespace`', () => {
    const istio = (istioNamespace: string): KubeObject => ({
      apiVersion: 'sailoperator.io/v1',
      kind: 'Istio',
      metadata: { name: 'default' },
      spec: { version: 'v1.30.3', namespace: 'istio-system', values: { global: { istioNamespace } } },
    });
    expect(cel(istio('istio-system'))).toEqual([]);
    expect(cel(istio('other'))[0]).toMatch(/^\.spec: spec\.values\.global\.istioNamespace must match spec\.namespace/);
  });

  it('runs the Kubernetes URL library as Go parses request URIs', () => {
    const wasm = (url: string): KubeObject => ({
      apiVersion: 'extensions.istio.io/v1alpha1',
      kind: 'WasmPlugin',
      metadata: { name: 'w', namespace: 'istio-system' },
      spec: { url },
    });
    expect(cel(wasm('oci://registry.example/plugin:1'))).toEqual([]);
    expect(cel(wasm('registry.example/plugin:1'))).toEqual([]);
    expect(cel(wasm('ftp://registry.example/plugin'))).toHaveLength(1);
    const check = (rule: string, self: string) => {
      const compiledRule = compileRule({ rule });
      return compiledRule.kind === 'check' ? compiledRule.evaluate(self) : undefined;
    };
    // The examples of https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-url-library
    expect(check("url(self).getHost() == 'example.com:80'", 'https://example.com:80/')).toBe(true);
    expect(check("url(self).getHostname() == '::1' && url(self).getPort() == '80'", 'https://[::1]:80/')).toBe(true);
    expect(check("url(self).getEscapedPath() == '/path%20with%20spaces/'", 'https://example.com/path with spaces/')).toBe(true);
    expect(check("url(self).getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}", 'https://example.com/path?k1=a&k2=b&k2=c')).toBe(true);
    expect(check('isURL(self)', '/absolute-path')).toBe(true);
    expect(check('isURL(self)', 'example.com')).toBe(false);
    expect(check('isURL(self)', 'https://exa mple.com/')).toBe(false);
    expect(check('isURL(self)', 'https://example.com:8x/')).toBe(false);
    expect(() => parseRequestUri('://x')).toThrow('missing protocol scheme');
  });

  it('refuses to compile a rule that calls a function the environment does not have, or reads an undeclared variable', () => {
    expect(() => compileRule({ rule: 'quantity(self).isInteger()' })).toThrow(/calls isInteger, quantity, which this CEL environment does not have/);
    expect(() => compileRule({ rule: 'self.all(k, slef[k] != "")' })).toThrow(/reads slef: only self and oldSelf are declared/);
    expect(() => compileRule({ rule: 'self.all(k, ' })).toThrow();
    expect(compileRule({ rule: 'self.all(k, self[k] != "")' }).kind).toBe('check');
  });
});

describe('the upstream schemas reject what the API server would', () => {
  const helmRelease = (): KubeObject => ({
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'istiod', namespace: 'istio-system' },
    spec: { interval: '10m', chart: { spec: { chart: 'istiod', version: '1.30.3', sourceRef: { kind: 'HelmRepository', name: 'istio' } } } },
  });

  it('fails on an unknown field in a Flux HelmRelease, and on a wrong type in the model', () => {
    const r = helmRelease();
    expect(checkSchema(r)).toEqual([]);
    expect(checkModel(r)).toEqual([]);
    (r.spec as Record<string, unknown>).installCRDs = true;
    expect(checkSchema(r)).toEqual(['/spec must NOT have additional properties "installCRDs"']);
    const wrong = helmRelease();
    (wrong.spec as Record<string, unknown>).interval = 600;
    expect(checkSchema(wrong)).toEqual(['/spec/interval must be string']);
    expect(checkModel(wrong)).toEqual(['/spec/interval must be string']);
  });

  it('fails on an unknown field, a bad enum or a missing required field in Argo CD, cert-manager, external-secrets, Sail and Sealed Secrets objects', () => {
    const app: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'a', namespace: 'argocd' },
      spec: { project: 'default', destination: { name: 'in-cluster' }, source: { repoURL: 'https://example.com/r.git', path: '.' }, syncPolicy: { automated: { selfHeal: true, prunne: true } } },
    };
    expect(checkSchema(app)).toEqual(['/spec/syncPolicy/automated must NOT have additional properties "prunne"']);

    const certificate: KubeObject = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'cacerts', namespace: 'istio-system' },
      spec: { secretName: 'cacerts', issuerRef: { name: 'ca' }, isCA: true, privateKey: { algorithm: 'DSA' } },
    };
    expect(checkSchema(certificate)).toEqual(['/spec/privateKey/algorithm must be equal to one of the allowed values ["RSA","ECDSA","Ed25519"]']);
    expect(checkModel(certificate)[0]).toMatch(/^\/spec\/privateKey\/algorithm must be equal to one of the allowed values/);

    const externalSecret: KubeObject = {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'x', namespace: 'istio-system' },
      spec: { secretStoreRef: { name: 'vault', kind: 'ClusterSecretStore' }, target: { name: 'x' }, data: [{ secretKey: 'k', remoteRef: { key: 'k', property: 'p', version: 1 } }] },
    };
    expect(checkSchema(externalSecret)).toEqual(['/spec/data/0/remoteRef/version must be string']);

    const sail: KubeObject = { apiVersion: 'sailoperator.io/v1', kind: 'Istio', metadata: { name: 'default' }, spec: { version: 'v1.30.3', namespace: 'istio-system', revision: 'x' } };
    expect(checkSchema(sail)).toEqual(['/spec must NOT have additional properties "revision"']);

    const sealed: KubeObject = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 's', namespace: 'istio-system' }, spec: { template: {} } };
    expect(checkSchema(sealed)).toEqual(["/spec must have required property 'encryptedData'"]);
    expect(checkModel(sealed)).toEqual(['/spec must have required property encryptedData']);
  });

  it('fails on a repeated key in a list the schema makes a map', () => {
    const sail: KubeObject = {
      apiVersion: 'sailoperator.io/v1',
      kind: 'Istio',
      metadata: { name: 'default' },
      spec: { version: 'v1.30.3', namespace: 'istio-system', values: { pilot: { resources: { claims: [{ name: 'gpu' }, { name: 'gpu' }] } } } },
    };
    expect(checkSchema(sail)).toEqual(['.spec.values.pilot.resources.claims[1]: duplicate entry for keys name ["gpu"]']);
  });

  it('fails on a kind that no CRD here serves', () => {
    expect(checkAll([{ at: 't', obj: { apiVersion: 'sailoperator.io/v1', kind: 'Ztunnel', metadata: { name: 'default' } } }]).problems).toEqual([
      't Ztunnel/default: no CRD here serves sailoperator.io/v1 Ztunnel; add the upstream CRD to test/fixtures/crds/upstream',
    ]);
  });
});
