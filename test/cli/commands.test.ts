import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterNameFromContext, clusterNamesFromContexts } from '../../src/model/names';
import { readTree, REPO, runCli, tmpDir, workspace } from '../helpers';
import { ageKeygen } from '../helpers/sops';

const KUBE = path.join(REPO, 'test', 'fixtures', 'kubeconfig');

describe('meshgen init', () => {
  it('writes a topology from three contexts that validates and synthesizes', () => {
    const dir = tmpDir();
    const r = runCli(['init', '--kubeconfig', path.join(KUBE, 'fleet.yaml'), '--contexts', 'kind-cluster1,kind-cluster2,gke_acme_us-east1_east-1', '--mesh-id', 'prod'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('wrote mesh.yaml: mesh "prod" with 3 clusters; next: meshgen validate -f mesh.yaml\n');
    const text = fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=/);
    expect(text).toMatch(/# from context gke_acme_us-east1_east-1\n\s+- name: gke-acme-us-east1-east-1/);
    expect(runCli(['validate'], dir).stdout).toMatch(/mesh "prod" \(mesh ID prod, Istio 1\.30\.3\): 3 clusters on 3 networks/);
    const synth = runCli(['synth', '-q'], dir);
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stdout).toBe('');
    expect(fs.readdirSync(path.join(dir, 'dist')).sort()).toEqual(['gke-acme-us-east1-east-1', 'kind-cluster1', 'kind-cluster2']);
    // The fixture kubeconfig has every context: the remote secrets are written.
    expect(fs.existsSync(path.join(dir, 'dist', 'kind-cluster1', 'secret.istio-system.istio-remote-secret-kind-cluster2.yaml'))).toBe(true);
  });

  it('writes the secrets block commented out; uncommented with a real recipient, it encrypts every Secret', () => {
    const dir = tmpDir();
    expect(runCli(['init', '--kubeconfig', path.join(KUBE, 'fleet.yaml'), '--contexts', 'kind-cluster1,kind-cluster2'], dir).code).toBe(0);
    const text = fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8');
    expect(text).toMatch(/\n {2}# secrets:\n {2}# {3}encryption: sops/);
    const { recipient } = ageKeygen();
    const uncommented = text
      .split('\n')
      .map((l) => (/^ {2}# ( {0,4}(secrets|encryption|sops|age):)/.test(l) ? `  ${l.slice(4)}` : l))
      .join('\n')
      .replace('age1...', recipient);
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), uncommented);
    const synth = runCli(['synth', '-q'], dir);
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stderr).toBe('');
    expect(fs.readdirSync(path.join(dir, 'dist', 'kind-cluster1', 'secrets')).sort()).toEqual([
      'secret.istio-system.cacerts.yaml',
      'secret.istio-system.istio-remote-secret-kind-cluster2.yaml',
    ]);
  });

  it('puts every cluster on one network with --single-network, and picks the reader token for plugin users', () => {
    const dir = tmpDir();
    expect(runCli(['init', '--kubeconfig', path.join(KUBE, 'plugins.yaml'), '--contexts', 'exec,basic', '--single-network'], dir).code).toBe(0);
    const text = fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8');
    expect(text.match(/network: mesh1-network/g)).toHaveLength(2);
    expect(text).toMatch(/- name: exec\n\s+context: exec\n\s+network: mesh1-network\n\s+# its user runs an exec or auth-provider plugin.*\n\s+credentials:\n\s+source: reader-token/);
  });

  it('refuses to overwrite without --force, and names unknown contexts', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), 'mine\n');
    let r = runCli(['init', '--kubeconfig', path.join(KUBE, 'fleet.yaml')], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mesh\.yaml exists[\s\S]*fix: pass --force/);
    expect(fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8')).toBe('mine\n');
    r = runCli(['init', '--kubeconfig', path.join(KUBE, 'fleet.yaml'), '--force', '--contexts', 'kind-cluster1,nope'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 context not in .*fleet\.yaml: nope/);
    expect(fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8')).toBe('mine\n');
    r = runCli(['init', '--kubeconfig', path.join(KUBE, 'fleet.yaml'), '--force'], dir);
    expect(r.code).toBe(0);
  });

  it('says a kubeconfig named with --kubeconfig does not exist, and one of an empty $KUBECONFIG list', () => {
    const dir = tmpDir();
    let r = runCli(['init', '--kubeconfig', 'missing.yaml'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `meshgen: no kubeconfig at missing.yaml\n  missing.yaml: no such file\n      fix: check the path given with --kubeconfig (read as ${path.join(fs.realpathSync(dir), 'missing.yaml')})\n`,
    );
    r = runCli(['init'], dir, { KUBECONFIG: path.join(dir, 'a.yaml'), HOME: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^meshgen: no kubeconfig at .*a\.yaml\n.*no such file\n\s+fix: pass --kubeconfig with the kubeconfig of your clusters, or set KUBECONFIG/);
    expect(fs.existsSync(path.join(dir, 'mesh.yaml'))).toBe(false);
  });

  it('refuses a folder as its output even with --force, and a bad -o in convert', () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'out'));
    let r = runCli(['init', '--kubeconfig', path.join(KUBE, 'fleet.yaml'), '-o', 'out', '--force'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write out\n\s+out: it is a folder\n\s+fix: give -o the path of a file/);
    fs.copyFileSync(path.join(REPO, 'test', 'fixtures', 'peers', 'ristioctl', 'mesh.yaml'), path.join(dir, 'r.yaml'));
    r = runCli(['convert', 'r.yaml', '-o', 'r.yaml', '--force'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/r\.yaml: it is the file being converted/);
    r = runCli(['convert', 'r.yaml', '-o', ''], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '-o, --output <file>' needs a file name/);
  });

  it('keeps network names of long EKS context names within 63 characters, and unique', () => {
    const dir = tmpDir();
    const long = (n: number) => `arn:aws:eks:eu-central-1:123456789012:cluster/payments-production-blue-green-${n}`;
    const kubeconfig = path.join(dir, 'kubeconfig.yaml');
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: Q0E=}}]',
        'users: [{name: u, user: {token: t}}]',
        `contexts: [{name: "${long(1)}", context: {cluster: c, user: u}}, {name: "${long(2)}", context: {cluster: c, user: u}}]`,
        '',
      ].join('\n'),
    );
    const r = runCli(['init', '--kubeconfig', kubeconfig], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const networks = [...fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8').matchAll(/^\s+network: (\S+)$/gm)].map((m) => m[1]);
    expect(networks).toHaveLength(2);
    expect(new Set(networks).size).toBe(2);
    for (const n of networks) expect(n.length).toBeLessThanOrEqual(63);
    expect(runCli(['validate'], dir).code).toBe(0);
  });

  it('derives cluster names from contexts as DNS-1123 labels, unique', () => {
    expect(clusterNameFromContext('gke_acme_us-east1_c1')).toBe('gke-acme-us-east1-c1');
    expect(clusterNameFromContext('arn:aws:eks:us-west-2:1111:cluster/West_2')).toBe('arn-aws-eks-us-west-2-1111-cluster-west-2');
    expect(clusterNameFromContext('__')).toBe('cluster');
    expect(clusterNameFromContext('x'.repeat(70))).toHaveLength(63);
    expect(clusterNamesFromContexts(['a_b', 'a-b', 'A.B'])).toEqual(['a-b', 'a-b-2', 'a-b-3']);
  });
});

describe('meshgen diff', () => {
  it('exits 1 before a synth, 0 right after, 1 after a topology change, and never prints a secret', () => {
    const ws = workspace();
    let r = runCli(['diff'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/16 files would change in dist: run meshgen synth/);
    expect(r.stdout).toMatch(/\+\+\+ b\/cluster1\/secret\.istio-system\.cacerts\.yaml/);
    expect(r.stdout).toMatch(/ca-key\.pem: <secret, sha256 [0-9a-f]{12}>/);
    expect(fs.existsSync(ws.out)).toBe(false);

    expect(runCli(['synth', '-q'], ws.dir).code).toBe(0);
    r = runCli(['diff'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^dist is up to date\npending: remote secrets of cluster "cluster1"/);

    fs.writeFileSync(ws.file, fs.readFileSync(ws.file, 'utf8').replace('network: network2', 'network: network9'));
    r = runCli(['diff', '--stat'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'changed cluster2/README.md\nchanged cluster2/istiooperator.control-plane.yaml\nchanged cluster2/istiooperator.eastwest.yaml\nchanged cluster2/namespace.istio-system.yaml\n',
    );
    const full = runCli(['diff'], ws.dir);
    expect(full.stdout).toMatch(/-      network: network2\n\+      network: network9/);
    for (const out of [r, full]) expect(`${out.stdout}${out.stderr}`).not.toMatch(/BEGIN|PRIVATE KEY|LS0tLS1CRUdJTi/);
    // Nothing was written by diff.
    expect(fs.readFileSync(path.join(ws.out, 'cluster2', 'namespace.istio-system.yaml'), 'utf8')).toMatch(/network2/);
  });

  it('masks a changed secret value as a changed fingerprint', () => {
    const ws = workspace();
    expect(runCli(['synth', '-q'], ws.dir).code).toBe(0);
    const file = path.join(ws.out, 'cluster1', 'secret.istio-system.cacerts.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/ca-key\.pem: \S+/, 'ca-key.pem: c2VjcmV0'));
    const r = runCli(['diff'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/-  ca-key\.pem: <secret, sha256 [0-9a-f]{12}>\n\+  ca-key\.pem: <secret, sha256 [0-9a-f]{12}>/);
    expect(r.stdout).not.toMatch(/c2VjcmV0/);
  });

  it('masks a whole Secret file that no longer parses as YAML', () => {
    const ws = workspace();
    expect(runCli(['synth', '-q'], ws.dir).code).toBe(0);
    const file = path.join(ws.out, 'cluster1', 'secret.istio-system.cacerts.yaml');
    fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').replace(/ca-key\.pem: \S+/, 'ca-key.pem: c2VjcmV0')}broken: *nowhere\n`);
    const r = runCli(['diff'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/<secret, sha256 [0-9a-f]{12}>/);
    expect(r.stdout).not.toMatch(/c2VjcmV0/);
    expect(r.stdout).not.toMatch(/cert-chain\.pem: \S{20}/);
  });

  it('masks a Secret file whose kind line was broken by hand, although the YAML parser does not throw', () => {
    const ws = workspace();
    expect(runCli(['synth', '-q'], ws.dir).code).toBe(0);
    const file = path.join(ws.out, 'cluster1', 'secret.istio-system.cacerts.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('kind: Secret', 'kind: "Secret').replace(/ca-key\.pem: \S+/, 'ca-key.pem: c2VjcmV0'));
    const r = runCli(['diff'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/<secret, sha256 [0-9a-f]{12}>/);
    expect(r.stdout).not.toMatch(/c2VjcmV0/);
  });
});

describe('meshgen synth output', () => {
  it('prints JSON for scripts and the next steps for people', () => {
    const ws = workspace();
    const json = runCli(['synth', '--json'], ws.dir);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result.meshes[0].clusters.map((c: { name: string; role: string }) => [c.name, c.role])).toEqual([
      ['cluster1', 'primary'],
      ['cluster2', 'primary'],
    ]);
    expect(result.pending).toHaveLength(2);
    const human = runCli(['synth'], ws.dir);
    expect(human.stdout).toMatch(/next: apply each cluster by its README, in this order: dist\/cluster1\/README\.md, dist\/cluster2\/README\.md\n$/);
  });
});

describe('peer formats in the CLI', () => {
  const PEERS = path.join(REPO, 'test', 'fixtures', 'peers');

  /** A kubeconfig with static tokens for the contexts kind-cluster1..3. */
  function writeKubeconfigs(dir: string): void {
    fs.mkdirSync(path.join(dir, 'kubeconfigs'), { recursive: true });
    for (const n of [1, 2, 3]) {
      fs.writeFileSync(
        path.join(dir, 'kubeconfigs', `cluster${n}.yaml`),
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: c${n}, cluster: {server: "https://10.0.0.${n}:6443", certificate-authority-data: Q0E=}}]`,
          `users: [{name: u${n}, user: {token: token-${n}}}]`,
          `contexts: [{name: kind-cluster${n}, context: {cluster: c${n}, user: u${n}}}]`,
          '',
        ].join('\n'),
      );
    }
  }

  for (const [format, file] of [
    ['ristioctl', 'ristioctl/mesh.yaml'],
    ['setup-mesh', 'setup-mesh/topology.yaml'],
  ] as const) {
    it(`reads ${format} directly, and its conversion synthesizes to the same output`, () => {
      const dir = tmpDir();
      const peer = path.join(dir, path.basename(file));
      fs.copyFileSync(path.join(PEERS, file), peer);
      writeKubeconfigs(dir);
      const v = runCli(['validate', '-f', path.basename(file)], dir, { MESH_ROOT_PASSPHRASE: 'correct horse' });
      expect(v.code, v.stderr).toBe(0);
      const direct = runCli(['synth', '-q', '-f', path.basename(file), '-o', 'direct'], dir, { MESH_ROOT_PASSPHRASE: 'correct horse' });
      expect(direct.code, direct.stderr).toBe(0);
      const conv = runCli(['convert', path.basename(file), '-o', 'native.yaml'], dir);
      expect(conv.code, conv.stderr).toBe(0);
      // The converted file takes the peer file's place, so the READMEs' synth commands (-f) read alike.
      fs.renameSync(path.join(dir, 'native.yaml'), peer);
      const viaNative = runCli(['synth', '-q', '-f', path.basename(file), '-o', 'native'], dir, { MESH_ROOT_PASSPHRASE: 'correct horse' });
      expect(viaNative.code, viaNative.stderr).toBe(0);
      expect(readTree(path.join(dir, 'native'))).toEqual(readTree(path.join(dir, 'direct')));
      expect(Object.keys(readTree(path.join(dir, 'direct'))).length).toBeGreaterThan(10);
    });
  }
});
