/**
 * Validation of primary-remote and multi-mesh topology rules: each failure
 * names the file, line, path and fix, and the CLI exits 1 on it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/errors';
import { parseTopology } from '../../src/model/load';
import { runCli, runMain, tmpDir } from '../helpers';

const FILE = '/topo/mesh.yaml';

function mesh(name: string, clusters: string, extra = ''): string {
  return [
    'apiVersion: meshgen.dev/v1alpha1',
    'kind: Mesh',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  istio:',
    '    version: 1.30.3',
    extra,
    '  trust:',
    `    keyStore: pki/${name}`,
    '  clusters:',
    clusters.trim().replace(/^/gm, '    '),
    '',
  ]
    .filter((l) => l !== '')
    .join('\n')
    .concat('\n');
}

const PRIMARY = `
- name: cluster1
  context: c1
  network: network1
  eastWestGateway: {address: 192.0.2.10}`;

const cases: { name: string; text: string; expect: RegExp[] }[] = [
  {
    name: 'fails when an OpenShift cluster is installed without Sail, which alone installs the CNI node agent OpenShift needs',
    text: mesh('mesh1', `${PRIMARY}\n  platform: openshift`),
    expect: [
      /spec\.clusters\[0\]\.platform: cluster "cluster1" runs OpenShift, which needs Istio's CNI node agent, and istio\.install istioctl does not install it/,
      /fix: set spec\.istio\.install: sail/,
    ],
  },
  {
    name: 'fails when a mesh on OpenShift installs with Helm through a GitOps engine',
    text: mesh('mesh1', PRIMARY, '  platform: openshift\n  gitops: {engine: flux}'),
    expect: [/spec\.platform: OpenShift clusters need Istio's CNI node agent, which istio\.install helm does not install/],
  },
  {
    name: 'fails when an ambient mesh has a remote, which Istio does not support in ambient',
    text: mesh(
      'mesh1',
      `${PRIMARY}\n- {name: cluster2, context: c2, network: network2, role: remote, controlPlane: cluster1}`,
      '  dataplane: ambient',
    ),
    expect: [/spec\.clusters\[1\]\.role: cluster "cluster2" is a remote, and ambient meshes are multi-primary only/, /fix: make it a primary \(remove role and controlPlane\), or use dataplane: sidecar/],
  },
  {
    name: 'fails when two clusters of an ambient mesh share a network',
    text: mesh('mesh1', `${PRIMARY}\n- {name: cluster2, context: c2, network: network1}`, '  dataplane: ambient'),
    expect: [/spec\.clusters\[1\]\.network: cluster "cluster2" shares network "network1" with cluster "cluster1"/, /fix: give each cluster a network of its own/],
  },
  {
    name: 'fails when an ambient mesh runs an Istio without ambient multicluster',
    text: mesh('mesh1', PRIMARY, '  dataplane: ambient').replace('version: 1.30.3', 'version: 1.26.4'),
    expect: [/spec\.istio\.version: Istio 1\.26\.4 has no ambient multicluster/, /fix: use Istio 1\.27\.0 or later/],
  },
  {
    name: 'fails when an ambient mesh runs on OpenShift',
    text: mesh('mesh1', `${PRIMARY}\n  platform: openshift`, '  dataplane: ambient\n  istio:\n    install: sail').replace('  istio:\n    version: 1.30.3\n  dataplane: ambient\n  istio:\n    install: sail', '  istio:\n    version: 1.30.3\n    install: sail\n  dataplane: ambient'),
    expect: [/spec\.clusters\[0\]\.platform: cluster "cluster1" runs OpenShift, for which meshgen does not write ambient installs/],
  },
  {
    name: 'fails when spec.ambient is set on a sidecar mesh',
    text: mesh('mesh1', PRIMARY, '  ambient: {waypoints: [{namespace: sample}]}'),
    expect: [/spec\.ambient: spec\.ambient applies to ambient meshes only/, /fix: add spec\.dataplane: ambient, or remove spec\.ambient/],
  },
  {
    name: 'fails when a waypoint is listed twice',
    text: mesh('mesh1', PRIMARY, '  dataplane: ambient\n  ambient:\n    waypoints: [{namespace: sample}, {namespace: sample, name: waypoint, for: all}]'),
    expect: [/spec\.ambient\.waypoints\[1\]: waypoint sample\/waypoint is already listed at spec\.ambient\.waypoints\[0\]/],
  },
  {
    name: 'fails when a federation joins an ambient mesh',
    text: `${mesh('mesh1', PRIMARY, '  dataplane: ambient')}---\n${mesh('mesh2', '- {name: cluster3, context: c3, network: network3, eastWestGateway: {address: 192.0.2.30}}')}---\napiVersion: meshgen.dev/v1alpha1\nkind: MeshFederation\nmetadata:\n  name: fed\nspec:\n  meshes: [mesh1, mesh2]\n  trust: trust-bundles\n`,
    expect: [/spec\.meshes\[0\]: mesh "mesh1" is an ambient mesh, and meshgen federates sidecar meshes only/],
  },
  ...(
    [
      ['rootKey without rootCert', '    rootKey: root-key.pem', /spec\.trust\.rootKey: rootKey needs rootCert/, /fix: add trust\.rootCert: the certificate of that key/],
      ['intermediates without rootCert', '    intermediates: {cluster1: {cert: c.pem, key: k.pem}}', /spec\.trust\.intermediates: intermediates need the root they chain to/, /fix: add trust\.rootCert/],
      [
        'cert-manager with a root key',
        '    rootCert: r.pem\n    rootKey: k.pem\n    certManager: {issuerRef: {name: ca}}',
        /spec\.trust\.certManager: cert-manager makes the intermediates in the clusters, so rootKey and intermediates cannot be given too/,
        /fix: remove them/,
      ],
      ['cert-manager with encryptRootKey', '    certManager: {issuerRef: {name: ca}}\n    encryptRootKey: true', /spec\.trust\.encryptRootKey: with cert-manager meshgen holds no root key to encrypt/, /fix: remove encryptRootKey/],
      [
        'intermediates for a cluster the mesh lacks',
        '    rootCert: r.pem\n    intermediates: {cluster1: {cert: c.pem, key: k.pem}, cluster9: {cert: c.pem, key: k.pem}}',
        /spec\.trust\.intermediates\.cluster9: "cluster9" is not a cluster of this mesh/,
        /fix: use one of: cluster1/,
      ],
    ] as const
  ).map(([what, trust, message, fix]) => ({
    name: `fails when the trust block has ${what}`,
    text: mesh('mesh1', PRIMARY).replace('    keyStore: pki/mesh1\n', `    keyStore: pki/mesh1\n${trust}\n`),
    expect: [message, fix],
  })),
  {
    name: 'fails when a GitOps engine is given with an install method other than helm',
    text: mesh('mesh1', PRIMARY).replace('    version: 1.30.3\n', '    version: 1.30.3\n    install: sail\n  gitops: {engine: flux}\n'),
    expect: [/spec\.istio\.install: gitops\.engine flux installs Istio from its Helm charts, but istio\.install is sail/, /fix: remove istio\.install \(helm is implied\), or remove gitops/],
  },
  {
    name: 'fails when Argo CD has no repoURL',
    text: mesh('mesh1', PRIMARY, '  gitops: {engine: argocd}'),
    expect: [/spec\.gitops: Argo CD Applications need the Git repository the output is committed to/, /fix: add gitops\.repoURL/],
  },
  {
    name: 'fails when two federations share a name',
    text: `${mesh('mesh1', PRIMARY)}---\n${mesh('mesh2', '- {name: cluster3, context: c3, network: network3, eastWestGateway: {address: 192.0.2.30}}')}${['fed', 'fed']
      .map((n) => `---\napiVersion: meshgen.dev/v1alpha1\nkind: MeshFederation\nmetadata:\n  name: ${n}\nspec:\n  meshes: [mesh1, mesh2]\n  trust: trust-bundles\n`)
      .join('')}`,
    expect: [/metadata\.name: federation "fed" is already defined at \/topo\/mesh\.yaml:\d+/, /fix: give each MeshFederation its own name/],
  },
  {
    name: 'fails when a remote has no controlPlane',
    text: mesh('mesh1', `${PRIMARY}\n- {name: cluster2, context: c2, network: network1, role: remote}`),
    expect: [/mesh\.yaml:15:7: spec\.clusters\[1\]: remote cluster "cluster2" has no controlPlane/, /fix: add controlPlane: <name of the primary cluster/],
  },
  {
    name: 'fails when a controlPlane names no cluster, suggesting the nearest primary',
    text: mesh('mesh1', `${PRIMARY}\n- {name: cluster2, context: c2, network: network1, role: remote, controlPlane: cluster01}`),
    expect: [/spec\.clusters\[1\]\.controlPlane: controlPlane "cluster01" is not a cluster of mesh "mesh1"/, /fix: did you mean "cluster1"\?/],
  },
  {
    name: 'fails when a controlPlane is itself a remote',
    text: mesh(
      'mesh1',
      `${PRIMARY}\n- {name: cluster2, context: c2, network: network1, role: remote, controlPlane: cluster1}\n- {name: cluster3, context: c3, network: network1, role: remote, controlPlane: cluster2}`,
    ),
    expect: [/spec\.clusters\[2\]\.controlPlane: controlPlane "cluster2" is itself a remote/, /fix: name a primary cluster, or make "cluster2" a primary/],
  },
  {
    name: 'fails when a controlPlane is a cluster of another mesh',
    text: `${mesh('mesh1', `${PRIMARY}\n- {name: cluster2, context: c2, network: network1, role: remote, controlPlane: other1}`)}---\n${mesh('mesh2', '- {name: other1, context: o1, network: network9}')}`,
    expect: [/spec\.clusters\[1\]\.controlPlane: controlPlane "other1" is a cluster of mesh "mesh2", not of mesh "mesh1"/],
  },
  {
    name: 'fails when a primary has a controlPlane',
    text: mesh('mesh1', `${PRIMARY}\n- {name: cluster2, context: c2, network: network1, controlPlane: cluster1}`),
    expect: [/spec\.clusters\[1\]\.controlPlane: only a remote cluster has a controlPlane, and "cluster2" is a primary/, /fix: add role: remote/],
  },
  {
    name: 'fails when every cluster is a remote',
    text: mesh('mesh1', '- {name: a, context: a, network: n, role: remote, controlPlane: b}\n- {name: b, context: b, network: n, role: remote, controlPlane: a}'),
    expect: [/spec\.clusters: mesh "mesh1" has no primary cluster/, /fix: make at least one cluster role: primary/],
  },
  {
    name: "fails when a remote on another network cannot reach its primary's NodePort gateway",
    text: mesh(
      'mesh1',
      '- {name: cluster1, context: c1, network: network1, eastWestGateway: {serviceType: NodePort, address: 192.0.2.1}}\n- {name: cluster2, context: c2, network: network2, role: remote, controlPlane: cluster1}',
    ),
    expect: [
      /spec\.clusters\[0\]\.eastWestGateway\.serviceType: remote "cluster2" on network "network2" cannot reach the istiod of "cluster1" on network "network1"/,
      /fix: use serviceType: LoadBalancer for the east-west gateway of "cluster1"/,
    ],
  },
  {
    name: 'fails when clusters of different meshes share a network',
    text: `${mesh('mesh1', '- {name: a1, context: a1, network: shared}')}---\n${mesh('mesh2', '- {name: b1, context: b1, network: shared}')}`,
    expect: [/spec\.clusters\[0\]\.network: network "shared" is already a network of mesh "mesh1" \(cluster "a1" at \/topo\/mesh\.yaml:11\); a network belongs to one mesh/],
  },
  {
    name: 'fails when a gateway address is neither an IP nor a DNS name',
    text: mesh('mesh1', '- {name: a1, context: a1, network: n, eastWestGateway: {address: "https://lb:443"}}'),
    expect: [/spec\.clusters\[0\]\.eastWestGateway\.address: "https:\/\/lb:443" is neither an IP address nor a DNS name/],
  },
  {
    name: 'fails when the service type is unknown',
    text: mesh('mesh1', '- {name: a1, context: a1, network: n, eastWestGateway: {serviceType: ClusterIP}}'),
    expect: [/eastWestGateway\.serviceType: "ClusterIP" is not one of: LoadBalancer, NodePort/],
  },
  {
    name: 'fails when the revision is not a DNS label',
    text: mesh('mesh1', '- {name: a1, context: a1, network: n}', '    revision: 1.30.3'),
    expect: [/spec\.istio\.revision: "1\.30\.3" is not a DNS-1123 label/, /fix: rename it, e\.g\. "1-30-3"/],
  },
];

describe('topology rules', () => {
  for (const c of cases) {
    it(c.name, () => {
      let err: unknown;
      try {
        parseTopology([{ file: FILE, text: c.text }]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TopologyError);
      for (const re of c.expect) expect((err as Error).message).toMatch(re);
    });
  }

  it('accepts IPv6 addresses and hostnames as gateway addresses', () => {
    const text = mesh(
      'mesh1',
      '- {name: a1, context: a1, network: n, eastWestGateway: {address: "2001:db8::1"}}\n- {name: a2, context: a2, network: n, eastWestGateway: {address: lb.example.com}}',
    );
    expect(parseTopology([{ file: FILE, text }]).meshes[0].clusters.map((c) => c.eastWestGateway.address)).toEqual(['2001:db8::1', 'lb.example.com']);
  });

  // In this process (main(), as bin/meshgen runs it): the same exit codes and messages as a child process,
  // without starting Node 60 times. One case also runs as a process.
  it('exits 1 from the CLI on each of these, for validate and synth, writing nothing', async () => {
    const dir = tmpDir();
    for (const [i, c] of cases.entries()) {
      const file = path.join(dir, `case${i}.yaml`);
      fs.writeFileSync(file, c.text);
      for (const cmd of ['validate', 'synth']) {
        const r = await runMain(cmd === 'synth' ? [cmd, '-f', file, '-o', path.join(dir, 'dist')] : [cmd, '-f', file], dir);
        expect(r.code, `${cmd} ${c.name}`).toBe(1);
        expect(r.stderr, c.name).toMatch(/^meshgen: invalid topology in /);
      }
    }
    const child = runCli(['synth', '-f', path.join(dir, 'case0.yaml'), '-o', path.join(dir, 'dist')], dir);
    expect(child).toEqual(await runMain(['synth', '-f', path.join(dir, 'case0.yaml'), '-o', path.join(dir, 'dist')], dir));
    expect(fs.existsSync(path.join(dir, 'dist'))).toBe(false);
  });
});
