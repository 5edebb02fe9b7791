import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { Document, isMap, isScalar, isSeq, parseAllDocuments, YAMLMap } from 'yaml';
import { convertCommand } from '../../src/cli/convert';
import type { Io } from '../../src/cli/main';
import { OutputError, Problem, TopologyError } from '../../src/errors';
import { parseTopology } from '../../src/model/load';
import { clusterNamesFromContexts, convertPeer, ConvertPeerOptions, detectPeerFormat, toDnsLabel } from '../../src/model/peers';
import { MeshModel, meshNetworks, Topology } from '../../src/model/types';
import { REPO, runCli, thrown, tmpDir } from '../helpers';

const PEERS = path.join(REPO, 'test', 'fixtures', 'peers');
const RISTIOCTL = path.join(PEERS, 'ristioctl', 'mesh.yaml');
const SETUP_MESH = path.join(PEERS, 'setup-mesh', 'topology.yaml');
const SETUP_MESH_CLUSTERS = path.join(PEERS, 'setup-mesh', 'topology-clusters.yaml');

/** What installHelloWorld: true becomes. */
const SAMPLE_APPS = ['helloworld', 'sleep'];

/** A virtual peer file, for inline texts. */
const FILE = '/peers/mesh.yaml';

function read(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Converts a peer text and loads the result as meshgen does. */
function load(file: string, text: string, opts?: ConvertPeerOptions): { yaml: string; topology: Topology } {
  const { yaml } = convertPeer(file, text, opts);
  return { yaml, topology: parseTopology([{ file: opts?.outputFile ?? file, text: yaml }]) };
}

/** The meshes of a topology without where they came from, for comparing two sources. */
function meshesOf(topology: Topology): Omit<MeshModel, 'source'>[] {
  return topology.meshes.map(({ source: _source, ...mesh }) => mesh);
}

function errorOf(text: string, opts?: ConvertPeerOptions, file = FILE): TopologyError {
  return thrown(() => convertPeer(file, text, opts), TopologyError);
}

/**
 * The comment above key `key` of the map at `at` in document `index` of
 * `yaml`. Read back, the comment above a map's first key belongs to the map.
 */
function commentAbove(yaml: string, index: number, at: (string | number)[], key: string): string {
  const doc = parseAllDocuments(yaml)[index] as Document;
  const map = doc.getIn(at, true) as YAMLMap;
  const i = map.items.findIndex((p) => isScalar(p.key) && p.key.value === key);
  const own = (map.items[i]?.key as { commentBefore?: string } | undefined)?.commentBefore ?? '';
  return i === 0 ? [map.commentBefore, own].filter(Boolean).join('\n') : own;
}

/**
 * The comment above list item `item` of `spec.clusters` in document `index`.
 * Read back, the comment above the first item belongs to the list itself.
 */
function commentAboveCluster(yaml: string, index: number, item: number): string {
  const doc = parseAllDocuments(yaml)[index] as Document;
  const list = doc.getIn(['spec', 'clusters'], true);
  const node = doc.getIn(['spec', 'clusters', item], true);
  const own = isMap(node) ? (node.commentBefore ?? '') : '';
  return item === 0 && isSeq(list) ? [list.commentBefore, own].filter(Boolean).join('\n') : own;
}

/** Comment text with its line breaks and continuation indents folded, for matching sentences. */
function flat(comment: string): string {
  return comment.replace(/\n#?\s*/g, ' ').replace(/\s+/g, ' ').trim();
}

/** A ristioctl document. */
function doc(kind: 'Certificate' | 'Cluster', name: string, spec: Record<string, unknown>): string {
  const body = Object.entries(spec)
    .map(([k, v]) => `  ${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    .join('\n');
  return `apiVersion: ristioctl.k8smgmt.io/v3\nkind: ${kind}\nmetadata:\n  name: ${JSON.stringify(name)}\nspec:\n${body}\n`;
}

function cluster(name: string, meshID: string, extra: Record<string, unknown> = {}): string {
  return doc('Cluster', name, { context: `kind-${name}`, meshID, version: '1.30.3', ...extra });
}

function ristioctl(...docs: string[]): string {
  return docs.join('---\n');
}

describe('detectPeerFormat', () => {
  it.each([
    ['the ristioctl fixture', read(RISTIOCTL), 'ristioctl'],
    ['the setup-mesh fixture', read(SETUP_MESH), 'setup-mesh'],
    ['the older setup-mesh form', read(SETUP_MESH_CLUSTERS), 'setup-mesh'],
    ['a ristioctl file with a YAML error in a later document', `${cluster('a', 'm')}---\nkind: [\n`, 'ristioctl'],
    ['another ristioctl API version', 'apiVersion: ristioctl.k8smgmt.io/v2\nkind: Cluster\n', 'ristioctl'],
    ['a native topology', read(path.join(REPO, 'examples', 'mesh.yaml')), undefined],
    ['an empty text', '', undefined],
    ['text that is not YAML', 'mesh_id: [\n', undefined],
    ['mesh_id without contexts', 'mesh_id: mesh1\n', undefined],
    ['a list', '- mesh_id: mesh1\n  contexts: {}\n', undefined],
    ['a Kubernetes object', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', undefined],
  ])('recognises %s', (_name, text, format) => {
    expect(detectPeerFormat(text)).toBe(format);
  });
});

describe('the name rule', () => {
  it.each([
    ['gke_acme_us-east1_c1', 'gke-acme-us-east1-c1'],
    ['arn:aws:eks:us-west-2:111122223333:cluster/c2', 'arn-aws-eks-us-west-2-111122223333-cluster-c2'],
    ['admin@prod.example.com', 'admin-prod-example-com'],
    ['Kind-C3', 'kind-c3'],
    ['--a__b--', 'a-b'],
    ['ünïcode', 'n-code'],
    ['___', 'cluster'],
    [`${'a'.repeat(62)}_b`, 'a'.repeat(62)],
    ['x'.repeat(80), 'x'.repeat(63)],
  ])('names context %s %s', (context, name) => {
    expect(toDnsLabel(context, 'cluster')).toBe(name);
  });

  it('appends -2, -3 in context order, never taking a name another context gives by itself', () => {
    expect(clusterNamesFromContexts(['kind-c3', 'Kind_C3', 'KIND.C3'])).toEqual(['kind-c3', 'kind-c3-2', 'kind-c3-3']);
    expect(clusterNamesFromContexts(['a_b', 'a-b', 'a-b-2'])).toEqual(['a-b', 'a-b-3', 'a-b-2']);
    const long = 'c'.repeat(70);
    expect(clusterNamesFromContexts([long, `${long}_x`.slice(0, 64)])).toEqual(['c'.repeat(63), `${'c'.repeat(61)}-2`]);
  });
});

describe('convertPeer: ristioctl', () => {
  it('converts the published example: one mesh per meshID, one network per cluster, the Certificate folders as key stores', () => {
    const { topology } = load(RISTIOCTL, read(RISTIOCTL));
    const dir = path.dirname(RISTIOCTL);
    expect(topology.meshes.map((m) => [m.name, m.meshID, m.istio.version, m.trust.keyStore])).toEqual([
      ['mesh1', 'mesh1', '1.30.3', path.join(dir, 'certs', 'mesh1')],
      ['mesh2', 'mesh2', '1.29.2', path.join(dir, 'certs', 'mesh2')],
    ]);
    const [mesh1, mesh2] = topology.meshes;
    expect(mesh1.clusters.map((c) => [c.name, c.context, c.network, c.role, c.credentials.source, c.credentials.kubeconfig])).toEqual([
      ['cluster1', 'kind-cluster1', 'network-cluster1', 'primary', 'kubeconfig', [path.join(dir, 'kubeconfigs', 'cluster1.yaml')]],
      ['cluster2', 'kind-cluster2', 'network-cluster2', 'primary', 'kubeconfig', [path.join(dir, 'kubeconfigs', 'cluster2.yaml')]],
    ]);
    expect(mesh2.clusters.map((c) => [c.name, c.context, c.network, c.credentials.kubeconfig])).toEqual([
      ['cluster3', 'kind-cluster3', 'network-cluster3', [path.join(dir, 'kubeconfigs', 'cluster3.yaml')]],
    ]);
    expect(meshNetworks(mesh1)).toEqual(['network-cluster1', 'network-cluster2']);
  });

  it('gives the same model as the hand-written native file', () => {
    const native = path.join(PEERS, 'ristioctl', 'expected.yaml');
    expect(meshesOf(load(RISTIOCTL, read(RISTIOCTL)).topology)).toEqual(meshesOf(parseTopology([{ file: native, text: read(native) }])));
  });

  it('explains what it changed and what meshgen does not support, next to the keys concerned', () => {
    const { yaml } = convertPeer(RISTIOCTL, read(RISTIOCTL));
    const header = flat((parseAllDocuments(yaml)[0] as Document).commentBefore ?? '');
    expect(header.startsWith(`Converted from ${RISTIOCTL} (ristioctl mesh.yaml) by meshgen convert.`)).toBe(true);
    expect(header).toContain('ristioctl links the clusters of all its meshIDs with each other');
    expect(header).toContain('the 2 Mesh documents below never read each other\'s clusters');
    const trust1 = flat(commentAbove(yaml, 0, ['spec'], 'trust'));
    expect(trust1).toContain('From ristioctl Certificate "mesh1-ca".');
    expect(trust1).toContain('ristioctl names the root CA root.example.com (rootCommonName below) and each intermediate CA <cluster>.example.com');
    expect(trust1).toContain('a per-cluster CN or SAN has no equivalent');
    expect(trust1).toContain('validityHours: 87600 becomes rootValidity and intermediateValidity');
    expect(trust1).toContain('password: true asks for an encrypted root key, which ristioctl ignores');
    expect(trust1).toContain('the passphrase comes from $MESH_ROOT_PASSPHRASE');
    const trust2 = flat(commentAbove(yaml, 1, ['spec'], 'trust'));
    expect(trust2).toContain('validityHours: 8760 becomes rootValidity');
    expect(trust2).not.toContain('password');
    expect(flat(commentAbove(yaml, 0, ['spec'], 'clusters'))).toContain('a network of its own, network-<cluster>');
    for (const item of [0, 1]) {
      expect(flat(commentAboveCluster(yaml, 0, item))).toContain('installHelloWorld: true becomes samples: helloworld');
    }
    expect(commentAboveCluster(yaml, 1, 0)).toBe('');
  });

  it('writes the same text for the same documents in any order', () => {
    const text = read(RISTIOCTL);
    const reversed = text.split(/^---\n/m).reverse().join('---\n');
    expect(convertPeer(RISTIOCTL, reversed).yaml).toBe(convertPeer(RISTIOCTL, text).yaml);
    expect(convertPeer(RISTIOCTL, text).yaml).toBe(convertPeer(RISTIOCTL, text).yaml);
  });

  it('turns names into distinct DNS-1123 labels and says so', () => {
    const text = ristioctl(
      cluster('Prod_East.1', 'Team A'),
      cluster('prod-east-1', 'Team A', { context: 'other' }),
      cluster('x'.repeat(70), 'Team A'),
    );
    const { yaml, topology } = load(FILE, text);
    expect(topology.meshes.map((m) => [m.name, m.meshID])).toEqual([['team-a', 'team-a']]);
    expect(topology.meshes[0].clusters.map((c) => [c.name, c.network])).toEqual([
      ['prod-east-1', 'network-prod-east-1'],
      ['prod-east-1-2', 'network-prod-east-1-2'],
      ['x'.repeat(63), `network-${'x'.repeat(55)}`],
    ]);
    expect(flat((parseAllDocuments(yaml)[0] as Document).commentBefore ?? '')).toContain(
      'ristioctl meshID "Team A" is named team-a here: mesh names are distinct DNS-1123 labels, and the name is also the mesh ID',
    );
    expect(flat(commentAboveCluster(yaml, 0, 0))).toBe('ristioctl Cluster "Prod_East.1" is named prod-east-1 here: cluster names are distinct DNS-1123 labels.');
    expect(flat(commentAboveCluster(yaml, 0, 1))).toBe(
      'ristioctl Cluster "prod-east-1" is named prod-east-1-2 here: cluster names are distinct DNS-1123 labels, and "prod-east-1" is already taken.',
    );
    expect(flat(commentAboveCluster(yaml, 0, 2))).toContain(`is named ${'x'.repeat(63)} here`);
  });

  it('makes a mesh for clusters without a Certificate, and notes a Certificate without clusters', () => {
    const text = ristioctl(cluster('c1', 'mesh1'), doc('Certificate', 'lonely', { meshID: 'nobody' }));
    const { yaml, topology } = load(FILE, text);
    expect(topology.meshes.map((m) => [m.name, m.trust.keyStore])).toEqual([['mesh1', path.resolve('/peers/.meshgen/pki')]]);
    expect(flat(commentAbove(yaml, 0, ['spec'], 'trust'))).toContain(
      'No ristioctl Certificate has meshID "mesh1": meshgen makes this mesh\'s root CA in the key store below on the first synth.',
    );
    expect(flat((parseAllDocuments(yaml)[0] as Document).commentBefore ?? '')).toContain(
      'Certificate "lonely" has meshID "nobody", which no Cluster has: no mesh was made for it.',
    );
  });

  it('gives meshes that would share a key store one each, and says why', () => {
    const text = ristioctl(
      cluster('a1', 'mesh-a'),
      cluster('b1', 'mesh-b'),
      cluster('c1', 'mesh-c'),
      cluster('d1', 'mesh-d'),
      doc('Certificate', 'ca-c', { meshID: 'mesh-c', folder: 'certs/' }),
      doc('Certificate', 'ca-d', { meshID: 'mesh-d', folder: 'certs' }),
    );
    const { yaml, topology } = load(FILE, text);
    expect(topology.meshes.map((m) => [m.name, m.trust.keyStore])).toEqual([
      ['mesh-a', path.resolve('/peers/.meshgen/pki/mesh-a')],
      ['mesh-b', path.resolve('/peers/.meshgen/pki/mesh-b')],
      ['mesh-c', path.resolve('/peers/certs/mesh-c')],
      ['mesh-d', path.resolve('/peers/certs/mesh-d')],
    ]);
    expect(flat(commentAbove(yaml, 0, ['spec'], 'trust'))).toContain(
      'The default key store, .meshgen/pki, is also that of mesh "mesh-b"; each mesh needs its own root CA, so this mesh keeps its keys in .meshgen/pki/mesh-a.',
    );
    expect(flat(commentAbove(yaml, 3, ['spec'], 'trust'))).toContain('The folder of its Certificate, certs, is also that of mesh "mesh-c"');
  });

  it('rewrites relative paths for an output in another folder and keeps absolute and home paths', () => {
    const text = ristioctl(
      cluster('c1', 'm', { kubeconfigFile: 'kubeconfigs/c1.yaml' }),
      cluster('c2', 'm', { kubeconfigFile: '/etc/kube/c2.yaml' }),
      cluster('c3', 'm', { kubeconfigFile: '~/.kube/config' }),
      doc('Certificate', 'ca', { meshID: 'm', folder: 'certs' }),
    );
    const outputFile = '/work/out/mesh.yaml';
    const { yaml, topology } = load('/peers/mesh.yaml', text, { outputFile });
    expect(yaml).toContain('kubeconfig: ../../peers/kubeconfigs/c1.yaml\n');
    expect(yaml).toContain('kubeconfig: /etc/kube/c2.yaml\n');
    expect(yaml).toContain('kubeconfig: ~/.kube/config\n');
    expect(yaml).toContain('keyStore: ../../peers/certs\n');
    expect(topology.meshes[0].trust.keyStore).toBe(path.resolve('/peers/certs'));
    expect(topology.meshes[0].clusters[0].credentials.kubeconfig).toEqual([path.resolve('/peers/kubeconfigs/c1.yaml')]);
    expect(flat((parseAllDocuments(yaml)[0] as Document).commentBefore ?? '')).toContain(
      'Relative paths of /peers/mesh.yaml were rewritten to resolve against this file\'s folder.',
    );
    expect(convertPeer('/peers/mesh.yaml', text).yaml).toContain('kubeconfig: kubeconfigs/c1.yaml\n');
  });

  it('puts a kubeconfig every cluster shares under spec.credentials and takes v-prefixed releases', () => {
    const text = ristioctl(cluster('c1', 'm', { kubeconfigFile: 'kc', version: 'v1.30.3' }), cluster('c2', 'm', { kubeconfigFile: 'kc' }));
    const { yaml, topology } = load(FILE, text);
    expect(yaml).toContain('  credentials:\n    kubeconfig: kc\n');
    expect(yaml.match(/kubeconfig:/g)).toHaveLength(1);
    expect(topology.meshes[0].istio.version).toBe('1.30.3');
    expect(topology.meshes[0].clusters.map((c) => c.credentials.kubeconfig)).toEqual([[path.resolve('/peers/kc')], [path.resolve('/peers/kc')]]);
  });

  /** One problem, by its path, message and fix. */
  type Expected = Pick<Problem, 'path' | 'message'> & { fix: string | RegExp; line?: number };

  const failures: [string, string, Expected[]][] = [
    [
      'a document is not valid YAML',
      `${cluster('c1', 'm')}---\nkind: Cluster\nkind: Cluster\n`,
      [{ path: undefined, message: 'not valid YAML: this key appears twice in the same mapping (Map keys must be unique)', fix: /^keep one of the two/, line: 11 }],
    ],
    [
      'a Cluster has no context',
      ristioctl(cluster('c1', 'm'), doc('Cluster', 'c2', { meshID: 'm', version: '1.30.3' })),
      [{ path: 'documents[1].spec.context', message: 'context is missing', fix: 'add spec.context: the kube context of the cluster', line: 15 }],
    ],
    [
      'a kind is unknown',
      ristioctl(cluster('c1', 'm'), doc('Cluster', 'c2', { meshID: 'm' }).replace('kind: Cluster', 'kind: Clustr')),
      [{ path: 'documents[1].kind', message: 'unknown kind "Clustr"', fix: 'did you mean "Cluster"?' }],
    ],
    [
      'a document has another API version',
      ristioctl(cluster('c1', 'm'), cluster('c2', 'm').replace('/v3', '/v2')),
      [
        {
          path: 'documents[1].apiVersion',
          message: 'apiVersion "ristioctl.k8smgmt.io/v2" is not ristioctl.k8smgmt.io/v3, the ristioctl format meshgen converts',
          fix: 'write the document in ristioctl\'s v3 format (apiVersion: ristioctl.k8smgmt.io/v3)',
        },
      ],
    ],
    [
      'a key is misspelt',
      ristioctl(cluster('c1', 'm', { kubeconfig: 'kc' })),
      [{ path: 'documents[0].spec.kubeconfig', message: 'unknown key "kubeconfig"', fix: /^did you mean "kubeconfigFile"\? valid keys here: kubeconfigFile, context/ }],
    ],
    [
      'the clusters of one meshID run different releases',
      ristioctl(cluster('c1', 'm'), cluster('c2', 'm', { version: '1.29.0' })),
      [
        {
          path: 'documents[1].spec.version',
          message: 'Cluster "c2" runs Istio 1.29.0, but Cluster "c1" of the same meshID "m" runs 1.30.3 (documents[0].spec.version, line 8)',
          fix: 'a mesh runs one Istio release: give every Cluster of meshID "m" the same spec.version',
        },
      ],
    ],
    [
      'two Clusters have one context',
      ristioctl(cluster('c1', 'm'), cluster('c2', 'm', { context: 'kind-c1' })),
      [
        {
          path: 'documents[1].spec.context',
          message: 'context "kind-c1" is already the context of Cluster "c1" (documents[0].spec.context, line 6)',
          fix: 'each Cluster is one Kubernetes cluster: give it the kube context that points at it',
        },
      ],
    ],
    [
      'two Clusters have one name',
      ristioctl(cluster('c1', 'm'), cluster('c1', 'm', { context: 'other' })),
      [{ path: 'documents[1].metadata.name', message: 'Cluster "c1" is already defined at documents[0].metadata.name, line 4', fix: /^give each Cluster its own/ }],
    ],
    [
      'two Certificates have one meshID',
      ristioctl(cluster('c1', 'm'), doc('Certificate', 'ca1', { meshID: 'm' }), doc('Certificate', 'ca2', { meshID: 'm' })),
      [
        {
          path: 'documents[2].spec.meshID',
          message: 'Certificate "ca2" has meshID "m", like Certificate "ca1" (documents[1].spec.meshID, line 15); a mesh has one root CA',
          fix: /^remove one of the two Certificates/,
        },
      ],
    ],
    [
      'values have the wrong type',
      ristioctl(cluster('c1', 'm'), doc('Certificate', 'ca', { meshID: 'm', password: 'yes', validityHours: -1 })),
      [
        { path: 'documents[1].spec.validityHours', message: 'validityHours is -1, not a whole number above 0', fix: /^write validityHours as a number/ },
        { path: 'documents[1].spec.password', message: 'password is "yes", not true or false', fix: 'write password: true or password: false' },
      ],
    ],
    [
      'a release is read as a number',
      ristioctl(cluster('c1', 'm', { version: 1.3 })),
      [{ path: 'documents[0].spec.version', message: 'version 1.3 is a number, not an Istio release such as 1.30.3', fix: /in quotes/ }],
    ],
    [
      'a release is too old',
      ristioctl(cluster('c1', 'm', { version: '1.20.0' })),
      [
        {
          path: 'documents[0].spec.version',
          message: 'Istio 1.20.0 is too old: meshgen writes for Istio 1.22 and later',
          fix:
            `convert the file with meshgen convert ${FILE} -o /peers/meshgen.yaml, which moves the mesh to Istio 1.30.3 (or the release of --istio-version) ` +
            'and names the upgrade notes to read; or upgrade the clusters to Istio 1.22.0 or later and set spec.version to the release',
        },
      ],
    ],
    [
      'a Certificate has a key ristioctl does not have',
      ristioctl(cluster('c1', 'm'), doc('Certificate', 'ca', { meshID: 'm', folderPath: 'certs' })),
      [{ path: 'documents[1].spec.folderPath', message: 'unknown key "folderPath"', fix: /^did you mean "folder"\? valid keys here: validityHours, .*installHelloWorld$/ }],
    ],
    [
      'installHelloWorld is neither true nor false',
      ristioctl(cluster('c1', 'm', { installHelloWorld: 'yes' })),
      [{ path: 'documents[0].spec.installHelloWorld', message: 'installHelloWorld is "yes", not true or false', fix: 'write installHelloWorld: true or installHelloWorld: false' }],
    ],
    [
      'metadata.labels is not a mapping',
      ristioctl(cluster('c1', 'm').replace('  name: "c1"\n', '  name: "c1"\n  labels: [a]\n')),
      [{ path: 'documents[0].metadata.labels', message: 'labels is a list, not a mapping', fix: /neither ristioctl nor meshgen reads it$/ }],
    ],
    [
      'there is no Cluster',
      doc('Certificate', 'ca', { meshID: 'm' }),
      [{ path: undefined, message: 'holds no Cluster document, so there is no mesh to convert', fix: /^add a document with apiVersion: ristioctl.k8smgmt.io\/v3 and kind: Cluster/ }],
    ],
    [
      'a document is not a mapping',
      `${cluster('c1', 'm')}---\n- a\n`,
      [{ path: 'documents[1]', message: 'document 2 is a list, not a mapping', fix: /^write document 2 as a mapping/ }],
    ],
    [
      'a document has no metadata or spec',
      ristioctl(cluster('c1', 'm'), 'apiVersion: ristioctl.k8smgmt.io/v3\nkind: Cluster\n'),
      [
        { path: 'documents[1].metadata', message: 'metadata is missing', fix: 'add metadata: {name: <cluster name>}' },
        { path: 'documents[1].spec', message: 'spec is missing', fix: /^add a spec with the keys kubeconfigFile, context/ },
      ],
    ],
  ];

  it.each(failures)('fails when %s', (_name, text, expected) => {
    const err = errorOf(text);
    expect(err.message.split('\n')[0]).toBe(`cannot convert ${FILE} (ristioctl mesh.yaml): ${expected.length} problem${expected.length === 1 ? '' : 's'}`);
    expect(err.problems).toHaveLength(expected.length);
    expected.forEach((want, i) => {
      const got = err.problems[i];
      expect(got.file).toBe(FILE);
      expect(got.path).toBe(want.path);
      expect(got.message).toEqual(want.message);
      if (typeof want.fix === 'string') expect(got.fix).toBe(want.fix);
      else expect(got.fix).toMatch(want.fix);
      if (want.line !== undefined) expect(got.line).toBe(want.line);
    });
  });

  it('names the file, line, path and fix in the message', () => {
    const err = errorOf(ristioctl(cluster('c1', 'm'), doc('Cluster', 'c2', { meshID: 'm', version: '1.30.3' })));
    expect(err.message).toContain(
      `  ${FILE}:15:3: documents[1].spec.context: context is missing\n      fix: add spec.context: the kube context of the cluster`,
    );
  });
});

describe('convertPeer: ristioctl\'s published examples', () => {
  /** ristioctl's own example files, unchanged (see real/SOURCE.md). */
  const REAL = path.join(PEERS, 'ristioctl', 'real');
  const real = (name: string) => path.join(REAL, name);
  const notes = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `https://istio.io/latest/news/releases/1.${from + i}.x/announcing-1.${from + i}/upgrade-notes/`);

  /** Each example: its mesh, its clusters as [name, context], their kubeconfig, whether they get the samples, the root's validity. */
  const examples: [string, string, [string, string][], string, boolean, string][] = [
    ['mesh1.yaml', 'usmesh', [['cluster1', 'cluster1-context'], ['cluster2', 'cluster2-context']], real('kubeconfig.yaml'), false, '3650d'],
    ['mesh2.yaml', 'usmesh', [['kind-aa1', 'kind-aa1'], ['kind-aa2', 'kind-aa2']], '/Users/stephanbenny/code/src/github.com/RafaySystems/rafay-relay/testdata/kubeconfig', true, '3650d'],
    ['mesh3.yaml', 'usmesh3', [['cluster1a', 'cluster1a'], ['cluster2a', 'cluster2a']], '/Users/stephanbenny/Downloads/kubeconfig-istio-demo.yaml', true, '3650d'],
    ['mesh4.yaml', 'usmesh4', [['rakshith-eks1-qc', 'rakshith-eks1-qc'], ['rakshith-eks2-qc', 'rakshith-eks2-qc']], '/Users/stephanbenny/Downloads/kubeconfig-rakshith.yaml', true, '3650d'],
    ['readme-mesh.yaml', 'uswestmesh', [['cluster1', 'cluster1'], ['cluster2', 'cluster2']], real('kubeconfig-istio-demo.yaml'), true, '2190h'],
    ['apply-example.yaml', 'usmesh', [['cluster1', 'cluster1-context'], ['cluster2', 'cluster2-context']], real('kubeconfig.yaml'), false, '3650d'],
  ];

  it('keeps every example ristioctl publishes', () => {
    const kept = fs.readdirSync(REAL).filter((f) => f.endsWith('.yaml')).sort();
    expect(kept).toEqual(examples.map(([f]) => f).sort());
    for (const f of kept) expect(fs.readFileSync(path.join(REAL, 'SOURCE.md'), 'utf8')).toContain(`\`${f}\``);
  });

  it.each(examples)('converts %s, moving Istio 1.18.0 to meshgen\'s default and saying so', (name, mesh, clusters, kubeconfig, samples, validity) => {
    const file = real(name);
    const { yaml, topology } = load(file, read(file), { upgradeOldIstio: true });
    expect(topology.meshes.map((m) => [m.name, m.meshID, m.istio.version, m.trust.keyStore])).toEqual([[mesh, mesh, '1.30.3', path.join(REAL, '.meshgen', 'pki')]]);
    const [model] = topology.meshes;
    expect(model.clusters.map((c) => [c.name, c.context, c.network, c.role])).toEqual(clusters.map(([n, ctx]) => [n, ctx, `network-${n}`, 'primary']));
    for (const c of model.clusters) {
      expect(c.credentials.kubeconfig).toEqual([kubeconfig]);
      expect(c.samples).toEqual(samples ? SAMPLE_APPS : []);
    }
    expect(yaml).toContain(`    rootValidity: ${validity}\n    intermediateValidity: ${validity}\n    rootCommonName: root.istio.io\n`);

    const istio = flat(commentAbove(yaml, 0, ['spec'], 'istio'));
    expect(istio).toContain(
      `The ristioctl file's spec.version names Istio 1.18.0 for ${clusters[0][0]} and ${clusters[1][0]}, older than Istio 1.22, the oldest ` +
        'release meshgen writes for. This mesh gets Istio 1.30.3 instead (meshgen\'s default; choose another with meshgen convert --istio-version)',
    );
    expect(istio).toContain('Clusters that run Istio 1.18.0 now cannot jump to 1.30.3 with these manifests');
    expect(istio).toContain(`read the upgrade notes of every release from 1.18.0 to 1.30.3 for what changes: ${notes(19, 30).join(' ')}`);
  });

  it('moves them to --istio-version when given, and lists the upgrade notes up to it', () => {
    const file = real('mesh2.yaml');
    const { yaml, topology } = load(file, read(file), { upgradeOldIstio: true, istioVersion: '1.29.1' });
    expect(topology.meshes[0].istio.version).toBe('1.29.1');
    const istio = flat(commentAbove(yaml, 0, ['spec'], 'istio'));
    expect(istio).toContain('This mesh gets Istio 1.29.1 instead (chosen with meshgen convert --istio-version)');
    expect(istio.endsWith(`from 1.18.0 to 1.29.1 for what changes: ${notes(19, 29).join(' ')}`)).toBe(true);
    expect(convertPeer(file, read(file), { upgradeOldIstio: true, istioVersion: '1.29.1' }).istioUpgrades).toEqual([{ mesh: 'usmesh', from: ['1.18.0'], to: '1.29.1' }]);
  });

  it('accepts installHelloWorld on a Certificate, as ristioctl does, and says that it means nothing there', () => {
    const file = real('mesh3.yaml');
    const { yaml } = load(file, read(file), { upgradeOldIstio: true });
    expect(flat(commentAbove(yaml, 0, ['spec'], 'trust'))).toContain(
      'installHelloWorld: true on a Certificate does nothing in ristioctl, which deploys the sample only for a Cluster with installHelloWorld: true. ' +
        'meshgen does the same: the samples of each cluster below follow its own Cluster.',
    );
    const text = ristioctl(cluster('c1', 'm'), doc('Certificate', 'ca', { meshID: 'm', installHelloWorld: true }));
    expect(load(FILE, text).topology.meshes[0].clusters[0].samples).toEqual([]);
  });

  it('refuses the old release when the file is read directly, pointing at meshgen convert', () => {
    const file = real('mesh1.yaml');
    const err = thrown(() => parseTopology([{ file, text: read(file) }]), TopologyError);
    expect(err.problems.map((p) => [p.path, p.line, p.message])).toEqual([
      ['documents[1].spec.version', 27, 'Istio 1.18.0 is too old: meshgen writes for Istio 1.22 and later'],
      ['documents[2].spec.version', 37, 'Istio 1.18.0 is too old: meshgen writes for Istio 1.22 and later'],
    ]);
    expect(err.problems[0].fix).toBe(
      `convert the file with meshgen convert ${file} -o ${path.join(REAL, 'meshgen.yaml')}, which moves the mesh to Istio 1.30.3 (or the release of ` +
        '--istio-version) and names the upgrade notes to read; or upgrade the clusters to Istio 1.22.0 or later and set spec.version to the release',
    );
  });

  it('names each old release and keeps a supported one', () => {
    const text = ristioctl(
      cluster('c1', 'm', { version: '1.18.0' }),
      cluster('c2', 'm', { version: '1.19.1' }),
      cluster('c3', 'm'),
      cluster('d1', 'n', { version: '1.29.0' }),
    );
    const { yaml, topology } = load(FILE, text, { upgradeOldIstio: true });
    expect(topology.meshes.map((m) => [m.name, m.istio.version])).toEqual([
      ['m', '1.30.3'],
      ['n', '1.29.0'],
    ]);
    expect(flat(commentAbove(yaml, 0, ['spec'], 'istio'))).toContain('names Istio 1.18.0 for c1 and Istio 1.19.1 for c2, older than Istio 1.22');
    expect(commentAbove(yaml, 1, ['spec'], 'istio')).toBe('');
    expect(convertPeer(FILE, text, { upgradeOldIstio: true }).istioUpgrades).toEqual([{ mesh: 'm', from: ['1.18.0', '1.19.1'], to: '1.30.3' }]);
  });

  it('fails when an old release, once moved, differs from the supported release of another cluster of its mesh', () => {
    const text = ristioctl(cluster('c1', 'm', { version: '1.18.0' }), cluster('c2', 'm', { version: '1.29.0' }));
    const err = errorOf(text, { upgradeOldIstio: true });
    expect(err.problems.map((p) => [p.path, p.message, p.fix])).toEqual([
      [
        'documents[1].spec.version',
        'Cluster "c2" runs Istio 1.29.0, but Cluster "c1" of the same meshID "m" runs 1.18.0, which meshgen moves to 1.30.3 (documents[0].spec.version, line 8)',
        'a mesh runs one Istio release: give every Cluster of meshID "m" the same spec.version, or pass meshgen convert --istio-version 1.29.0 to move the older releases to it',
      ],
    ]);
    expect(load(FILE, text, { upgradeOldIstio: true, istioVersion: '1.29.0' }).topology.meshes[0].istio.version).toBe('1.29.0');
  });

  it('reads values in the forms ristioctl reads them: validityHours and installHelloWorld as text, metadata labels and annotations', () => {
    const text = ristioctl(
      cluster('c1', 'm', { installHelloWorld: 'true' }).replace('  name: "c1"\n', '  name: "c1"\n  labels: {team: a}\n  annotations: {note: b}\n'),
      cluster('c2', 'm', { installHelloWorld: 'false' }),
      doc('Certificate', 'ca', { meshID: 'm', validityHours: '87600' }),
    );
    const { yaml, topology } = load(FILE, text);
    expect(topology.meshes[0].clusters.map((c) => [c.name, c.samples])).toEqual([
      ['c1', SAMPLE_APPS],
      ['c2', []],
    ]);
    expect(yaml).toContain('    rootValidity: 3650d\n');
    expect(yaml).not.toMatch(/team|note: b/);
    expect(flat((parseAllDocuments(yaml)[0] as Document).commentBefore ?? '')).toContain(
      'metadata.labels and metadata.annotations are read by neither ristioctl nor meshgen: they are left out.',
    );
  });
});

describe('convertPeer: setup-mesh', () => {
  it('converts the published example: contexts as cluster names, every cluster a primary reading with the reader token', () => {
    const { topology } = load(SETUP_MESH, read(SETUP_MESH));
    expect(topology.meshes).toHaveLength(1);
    const mesh = topology.meshes[0];
    expect([mesh.name, mesh.meshID, mesh.istio.version, mesh.trust.keyStore]).toEqual([
      'mesh1',
      'mesh1',
      '1.30.3',
      path.join(path.dirname(SETUP_MESH), '.meshgen', 'pki'),
    ]);
    expect(mesh.clusters.map((c) => [c.name, c.context, c.network, c.role, c.credentials.source])).toEqual([
      ['arn-aws-eks-us-west-2-111122223333-cluster-c2', 'arn:aws:eks:us-west-2:111122223333:cluster/c2', 'network2', 'primary', 'reader-token'],
      ['gke-acme-us-east1-c1', 'gke_acme_us-east1_c1', 'network1', 'primary', 'reader-token'],
      ['kind-c3', 'kind-c3', 'network1', 'primary', 'reader-token'],
    ]);
  });

  it('gives the same model as the hand-written native file, from either form', () => {
    const native = path.join(PEERS, 'setup-mesh', 'expected.yaml');
    const expected = meshesOf(parseTopology([{ file: native, text: read(native) }]));
    expect(meshesOf(load(SETUP_MESH, read(SETUP_MESH)).topology)).toEqual(expected);
    expect(meshesOf(load(SETUP_MESH_CLUSTERS, read(SETUP_MESH_CLUSTERS)).topology)).toEqual(expected);
  });

  it('documents the name rule, the release and the reader token in comments', () => {
    const { yaml } = convertPeer(SETUP_MESH, read(SETUP_MESH));
    expect(flat((parseAllDocuments(yaml)[0] as Document).commentBefore ?? '')).toMatch(
      new RegExp(`^Converted from ${SETUP_MESH} \\(Istio setup-mesh topology.yaml\\) by meshgen convert\\.`),
    );
    const clusters = flat(commentAbove(yaml, 0, ['spec'], 'clusters'));
    expect(clusters).toContain(
      'meshgen names each cluster after its context: lowercase, every character other than a-z, 0-9 and - (such as _ : / . @) turned into -, ' +
        'repeated - collapsed into one, - dropped at both ends, cut to 63 characters. A context whose name an earlier context already gives ' +
        'gets -2, -3, … in the order of the contexts.',
    );
    expect(clusters).toContain('Every cluster is a primary');
    expect(clusters).toContain('meshgen does the same with credentials.source: reader-token');
    expect(flat(commentAbove(yaml, 0, ['spec'], 'istio'))).toContain('setup-mesh files do not name the Istio release: 1.30.3 comes from meshgen convert --istio-version');
    expect(yaml).toContain('  credentials:\n    source: reader-token\n');
    const older = convertPeer(SETUP_MESH_CLUSTERS, read(SETUP_MESH_CLUSTERS)).yaml;
    expect(flat((parseAllDocuments(older)[0] as Document).commentBefore ?? '')).toContain('setup-mesh\'s older form, which lists the contexts under clusters:');
  });

  it('takes the Istio release from the options', () => {
    expect(load(SETUP_MESH, read(SETUP_MESH), { istioVersion: '1.29.1' }).topology.meshes[0].istio.version).toBe('1.29.1');
  });

  it('puts clusters without a network on one network named after the mesh, distinct from those given', () => {
    const text = 'mesh_id: Mesh One\ncontexts:\n  a: {}\n  b:\n  c: {network: mesh-one-network}\n  d: {network: Net_1}\n';
    const { yaml, topology } = load(FILE, text);
    const mesh = topology.meshes[0];
    expect(mesh.name).toBe('mesh-one');
    expect(mesh.clusters.map((c) => [c.name, c.network])).toEqual([
      ['a', 'mesh-one-network-2'],
      ['b', 'mesh-one-network-2'],
      ['c', 'mesh-one-network'],
      ['d', 'net-1'],
    ]);
    const notes = flat(commentAbove(yaml, 0, ['spec'], 'clusters'));
    expect(notes).toContain('Contexts without a network share one network in setup-mesh; meshgen names it mesh-one-network-2.');
    expect(notes).toContain('Network "Net_1" is named net-1 here: network names are distinct DNS-1123 labels.');
    expect(flat((parseAllDocuments(yaml)[0] as Document).commentBefore ?? '')).toContain('mesh_id "Mesh One" is named mesh-one here');
  });

  it('says which contexts gave the same name and keeps the kubeconfig for another reader account', () => {
    const text = 'mesh_id: m\ncontexts:\n  kind-c3: {network: n}\n  Kind_C3: {network: n, serviceAccountReader: my-reader}\n';
    const { yaml, topology } = load(FILE, text);
    expect(topology.meshes[0].clusters.map((c) => [c.name, c.context, c.credentials.source, c.credentials.explicit])).toEqual([
      ['kind-c3', 'kind-c3', 'reader-token', true],
      ['kind-c3-2', 'Kind_C3', 'kubeconfig', false],
    ]);
    const note = flat(commentAboveCluster(yaml, 0, 1));
    expect(note).toContain('Context "Kind_C3" gives the name kind-c3, which context "kind-c3" already has: this cluster is kind-c3-2.');
    expect(note).toContain('serviceAccountReader: my-reader. meshgen reads a cluster either with Istio\'s istio-reader-service-account');
    expect(commentAboveCluster(yaml, 0, 0)).toBe('');
  });

  const failures: [string, string, ConvertPeerOptions, Pick<Problem, 'path' | 'message'> & { fix: string | RegExp }][] = [
    ['mesh_id is missing', 'mesh_id:\ncontexts: {a: {network: n}}\n', {}, { path: 'mesh_id', message: 'mesh_id is missing', fix: 'add mesh_id: <the mesh ID of every cluster>' }],
    [
      'contexts is empty',
      'mesh_id: m\ncontexts: {}\n',
      {},
      { path: 'contexts', message: 'contexts is empty', fix: 'list the clusters under contexts by kube context: {<kube context>: {network: <network name>}}' },
    ],
    [
      'both forms are used',
      'mesh_id: m\ncontexts: {a: {}}\nclusters: {b: {}}\n',
      {},
      { path: 'clusters', message: 'both contexts and clusters are set', fix: 'keep contexts (clusters is its older name) and move every entry there' },
    ],
    [
      'a context has a misspelt key',
      'mesh_id: m\ncontexts:\n  arn:aws:eks:us-west-2:1:cluster/c2: {netwrok: n}\n',
      {},
      { path: 'contexts["arn:aws:eks:us-west-2:1:cluster/c2"].netwrok', message: 'unknown key "netwrok"', fix: 'did you mean "network"? valid keys here: network, serviceAccountReader' },
    ],
    [
      'a network is not a string',
      'mesh_id: m\ncontexts:\n  a: {network: [n]}\n',
      {},
      { path: 'contexts.a.network', message: 'network is a list, not a non-empty string', fix: 'write network as a string' },
    ],
    ['a top-level key is unknown', 'mesh_id: m\ncontexts: {a: {}}\nmeshID: x\n', {}, { path: 'meshID', message: 'unknown key "meshID"', fix: /valid keys here: mesh_id, contexts, clusters$/ }],
    ['the file has a second document', 'mesh_id: m\ncontexts: {a: {}}\n---\nmesh_id: n\n', {}, { path: undefined, message: 'document 2: a setup-mesh topology.yaml holds one document', fix: 'convert each topology on its own' }],
  ];

  it.each(failures)('fails when %s', (_name, text, opts, want) => {
    const err = errorOf(text, opts);
    expect(err.message.split('\n')[0]).toBe(`cannot convert ${FILE} (Istio setup-mesh topology.yaml): 1 problem`);
    expect(err.problems).toHaveLength(1);
    const got = err.problems[0];
    expect([got.file, got.path, got.message]).toEqual([FILE, want.path, want.message]);
    if (typeof want.fix === 'string') expect(got.fix).toBe(want.fix);
    else expect(got.fix).toMatch(want.fix);
    expect(got.line).toBeGreaterThan(0);
  });

  it.each([
    ['1.20.0', 'Istio 1.20.0 is too old: meshgen writes for Istio 1.22 and later'],
    ['latest', '"latest" is not an Istio release'],
  ])('fails when the Istio release %s is not usable', (istioVersion, message) => {
    const err = errorOf(read(SETUP_MESH), { istioVersion });
    expect(err.message.split('\n')[0]).toBe(`cannot convert ${FILE}: the Istio release "${istioVersion}" is not usable`);
    expect(err.problems).toEqual([{ path: '--istio-version', message, fix: expect.stringContaining('meshgen convert --istio-version') }]);
  });
});

describe('convertPeer: other files', () => {
  it('fails when the file is already a meshgen topology', () => {
    const err = errorOf(read(path.join(REPO, 'examples', 'mesh.yaml')));
    expect(err.message).toBe(
      `cannot convert ${FILE}: it is already a meshgen topology\n  ${FILE}: the file has apiVersion: meshgen.dev/v1alpha1\n      fix: use it as it is: meshgen validate -f ${FILE}`,
    );
  });

  it('fails when the file is not YAML', () => {
    const err = errorOf('mesh_id: m\ncontexts: {a: [\n');
    expect(err.message.split('\n')[0]).toBe(`cannot convert ${FILE}: it is not valid YAML`);
    expect(err.problems[0]).toMatchObject({ file: FILE, line: 3, message: expect.stringMatching(/^not valid YAML: /) });
  });

  it('fails when the file is in no format it knows', () => {
    const err = errorOf('apiVersion: v1\nkind: ConfigMap\n');
    expect(err.message.split('\n')[0]).toBe(`cannot convert ${FILE}: it is not in a format meshgen converts`);
    expect(err.problems[0].fix).toBe('pass a ristioctl mesh.yaml or a setup-mesh topology.yaml');
  });
});

describe('meshgen convert', () => {
  /** Runs `meshgen convert …args` with the command alone, as main.ts would register it. */
  async function run(args: string[], cwd?: string): Promise<{ out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };
    const convert = convertCommand(io).exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
    const program = new Command('meshgen').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err }).addCommand(convert);
    const before = process.cwd();
    if (cwd) process.chdir(cwd);
    try {
      await program.parseAsync(['node', 'meshgen', 'convert', ...args]);
    } finally {
      process.chdir(before);
    }
    return { out: out.join(''), err: err.join('') };
  }

  it('writes the converted topology to stdout', async () => {
    const r = await run([SETUP_MESH]);
    expect(r.out).toBe(convertPeer(SETUP_MESH, read(SETUP_MESH)).yaml);
    expect(r.err).toBe('');
  });

  it('writes it to -o with paths that resolve from there, and summarizes on stdout', async () => {
    const dir = tmpDir();
    fs.cpSync(path.join(PEERS, 'ristioctl'), path.join(dir, 'ristioctl'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'out'));
    const r = await run(['ristioctl/mesh.yaml', '-o', 'out/meshgen.yaml'], dir);
    expect(r.out).toBe('converted ristioctl/mesh.yaml (ristioctl mesh.yaml) to out/meshgen.yaml: 2 meshes, 3 clusters\n');
    const text = read(path.join(dir, 'out', 'meshgen.yaml'));
    expect(text).toContain('keyStore: ../ristioctl/certs/mesh1\n');
    const file = path.join(dir, 'out', 'meshgen.yaml');
    const native = path.join(PEERS, 'ristioctl', 'expected.yaml');
    const expected = meshesOf(parseTopology([{ file: path.join(dir, 'ristioctl', 'expected.yaml'), text: read(native) }]));
    expect(meshesOf(parseTopology([{ file, text }]))).toEqual(expected);
  });

  it('converts ristioctl\'s published examples, saying on stderr which meshes moved to another Istio release', async () => {
    const file = path.join(PEERS, 'ristioctl', 'real', 'mesh3.yaml');
    const r = await run([file]);
    expect(r.out).toBe(convertPeer(file, read(file), { upgradeOldIstio: true }).yaml);
    expect(r.err).toBe(
      'meshgen: mesh "usmesh3": Istio 1.18.0 is older than meshgen writes for, so it runs 1.30.3; the comment above its spec.istio lists the upgrade notes to read\n',
    );
  });

  it('converts ristioctl\'s mesh3.yaml with the built command, to --istio-version', () => {
    const dir = tmpDir();
    fs.copyFileSync(path.join(PEERS, 'ristioctl', 'real', 'mesh3.yaml'), path.join(dir, 'mesh3.yaml'));
    const conv = runCli(['convert', 'mesh3.yaml', '-o', 'native.yaml', '--istio-version', '1.29.1'], dir);
    expect([conv.code, conv.stderr]).toEqual([0, '']);
    expect(conv.stdout).toBe(
      'converted mesh3.yaml (ristioctl mesh.yaml) to native.yaml: 1 mesh, 2 clusters\n' +
        '  mesh "usmesh3": Istio 1.18.0 is older than meshgen writes for, so it runs 1.29.1; the comment above its spec.istio lists the upgrade notes to read\n',
    );
    const file = path.join(dir, 'native.yaml');
    const text = read(file);
    expect(text).toContain('  istio:\n    version: 1.29.1\n');
    expect(text).toContain('  # The ristioctl file\'s spec.version names Istio 1.18.0 for cluster1a and cluster2a');
    expect(text).toContain('  # https://istio.io/latest/news/releases/1.29.x/announcing-1.29/upgrade-notes/\n');
    const mesh = parseTopology([{ file, text }]).meshes[0];
    expect([mesh.name, mesh.istio.version, mesh.clusters.map((c) => c.samples)]).toEqual(['usmesh3', '1.29.1', [SAMPLE_APPS, SAMPLE_APPS]]);
  });

  it('converts the example of ristioctl\'s README into a file meshgen validate accepts; the file itself it refuses, naming convert', () => {
    const dir = tmpDir();
    fs.copyFileSync(path.join(PEERS, 'ristioctl', 'real', 'readme-mesh.yaml'), path.join(dir, 'mesh.yaml'));
    // The README's clusters read kubeconfig-istio-demo.yaml beside the file, with contexts cluster1 and cluster2.
    fs.writeFileSync(
      path.join(dir, 'kubeconfig-istio-demo.yaml'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c1, cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: Q0E=}}, {name: c2, cluster: {server: "https://10.0.0.2:6443", certificate-authority-data: Q0E=}}]',
        'users: [{name: u, user: {token: token-1}}]',
        'contexts: [{name: cluster1, context: {cluster: c1, user: u}}, {name: cluster2, context: {cluster: c2, user: u}}]',
        '',
      ].join('\n'),
    );
    const conv = runCli(['convert', 'mesh.yaml', '-o', 'native.yaml'], dir);
    expect([conv.code, conv.stderr]).toEqual([0, '']);
    const v = runCli(['validate', '-f', 'native.yaml'], dir);
    expect([v.code, v.stderr]).toEqual([0, '']);
    expect(v.stdout).toContain('mesh "uswestmesh" (mesh ID uswestmesh, Istio 1.30.3): 2 clusters on 2 networks');
    const direct = runCli(['validate', '-f', 'mesh.yaml'], dir);
    expect(direct.code).toBe(1);
    expect(direct.stderr).toContain('fix: convert the file with meshgen convert mesh.yaml -o meshgen.yaml, which moves the mesh to Istio 1.30.3');
    // The command of the fix, as printed, works.
    const pasted = runCli(['convert', 'mesh.yaml', '-o', 'meshgen.yaml'], dir);
    expect([pasted.code, pasted.stderr]).toEqual([0, '']);
    expect(read(path.join(dir, 'meshgen.yaml'))).toBe(read(path.join(dir, 'native.yaml')));
  });

  it('refuses to overwrite a file without --force', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(out, 'mine\n');
    const err = await run([SETUP_MESH, '-o', out]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutputError);
    expect((err as OutputError).message).toBe(`cannot write ${out}\n  ${out}: the file already exists\n      fix: pass --force to overwrite it, or choose another -o`);
    expect(read(out)).toBe('mine\n');
    await run([SETUP_MESH, '-o', out, '--force', '--istio-version', '1.29.1']);
    expect(parseTopology([{ file: out, text: read(out) }]).meshes[0].istio.version).toBe('1.29.1');
  });

  it('refuses to write over the file it converts', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'topology.yaml');
    fs.copyFileSync(SETUP_MESH, file);
    await expect(run([file, '-o', file, '--force'])).rejects.toThrow(/it is the file being converted/);
    expect(read(file)).toBe(read(SETUP_MESH));
  });

  it('fails with a TopologyError on a file it cannot read or convert', async () => {
    await expect(run(['/nonexistent/topology.yaml'])).rejects.toThrow(
      new TopologyError('cannot convert /nonexistent/topology.yaml: cannot read it', [
        {
          file: '/nonexistent/topology.yaml',
          message: 'no such file',
          fix: `check the path: it is read from ${process.cwd()}, so /nonexistent/topology.yaml means /nonexistent/topology.yaml; convert takes a ristioctl mesh.yaml or a setup-mesh topology.yaml`,
        },
      ]).message,
    );
    const dir = tmpDir();
    const bad = path.join(dir, 'topology.yaml');
    fs.writeFileSync(bad, 'mesh_id: m\ncontexts: {}\n');
    await expect(run([bad])).rejects.toBeInstanceOf(TopologyError);
  });

  it('treats a bad --istio-version or a missing file argument as a usage error', async () => {
    for (const args of [[SETUP_MESH, '--istio-version', '1.2'], [], [SETUP_MESH, '-o', '']]) {
      const err = await run(args).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, args.join(' ')).toBeInstanceOf(CommanderError);
    }
  });
});
