/**
 * `meshgen init --ambient`: the starting mesh.yaml of an ambient mesh, one
 * network per cluster, and the refusal of --single-network with it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO, runCli, tmpDir } from '../helpers';

const FLEET = path.join(REPO, 'test', 'fixtures', 'kubeconfig', 'fleet.yaml');
const CONTEXTS = 'kind-cluster1,kind-cluster2';

interface Written {
  spec: { dataplane?: string; istio: { version: string }; clusters: { name: string; network: string; role?: string }[] };
}

describe('meshgen init --ambient', () => {
  it('writes dataplane: ambient with one network per cluster, which validate accepts', () => {
    const dir = tmpDir();
    const r = runCli(['init', '--kubeconfig', FLEET, '--contexts', CONTEXTS, '--ambient'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('wrote mesh.yaml: mesh "mesh1" with 2 clusters; next: meshgen validate -f mesh.yaml\n');
    const text = fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=/);
    // The key is explained like the others, just above it.
    expect(text).toMatch(/\n {2}# Ambient data plane: .*\n(?: {2}# .*\n)* {2}dataplane: ambient\n/);
    const spec = (parse(text) as Written).spec;
    expect(spec.dataplane).toBe('ambient');
    expect(spec.clusters.map((c) => c.name)).toEqual(['kind-cluster1', 'kind-cluster2']);
    expect(spec.clusters.every((c) => c.role === undefined || c.role === 'primary')).toBe(true);
    const networks = spec.clusters.map((c) => c.network);
    expect(new Set(networks).size).toBe(networks.length);
    const v = runCli(['validate'], dir);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/2 clusters on 2 networks/);
  });

  it('takes --network-per-cluster with --ambient', () => {
    const dir = tmpDir();
    const r = runCli(['init', '--kubeconfig', FLEET, '--contexts', CONTEXTS, '--ambient', '--network-per-cluster'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect((parse(fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8')) as Written).spec.dataplane).toBe('ambient');
  });

  it('refuses --single-network with --ambient as a usage error, and writes nothing', () => {
    const dir = tmpDir();
    for (const args of [
      ['--ambient', '--single-network'],
      ['--single-network', '--ambient'],
    ]) {
      const r = runCli(['init', '--kubeconfig', FLEET, '--contexts', CONTEXTS, ...args], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--ambient/);
      expect(r.stderr).toMatch(/--single-network/);
      expect(r.stderr).toMatch(/network per cluster/);
      expect(fs.existsSync(path.join(dir, 'mesh.yaml'))).toBe(false);
    }
  });

  it('without --ambient writes no dataplane key', () => {
    const dir = tmpDir();
    const r = runCli(['init', '--kubeconfig', FLEET, '--contexts', CONTEXTS], dir);
    expect(r.code, r.stderr).toBe(0);
    const text = fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8');
    expect(text).not.toMatch(/dataplane/);
    expect((parse(text) as Written).spec).not.toHaveProperty('dataplane');
  });

  it('refuses an Istio release without ambient multicluster, naming the fix', () => {
    const dir = tmpDir();
    const r = runCli(['init', '--kubeconfig', FLEET, '--contexts', CONTEXTS, '--ambient', '--istio-version', '1.26.2'], dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no ambient multicluster/);
    expect(fs.existsSync(path.join(dir, 'mesh.yaml'))).toBe(false);
  });
});

describe('meshgen init without a kubeconfig', () => {
  it('fails, naming what is missing, when $KUBECONFIG names no file or the default kubeconfig does not exist', () => {
    const dir = tmpDir();
    const separators = runCli(['init'], dir, { KUBECONFIG: path.delimiter });
    expect(separators.code).toBe(1);
    expect(separators.stderr).toMatch(/no kubeconfig at \$KUBECONFIG, which names no file[\s\S]*\$KUBECONFIG names no file\n\s+fix: pass --kubeconfig with the kubeconfig of your clusters, or set KUBECONFIG to its path/);
    const home = runCli(['init'], dir, { KUBECONFIG: '', HOME: dir });
    expect(home.code).toBe(1);
    expect(home.stderr).toMatch(/no kubeconfig at .*\.kube\/config/);
    expect(fs.existsSync(path.join(dir, 'mesh.yaml'))).toBe(false);
  });
});
