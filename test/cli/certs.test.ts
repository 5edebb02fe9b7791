import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/model/load';
import { generatePrivateKey } from '../../src/pki/certificates';
import { ensureMeshPki } from '../../src/pki/key-store';
import { runCli, workspace } from '../helpers';

const DAY = 24 * 60 * 60 * 1000;

describe('meshgen certs status', () => {
  it('exits 0 on a fresh key store and 1 with --warn-days when an intermediate expires in 10 days', async () => {
    const fresh = workspace();
    let r = runCli(['certs', 'status', '--warn-days', '30'], fresh.dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cluster1: O=Istio, CN=Intermediate CA, L=cluster1; RSA 4096; serial \w+; 2026-01-01 → 2035-12-30 \(\d+ days left\); chain ok/);

    const old = workspace();
    // Made 3640 days ago with a 3650-day validity: 10 days left.
    const mesh = loadTopology(old.file).meshes[0];
    const store = path.join(old.dir, 'old-pki');
    await ensureMeshPki({ ...mesh, trust: { ...mesh.trust, keyStore: store } }, { now: () => new Date(Date.now() - 3640 * DAY), generateKey: () => generatePrivateKey(2048) });
    const yaml = (await import('node:fs')).readFileSync(old.file, 'utf8').replace('keyStore: pki', 'keyStore: old-pki');
    (await import('node:fs')).writeFileSync(old.file, yaml);
    r = runCli(['certs', 'status', '--warn-days', '30'], old.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/! cluster1: .*\((9|10) days left\); chain ok/);
    expect(runCli(['certs', 'status', '--warn-days', '5'], old.dir).code).toBe(0);

    const json = JSON.parse(runCli(['certs', 'status', '--json', '--warn-days', '30'], old.dir).stdout);
    expect(json.meshes[0].intermediates.map((c: { name: string; daysLeft: number }) => c.name)).toEqual(['cluster1', 'cluster2']);
    expect(json.attention).toEqual(['old-pki/root-cert.pem', 'old-pki/cluster1/ca-cert.pem', 'old-pki/cluster2/ca-cert.pem']);
    expect(JSON.stringify(json)).not.toMatch(/PRIVATE|BEGIN/);
  });

  it('reports certificates not made yet, and a chain that does not verify', () => {
    const ws = workspace();
    const fs = require('node:fs') as typeof import('node:fs');
    fs.rmSync(path.join(ws.dir, 'pki', 'cluster2'), { recursive: true });
    fs.copyFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-cert.pem'), path.join(ws.dir, 'pki', 'root-cert.pem'));
    const r = runCli(['certs', 'status'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/root: .*FAILS: root-key\.pem is not its key; not self-signed\n/);
    expect(r.stdout).toMatch(/cluster2: not made yet \(pki\/cluster2\/ca-cert\.pem\); meshgen synth makes it/);
  });
});
