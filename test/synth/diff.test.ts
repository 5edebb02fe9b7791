/**
 * diff masks what holds secrets, by kind and field, and nothing else:
 * READMEs, kustomizations and markers diff as text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../../src/synth/diff';
import { REPO, runCli, workspace } from '../helpers';

describe('meshgen diff after a version change', () => {
  it('shows README and kustomization changes as text, and Secret values only as fingerprints', () => {
    const ws = workspace();
    expect(runCli(['synth', '-q'], ws.dir).code).toBe(0);
    fs.writeFileSync(ws.file, fs.readFileSync(ws.file, 'utf8').replace('version: 1.30.3', 'version: 1.30.2'));
    const r = runCli(['diff'], ws.dir);
    expect(r.code).toBe(1);
    const readme = r.stdout.split(/^(?=Index: )|^(?====)/m).find((p) => p.includes('+++ b/cluster1/README.md'));
    expect(readme, 'a patch of cluster1/README.md').toBeDefined();
    expect(readme).not.toMatch(/<secret, sha256/);
    expect(readme).toMatch(/^-.*1\.30\.3/m);
    expect(readme).toMatch(/^\+.*1\.30\.2/m);
    expect(r.stdout).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|BEGIN CERTIFICATE/);
    // The cacerts Secret did not change (same keys), so it is not shown; the stored keys never reach the diff.
    const key = fs.readFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem'), 'utf8').split('\n')[1];
    expect(key.length).toBeGreaterThan(20);
    expect(r.stdout).not.toContain(key);
  });
});

describe('maskSecrets', () => {
  const secret = ['apiVersion: v1', 'kind: Secret', 'metadata: {name: s}', 'stringData:', '  token: abc123', ''].join('\n');

  it('masks the data and stringData values of Secrets, and keeps their names', () => {
    const masked = maskSecrets(secret, 'cluster1/secret.yaml');
    expect(masked).not.toContain('abc123');
    expect(masked).toMatch(/token: <secret, sha256 [0-9a-f]{12}>/);
    expect(masked).toMatch(/name: s/);
  });

  it('shows non-Secret YAML, READMEs and kustomizations as they are', () => {
    const cm = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: c}', 'data: {token: visible}', ''].join('\n');
    expect(maskSecrets(cm, 'c/configmap.yaml')).toBe(cm);
    const readme = '# cluster1\n| file | what |\n| --- | --- |\n| `secret.istio-system.cacerts.yaml` | Secret `cacerts` |\ntoken: see below\n';
    expect(maskSecrets(readme, 'cluster1/README.md')).toBe(readme);
    const kustomization = 'resources:\n  - secret.istio-system.cacerts.yaml\n';
    expect(maskSecrets(kustomization, 'cluster1/kustomization.yaml')).toBe(kustomization);
  });

  it('masks a Secret whose kind is spelled with an escape, and a private key block in YAML that is not a Secret', () => {
    const escaped = secret.replace('kind: Secret', 'kind: "S\\u0065cret"');
    expect(escaped).not.toContain('Secret');
    expect(maskSecrets(escaped, 'c/secret.yaml')).not.toContain('abc123');
    const pem = fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'pki', 'root-key.pem'), 'utf8');
    const cm = `kind: ConfigMap\ndata:\n  key: |\n${pem.trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}\n`;
    const masked = maskSecrets(cm, 'c/cm.yaml');
    expect(masked).not.toContain(pem.split('\n')[1]);
    expect(masked).toMatch(/key: \|\n    <secret, sha256 [0-9a-f]{12}>\n$/);
  });

  it('masks a private key block even in a file that is not YAML', () => {
    const pem = fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'pki', 'root-key.pem'), 'utf8');
    const masked = maskSecrets(`notes\n${pem}end\n`, 'cluster1/NOTES.md');
    expect(masked).toMatch(/^notes\n<secret, sha256 [0-9a-f]{12}>\nend\n$/);
  });

  it('shows a YAML file that does not parse only by fingerprint when it could hold a secret, else as it is', () => {
    const broken = 'kind: Secret\ndata:\n  key: [unclosed\n';
    expect(maskSecrets(broken, 'x/secret.yaml')).toMatch(/^<secret, sha256 [0-9a-f]{12}>\n$/);
    const harmless = 'kind: ConfigMap\ndata:\n  key: [unclosed\n';
    expect(maskSecrets(harmless, 'x/cm.yaml')).toBe(harmless);
  });
});
