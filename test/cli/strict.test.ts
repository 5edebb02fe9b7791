/**
 * One rule for credentials that are not known yet, the same in validate,
 * synth and diff: remote secrets stay pending (exit 0) and each command says
 * so; `--strict` makes it a failure, for CI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, workspace } from '../helpers';

const FLEET = path.join(REPO, 'test', 'fixtures', 'kubeconfig', 'fleet.yaml');

/** A two-cluster mesh whose kubeconfig (the topology's own) has cluster1's context but not the mistyped one of cluster2. */
function typoWorkspace() {
  const ws = workspace();
  const yaml = fs.readFileSync(ws.file, 'utf8').replace('context: kind-cluster2', 'context: kind-clustr2').replace('  clusters:', `  credentials: {kubeconfig: ${FLEET}}\n  clusters:`);
  fs.writeFileSync(ws.file, yaml);
  return ws;
}

describe('pending remote secrets', () => {
  it('validate reports them with the nearest context, exits 0, and exits 1 with --strict', () => {
    const ws = typoWorkspace();
    let r = runCli(['validate'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mesh\.yaml: valid, with the remote secrets of 1 cluster pending \(validate --strict fails on it\)\n$/);
    expect(r.stderr).toMatch(/pending: remote secrets of cluster "cluster2" \(mesh "mesh1"\): context "kind-clustr2" is not in the kubeconfig that credentials\.kubeconfig names/);
    expect(r.stderr).toMatch(/hint: did you mean context "kind-cluster2"\?/);

    r = runCli(['validate', '--strict'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 cluster would have its remote secrets pending \(--strict\)/);
    expect(r.stderr).toMatch(/mesh\.yaml.*cluster "cluster2" credentials/);
    expect(r.stderr).toMatch(/did you mean context "kind-cluster2"/);
    expect(r.stdout).toBe('');
  });

  it('synth --strict fails before writing anything, naming pending clusters and plaintext Secrets at once', () => {
    const ws = typoWorkspace();
    const r = runCli(['synth', '--strict'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/would get private keys or tokens in plaintext \(--strict\); 1 cluster would have its remote secrets pending \(--strict\)/);
    expect(r.stderr).toMatch(/spec\.secrets\.encryption/);
    expect(r.stderr).toMatch(/cluster "cluster2" credentials/);
    expect(fs.existsSync(ws.out)).toBe(false);
  });

  it('synth without --strict writes the rest and says what is pending, with the README to follow', () => {
    const ws = typoWorkspace();
    const r = runCli(['synth'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pending: remote secrets of cluster "cluster2"[^\n]*\n {4}next: add context "kind-clustr2" to that kubeconfig, or correct the cluster's context \(dist\/cluster2\/README\.md\)\n {4}hint: did you mean/);
    // The machine's hint never reaches the output.
    const readme = fs.readFileSync(path.join(ws.out, 'cluster1', 'README.md'), 'utf8');
    expect(readme).toMatch(/context "kind-clustr2" is not in the kubeconfig/);
    expect(readme).not.toMatch(/did you mean|fleet\.yaml/);
  });

  it('diff --strict exits 1 on an up-to-date output while anything is pending; diff alone exits 0', () => {
    const ws = typoWorkspace();
    expect(runCli(['synth', '-q'], ws.dir).code).toBe(0);
    let r = runCli(['diff'], ws.dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^dist is up to date\npending: remote secrets of cluster "cluster2"/);
    r = runCli(['diff', '--strict'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('a kubeconfig the topology names that does not exist is an error in validate as in synth', () => {
    const ws = workspace();
    fs.writeFileSync(ws.file, fs.readFileSync(ws.file, 'utf8').replace('  clusters:', '  credentials: {kubeconfig: kubeconfigs/missing.yaml}\n  clusters:'));
    for (const cmd of ['validate', 'synth']) {
      const r = runCli([cmd], ws.dir);
      expect(r.code, cmd).toBe(1);
      expect(r.stderr, cmd).toMatch(/kubeconfig .*kubeconfigs\/missing\.yaml does not exist/);
    }
    expect(fs.existsSync(ws.out)).toBe(false);
  });
});
