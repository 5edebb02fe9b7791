import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { credentialFor, defaultKubeconfigFiles, isLocalServer, KubeconfigError, loadKubeconfig } from '../../src/credentials/kubeconfig';
import { remoteKubeconfig } from '../../src/credentials/remote-kubeconfig';
import { REPO, thrown, tmpDir } from '../helpers';

const DIR = path.join(REPO, 'test', 'fixtures', 'kubeconfig');
const file = (name: string) => path.join(DIR, name);
const b64 = (name: string) => fs.readFileSync(file(name)).toString('base64');

function failure(files: string[], context: string): KubeconfigError {
  return thrown(() => credentialFor(loadKubeconfig(files), context), KubeconfigError);
}

describe('kubeconfig credentials', () => {
  it('reads a bearer token, the server, the CA and tls-server-name', () => {
    const config = loadKubeconfig([file('fleet.yaml')]);
    expect(credentialFor(config, 'kind-cluster1')).toEqual({
      server: 'https://172.18.0.2:6443',
      certificateAuthorityData: b64('../pki/root-cert.pem'),
      tlsServerName: undefined,
      user: { token: 'fixture-token-cluster1' },
    });
    expect(credentialFor(config, 'kind-cluster2').tlsServerName).toBe('cluster2.internal');
  });

  it('reads a client certificate and key, inline or from files relative to the kubeconfig', () => {
    const inline = credentialFor(loadKubeconfig([file('fleet.yaml')]), 'kind-cluster2');
    expect(inline.user).toEqual({ clientCertificateData: b64('files/client.crt'), clientKeyData: b64('files/client.key') });
    const fromFiles = credentialFor(loadKubeconfig([file('files.yaml')]), 'certs');
    expect(fromFiles.certificateAuthorityData).toBe(b64('files/ca.crt'));
    expect(fromFiles.user).toEqual({ clientCertificateData: b64('files/client.crt'), clientKeyData: b64('files/client.key') });
    expect(credentialFor(loadKubeconfig([file('files.yaml')]), 'tokenfile').user).toEqual({ token: 'file-token-value' });
    // As client-go: tokenFile wins over token, and an empty *-data falls back to the file.
    const both = credentialFor(loadKubeconfig([file('files.yaml')]), 'both');
    expect(both.user).toEqual({ token: 'file-token-value' });
    expect(both.certificateAuthorityData).toBe(fromFiles.certificateAuthorityData);
  });

  it('merges several files as kubectl does: the first to define a name wins, missing files are skipped', () => {
    const config = loadKubeconfig([file('missing.yaml'), file('first.yaml'), file('second.yaml')]);
    expect(config.files).toEqual([file('first.yaml'), file('second.yaml')]);
    expect(credentialFor(config, 'shared')).toMatchObject({ server: 'https://first.example.com', user: { token: 'first-token' } });
    expect(credentialFor(config, 'only-second')).toMatchObject({ server: 'https://other.example.com', user: { token: 'other-token' } });
  });

  it('reads a kubeconfig as the YAML 1.2 core schema, as the topology is read, and rejects one that is not YAML', () => {
    const dir = tmpDir();
    const kc = path.join(dir, 'config');
    // Unquoted values that YAML 1.1 or a timestamp type would turn into booleans or dates stay what the core schema says.
    fs.writeFileSync(
      kc,
      'apiVersion: v1\nclusters:\n- name: k\n  cluster: {server: "https://k.example.com", certificate-authority-data: Y2E=, insecure-skip-tls-verify: yes}\n' +
        'users:\n- name: u\n  user: {token: 2026-01-01}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n',
    );
    const config = loadKubeconfig([kc]);
    expect(config.clusters.get('k')?.value['insecure-skip-tls-verify']).toBe('yes');
    expect(credentialFor(config, 'c').user).toEqual({ token: '2026-01-01' });
    for (const bad of ['clusters: [\n', 'a: 1\na: 2\n', 'a: 1\n---\nb: 2\n']) {
      fs.writeFileSync(kc, bad);
      expect(thrown(() => loadKubeconfig([kc]), KubeconfigError).message, bad).toMatch(/is not valid YAML/);
    }
    // Where, but never the text there: it may be a token.
    fs.writeFileSync(kc, 'users:\n- name: u\n  user: {token: secret-token-value\n');
    const err = thrown(() => loadKubeconfig([kc]), KubeconfigError);
    expect(err.message).toMatch(/is not valid YAML \(line \d+\)$/);
    expect(`${err.message} ${err.fix}`).not.toContain('secret-token-value');
  });

  it('takes $KUBECONFIG as a list, else ~/.kube/config', () => {
    expect(defaultKubeconfigFiles({ KUBECONFIG: `/a${path.delimiter}/b` })).toEqual(['/a', '/b']);
    expect(defaultKubeconfigFiles({ HOME: '/home/x' })[0]).toMatch(/\.kube\/config$/);
  });

  it('fails on an exec plugin, saying istiod cannot run it and naming reader-token', () => {
    const err = failure([file('plugins.yaml')], 'exec');
    expect(err.message).toBe(
      'user "aws" of context "exec" authenticates with an exec plugin, which runs on your machine and cannot be used by istiod in another cluster',
    );
    expect(err.fix).toMatch(/credentials\.source: reader-token/);
    expect(failure([file('plugins.yaml')], 'authprovider').message).toMatch(/an auth-provider plugin/);
  });

  it('fails on a missing context, naming the context and the files', () => {
    const err = failure([file('first.yaml'), file('second.yaml')], 'kind-nope');
    expect(err.message).toMatch(/^context "kind-nope" is not in .*first\.yaml, .*second\.yaml$/);
    expect(err.fix).toMatch(/credentials\.kubeconfig/);
  });

  it('fails on a user without a usable credential, a cluster without a CA, and a dangling context', () => {
    expect(failure([file('plugins.yaml')], 'basic').message).toMatch(/has no token or client certificate that istiod could use/);
    expect(failure([file('plugins.yaml')], 'noca').message).toMatch(/has no certificate authority/);
    expect(failure([file('plugins.yaml')], 'dangling').message).toMatch(/names cluster "nowhere", which is not in/);
  });

  it('never puts a credential in an error message', () => {
    for (const ctx of ['exec', 'authprovider', 'basic', 'noca', 'dangling', 'nope']) {
      const err = failure([file('plugins.yaml')], ctx);
      expect(`${err.message} ${err.fix}`).not.toMatch(/some-token|secret-password/);
    }
  });

  it('flags API servers on the local machine', () => {
    expect(isLocalServer('https://127.0.0.1:39999')).toBe(true);
    expect(isLocalServer('https://localhost:6443')).toBe(true);
    expect(isLocalServer('https://[::1]:6443')).toBe(true);
    expect(isLocalServer('https://172.18.0.2:6443')).toBe(false);
  });
});

describe('remote kubeconfig', () => {
  it("is istioctl create-remote-secret's kubeconfig, field by field", () => {
    const text = remoteKubeconfig('cluster1', { server: 'https://172.18.0.2:6443', certificateAuthorityData: 'Q0E=', user: { token: 'tok' } });
    // istioctl's golden (pkg/.../testdata): one cluster, context and user, all named after the cluster; no preferences.
    expect(parse(text)).toEqual({
      apiVersion: 'v1',
      clusters: [{ cluster: { 'certificate-authority-data': 'Q0E=', server: 'https://172.18.0.2:6443' }, name: 'cluster1' }],
      contexts: [{ context: { cluster: 'cluster1', user: 'cluster1' }, name: 'cluster1' }],
      'current-context': 'cluster1',
      kind: 'Config',
      users: [{ name: 'cluster1', user: { token: 'tok' } }],
    });
    expect(Object.keys(parse(text))).toEqual(['apiVersion', 'clusters', 'contexts', 'current-context', 'kind', 'users']);
  });

  it('carries tls-server-name and client certificates when the credential has them', () => {
    const text = remoteKubeconfig('c2', {
      server: 'https://s',
      certificateAuthorityData: 'Q0E=',
      tlsServerName: 'c2.internal',
      user: { clientCertificateData: 'Q0VSVA==', clientKeyData: 'S0VZ' },
    });
    const doc = parse(text);
    expect(doc.clusters[0].cluster['tls-server-name']).toBe('c2.internal');
    expect(doc.users[0].user).toEqual({ 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' });
  });
});
