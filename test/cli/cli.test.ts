import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { meshYaml, readTree, REPO, runCli, TWO_CLUSTERS, workspace } from '../helpers';

// These run the compiled command (bin/meshgen → lib/), as users do: `npm test` builds first.
describe('meshgen CLI', () => {
  it('is loadable as a package through its main entry', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require(REPO) as Record<string, unknown>;
    for (const name of ['Mesh', 'ClusterChart', 'loadTopology', 'ensureMeshPki', 'synthesize', 'renderCluster', 'writeOutput']) {
      expect(typeof pkg[name], name).toBe('function');
    }
  });

  it('prints its version', () => {
    const r = runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
  });

  it('has help for the program and each subcommand', () => {
    const top = runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: meshgen/);
    expect(top.stdout).toMatch(/synth/);
    expect(top.stdout).toMatch(/validate/);
    const synth = runCli(['synth', '--help']);
    expect(synth.code).toBe(0);
    expect(synth.stdout).toMatch(/-f, --file <path\.\.\.>/);
    expect(synth.stdout).toMatch(/-o, --output <dir>/);
    expect(runCli(['validate', '--help']).stdout).toMatch(/writes nothing/);
  });

  it('exits 2 on usage errors', () => {
    for (const args of [['frobnicate'], ['synth', '--bogus'], ['synth', '-o'], ['synth', '-o', ''], []]) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.length, args.join(' ')).toBeGreaterThan(0);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it('synthesizes and summarizes on stdout', () => {
    const ws = workspace();
    const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
    // The one warning of a mesh whose Secrets are written in plaintext (the default).
    expect(r.stderr).toMatch(/^warning: 2 files in 2 cluster folders hold private keys or tokens in plaintext, so never commit them: dist\/cluster1\/secret\.istio-system\.cacerts\.yaml, dist\/cluster2\/secret\.istio-system\.cacerts\.yaml\n {4}fix: [^\n]+\n$/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'mesh "mesh1": 2 clusters written to dist/',
        '  cluster1  8 files, intermediate CA reused',
        '  cluster2  8 files, intermediate CA reused',
        '  root CA reused, key store pki',
        'pending: remote secrets of cluster "cluster1" (mesh "mesh1"): context "kind-cluster1" is not in the kubeconfig (0 files read)',
        '    next: run synth where the kubeconfig has that context, set credentials.kubeconfig to a kubeconfig that has it, or use credentials.source: reader-token or external (dist/cluster1/README.md)',
        'pending: remote secrets of cluster "cluster2" (mesh "mesh1"): context "kind-cluster2" is not in the kubeconfig (0 files read)',
        '    next: run synth where the kubeconfig has that context, set credentials.kubeconfig to a kubeconfig that has it, or use credentials.source: reader-token or external (dist/cluster2/README.md)',
        'next: apply each cluster by its README, in this order: dist/cluster1/README.md, dist/cluster2/README.md',
        '',
      ].join('\n'),
    );
    expect(Object.keys(readTree(ws.out)).length).toBe(16);
  });

  it('reads mesh.yaml in the working folder by default', () => {
    const ws = workspace();
    const r = runCli(['validate'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'mesh "mesh1" (mesh ID mesh1, Istio 1.30.3): 2 clusters on 2 networks\nmesh.yaml: valid, with the remote secrets of 2 clusters pending (validate --strict fails on it)\n',
    );
  });

  it('exits 1 on an invalid topology, with every problem on stderr and nothing written', () => {
    const ws = workspace(meshYaml({ clusters: [...TWO_CLUSTERS, { name: 'cluster1', network: 'network3', context: 'c3' }] }).replace('network: network2', 'netwrk: network2'));
    for (const cmd of ['validate', 'synth']) {
      const r = runCli([cmd, '-f', 'mesh.yaml'], ws.dir);
      expect(r.code, cmd).toBe(1);
      expect(r.stdout, cmd).toBe('');
      expect(r.stderr).toMatch(/^meshgen: invalid topology in mesh\.yaml: 3 problems\n/);
      expect(r.stderr).toMatch(/mesh\.yaml:16:7: spec\.clusters\[1\]\.netwrk: unknown key "netwrk"\n\s+fix: did you mean "network"\?/);
      expect(r.stderr).toMatch(/mesh\.yaml:17:13: spec\.clusters\[2\]\.name: cluster name "cluster1" is already used/);
    }
    expect(fs.existsSync(ws.out)).toBe(false);
  });

  it('exits 1 when the topology file cannot be read', () => {
    const ws = workspace();
    const r = runCli(['synth', '-f', 'missing.yaml'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `meshgen: cannot read the topology file missing.yaml\n  missing.yaml: no such file\n      fix: check the path: it is read from ${fs.realpathSync(ws.dir)}, so missing.yaml means ${path.join(fs.realpathSync(ws.dir), 'missing.yaml')}\n`,
    );
  });

  it('exits 1 on a key store that does not fit together, without printing key material', () => {
    const ws = workspace();
    fs.copyFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-cert.pem'), path.join(ws.dir, 'pki', 'root-cert.pem'));
    fs.copyFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem'), path.join(ws.dir, 'pki', 'root-key.pem'));
    const r = runCli(['synth'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^meshgen: key store pki is inconsistent for mesh "mesh1"/);
    expect(r.stderr).toMatch(/pki\/cluster2\/ca-cert\.pem: was not signed by the root in pki\/root-cert\.pem/);
    expect(r.stderr).not.toMatch(/BEGIN|PRIVATE|MII/);
    expect(fs.existsSync(ws.out)).toBe(false);
  });

  it('exits 1 when the output path is a file', () => {
    const ws = workspace();
    fs.writeFileSync(ws.out, 'x');
    const r = runCli(['synth'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^meshgen: output path dist is a file, not a folder\n\s+dist: is a file\n\s+fix: pass a folder with -o/);
  });

  it('takes several topology files', () => {
    const ws = workspace(meshYaml({ name: 'a', keyStore: 'pki-a', clusters: [TWO_CLUSTERS[0]] }));
    fs.writeFileSync(path.join(ws.dir, 'b.yaml'), meshYaml({ name: 'b', keyStore: 'pki-b', clusters: [TWO_CLUSTERS[1]] }));
    const r = runCli(['validate', '-f', 'mesh.yaml', 'b.yaml'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mesh "a".*\nmesh "b".*\nmesh\.yaml, b\.yaml: valid/);
  });
});
