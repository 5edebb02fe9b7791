import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/errors';
import { loadTopology, parseTopology } from '../../src/model/load';
import { isMultiNetwork, meshNetworks } from '../../src/model/types';
import { meshYaml, REPO, tmpDir, TWO_CLUSTERS, thrown, workspace } from '../helpers';

const FILE = '/topo/mesh.yaml';

function errorOf(text: string, file = FILE): TopologyError {
  return thrown(() => parseTopology([{ file, text }]), TopologyError);
}

describe('loadTopology', () => {
  it('loads the bundled example with its defaults resolved', () => {
    const topo = loadTopology(path.join(REPO, 'examples', 'mesh.yaml'));
    expect(topo.meshes).toHaveLength(1);
    const mesh = topo.meshes[0];
    expect(mesh.name).toBe('mesh1');
    expect(mesh.meshID).toBe('mesh1');
    expect(mesh.istio).toEqual({ version: '1.30.3', hub: 'docker.io/istio', install: 'istioctl' });
    expect(mesh.trust.keyStore).toBe(path.join(REPO, 'examples', '.meshgen', 'pki'));
    const gateway = { serviceType: 'LoadBalancer', annotations: {} };
    const credentials = { source: 'reader-token', explicit: true, kubeconfig: [] };
    expect(mesh.clusters).toEqual([
      { name: 'cluster1', context: 'kind-cluster1', network: 'network1', role: 'primary', eastWestGateway: gateway, credentials, samples: [], argocdCluster: 'cluster1', secrets: { encryption: 'none' }, platform: 'kubernetes' },
      { name: 'cluster2', context: 'kind-cluster2', network: 'network2', role: 'primary', eastWestGateway: gateway, credentials, samples: [], argocdCluster: 'cluster2', secrets: { encryption: 'none' }, platform: 'kubernetes' },
    ]);
    expect(isMultiNetwork(mesh)).toBe(true);
  });

  it('takes metadata.name as mesh ID, sorts clusters and resolves the key store against the file', () => {
    const text = meshYaml({
      name: 'prod',
      keyStore: '../keys',
      clusters: [
        { name: 'zeta', network: 'n1' },
        { name: 'alpha', network: 'n1' },
      ],
      extra: '',
    }).replace('  istio:\n', '  istio:\n    hub: registry.example.com/istio\n');
    const mesh = parseTopology([{ file: FILE, text }]).meshes[0];
    expect(mesh.meshID).toBe('prod');
    expect(mesh.istio.hub).toBe('registry.example.com/istio');
    expect(mesh.trust.keyStore).toBe(path.resolve('/keys'));
    expect(mesh.clusters.map((c) => c.name)).toEqual(['alpha', 'zeta']);
    expect(meshNetworks(mesh)).toEqual(['n1']);
    expect(isMultiNetwork(mesh)).toBe(false);
  });

  it('accepts a trailing document separator and comment-only documents', () => {
    expect(parseTopology([{ file: FILE, text: `${meshYaml({ clusters: TWO_CLUSTERS })}---\n# the end\n---\n` }]).meshes).toHaveLength(1);
  });

  it('expands anchors, aliases and merge keys', () => {
    const text = meshYaml({ clusters: [] }).replace(
      '  clusters:\n',
      '  clusters:\n    - &base {name: cluster1, context: c1, network: net1}\n    - <<: *base\n      name: cluster2\n      context: c2\n',
    );
    const mesh = parseTopology([{ file: FILE, text }]).meshes[0];
    expect(mesh.clusters.map((c) => [c.name, c.network])).toEqual([
      ['cluster1', 'net1'],
      ['cluster2', 'net1'],
    ]);
  });

  it('reads several Mesh documents, from one file or several', () => {
    const a = meshYaml({ name: 'a', keyStore: 'pki/a', clusters: [{ name: 'a1', network: 'na' }] });
    const b = meshYaml({ name: 'b', keyStore: 'pki/b', clusters: [{ name: 'b1', network: 'nb' }] });
    expect(parseTopology([{ file: FILE, text: `${b}---\n${a}` }]).meshes.map((m) => m.name)).toEqual(['a', 'b']);
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'a.yaml'), a);
    fs.writeFileSync(path.join(dir, 'b.yaml'), b);
    const topo = loadTopology([path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')]);
    expect(topo.meshes.map((m) => m.name)).toEqual(['a', 'b']);
    expect(topo.files).toHaveLength(2);
  });
});

const valid = meshYaml({ clusters: TWO_CLUSTERS });

describe('invalid topologies', () => {
  const cases: { name: string; text: string; expect: RegExp[] }[] = [
    {
      name: 'fails when the file is not YAML',
      text: 'apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: [unclosed\n',
      expect: [/\/topo\/mesh\.yaml:\d+:\d+: not valid YAML/, /fix: close it/],
    },
    {
      name: 'fails when a key is unknown, naming its line and the nearest valid key',
      text: valid.replace('      network: network2', '      netwrk: network2'),
      expect: [
        /\/topo\/mesh\.yaml:16:7: spec\.clusters\[1\]\.netwrk: unknown key "netwrk"/,
        /fix: did you mean "network"\? valid keys here: name, context, network, role/,
        /spec\.clusters\[1\]: missing required key "network"/,
      ],
    },
    {
      name: 'fails when a top-level key is unknown and nothing is close',
      text: `${valid}zzz: 1\n`,
      expect: [/mesh\.yaml:17:1: zzz: unknown key "zzz"/, /fix: remove it; valid keys here: apiVersion, kind, metadata, spec/],
    },
    {
      name: 'fails when there are no clusters',
      text: valid.replace(/  clusters:\n[\s\S]*$/, '  clusters: []\n'),
      expect: [/mesh\.yaml:10:13: spec\.clusters: has no entries; at least 1 needed/, /fix: add an entry/],
    },
    {
      name: 'fails when clusters are missing',
      text: valid.replace(/  clusters:\n[\s\S]*$/, ''),
      expect: [/spec: missing required key "clusters"/],
    },
    {
      name: 'fails when two clusters share a name',
      text: meshYaml({ clusters: [{ name: 'c1', network: 'n1' }, { name: 'c1', network: 'n2', context: 'other' }] }),
      expect: [/mesh\.yaml:14:13: spec\.clusters\[1\]\.name: cluster name "c1" is already used at \/topo\/mesh\.yaml:11 \(spec\.clusters\[0\]\.name\)/, /fix: .*unique/],
    },
    {
      name: 'fails when a name is not a DNS-1123 label',
      text: valid.replace('name: cluster1', 'name: Cluster_1'),
      expect: [/spec\.clusters\[0\]\.name: "Cluster_1" is not a DNS-1123 label/, /fix: rename it, e.g. "cluster-1"/],
    },
    {
      name: 'fails when a name is longer than 63 characters, once',
      text: valid.replace('name: cluster1', `name: ${'a'.repeat(64)}`),
      expect: [/is not a DNS-1123 label/],
    },
    {
      name: 'fails when a cluster has no network',
      text: valid.replace('      network: network1\n', ''),
      expect: [/mesh\.yaml:11:7: spec\.clusters\[0\]: missing required key "network"/, /fix: add "network:" \(Network of the cluster/],
    },
    {
      name: 'fails when a network is not a string',
      text: valid.replace('network: network1', 'network: [a]'),
      expect: [/spec\.clusters\[0\]\.network: must be a string, got a list/],
    },
    {
      name: 'fails when apiVersion is wrong',
      text: valid.replace('meshgen.dev/v1alpha1', 'meshgen.dev/v1'),
      expect: [/mesh\.yaml:1:13: apiVersion: must be "meshgen\.dev\/v1alpha1", got "meshgen\.dev\/v1"/],
    },
    {
      name: 'fails when the kind is unknown, suggesting the nearest',
      text: valid.replace('kind: Mesh', 'kind: Mseh'),
      expect: [/kind: unknown kind "Mseh"/, /did you mean "Mesh"/],
    },
    {
      name: 'fails when the Istio version is malformed',
      text: valid.replace('version: 1.30.3', 'version: "1.30"'),
      expect: [/spec\.istio\.version: "1\.30" does not have the expected form/, /Istio release, e\.g\. 1\.30\.3/],
    },
    {
      name: 'fails when the Istio version is too old for networking.istio.io/v1',
      text: valid.replace('version: 1.30.3', 'version: 1.21.6'),
      expect: [/Istio 1\.21\.6 is too old/, /fix: use Istio 1\.22\.0 or later/],
    },
    {
      name: 'fails when two clusters use the same kube context',
      text: meshYaml({ clusters: [{ name: 'a', network: 'n', context: 'ctx' }, { name: 'b', network: 'n', context: 'ctx' }] }),
      expect: [/spec\.clusters\[1\]\.context: context "ctx" is already the context of cluster "a"/],
    },
    {
      name: 'fails when the role is unknown',
      text: valid.replace('      network: network1\n', '      network: network1\n      role: leader\n'),
      expect: [/spec\.clusters\[0\]\.role: "leader" is not one of: primary, remote/],
    },
    {
      name: 'fails when two documents define the same mesh',
      text: `${valid}---\n${meshYaml({ keyStore: 'pki2', clusters: [{ name: 'c9', network: 'n' }] })}`,
      expect: [/metadata\.name: mesh "mesh1" is already defined at \/topo\/mesh\.yaml:4/],
    },
    {
      name: 'fails when the file holds no document',
      text: '# nothing here\n',
      expect: [/\/topo\/mesh\.yaml: holds no topology document/, /fix: start it with apiVersion/],
    },
    {
      name: 'fails when an alias has no anchor, naming its line',
      text: valid.replace('network: network1', 'network: *nowhere'),
      expect: [/mesh\.yaml:13:16: document 1: Unresolved alias.*nowhere/, /fix: define each anchor/],
    },
    {
      name: 'fails when two meshes share a key store, so they would share a root CA',
      text: `${valid}---\n${meshYaml({ name: 'mesh2', clusters: [{ name: 'c9', network: 'n9' }] })}`,
      expect: [/mesh\.yaml:26:15: spec\.trust\.keyStore: the key store of mesh "mesh2" is also the key store of mesh "mesh1", so both meshes would share one root CA/, /fix: give each mesh its own spec\.trust\.keyStore/],
    },
    {
      name: 'fails when a document is not a mapping',
      text: '- a\n- b\n',
      expect: [/document 1 is not a mapping/],
    },
    {
      name: 'fails when a key is repeated',
      text: valid.replace('kind: Mesh\n', 'kind: Mesh\nkind: Mesh\n'),
      expect: [/mesh\.yaml:3:1: not valid YAML: this key appears twice in the same mapping \(Map keys must be unique\)/, /fix: keep one of the two/],
    },
    {
      name: 'fails in plain words when a value holds ": "',
      text: valid.replace('context: kind-cluster1', 'context: kind: cluster1'),
      expect: [
        /mesh\.yaml:12:16: not valid YAML: a value holds ": ", which YAML reads as a second key on the same line .*\(Nested mappings are not allowed in compact mappings\)/,
        /fix: quote the value \(key: "a: b"\)/,
      ],
    },
    {
      name: 'fails in plain words when a tab indents a line',
      text: valid.replace('      network: network2', '\tnetwork: network2'),
      expect: [/not valid YAML: a tab indents this line/, /fix: replace the tabs with spaces/],
    },
    {
      name: 'fails in plain words when a line is indented unlike its siblings',
      text: valid.replace('  trust:', '   trust:'),
      expect: [/not valid YAML: this line is indented differently/, /fix: indent it with the same number of spaces as its siblings/],
    },
    {
      name: 'fails in plain words when a key of a list item is indented less than the others',
      text: valid.replace('      network: network2', '     network: network2'),
      expect: [/mesh\.yaml:16:1: not valid YAML: a line of a list item is indented less than the item's other keys/, /fix: indent it like the keys of the item above/],
    },
    {
      name: 'fails in plain words when a quote is not closed',
      text: valid.replace('context: kind-cluster1', 'context: "kind-cluster1'),
      expect: [/not valid YAML: a quote, bracket or brace opened here is not closed/, /fix: close the quote/],
    },
    {
      name: 'fails in plain words when a [ is not closed',
      text: 'apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: [unclosed\n',
      expect: [/not valid YAML: a list \[ or mapping \{ opened here is not closed/, /fix: close it with \] or \}/],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const err = errorOf(c.text);
      expect(err.message).toMatch(/^invalid topology in \/topo\/mesh\.yaml: \d+ problems?/);
      for (const re of c.expect) expect(err.message).toMatch(re);
    });
  }

  it('collects every problem of the file into one error', () => {
    const text = valid
      .replace('name: cluster1', 'name: Bad_Name')
      .replace('      network: network2', '      netwrk: network2')
      .replace('version: 1.30.3', 'version: 1.2');
    const err = errorOf(text);
    expect(err.problems.length).toBeGreaterThanOrEqual(4);
    expect(err.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['spec.clusters[0].name', 'spec.clusters[1].netwrk', 'spec.clusters[1]', 'spec.istio.version']),
    );
  });

  it('fails when the topology file cannot be read', () => {
    const missing = path.join(tmpDir(), 'nope.yaml');
    expect(() => loadTopology(missing)).toThrow(TopologyError);
    expect(() => loadTopology(missing)).toThrow(`cannot read the topology file ${missing}\n  ${missing}: no such file\n      fix: check the path: it is read from ${process.cwd()}, so ${missing} means ${missing}`);
  });

  it('fails when the topology path is a folder, naming a file to pass instead', () => {
    const dir = tmpDir();
    expect(() => loadTopology(dir)).toThrow(`${dir}: is a folder, not a file\n      fix: pass a file in that folder, such as ${path.join(dir, 'mesh.yaml')}`);
  });

  it('reports every file it cannot read, and checks none of the others without them', () => {
    const ws = workspace();
    const err = thrown(() => loadTopology([ws.file, path.join(ws.dir, 'a.yaml'), path.join(ws.dir, 'b.yaml')]), TopologyError);
    expect(err.message.split('\n')[0]).toBe(`cannot read the topology files ${path.join(ws.dir, 'a.yaml')}, ${path.join(ws.dir, 'b.yaml')}`);
    expect(err.problems.map((p) => p.message)).toEqual(['no such file', 'no such file']);
  });
});
