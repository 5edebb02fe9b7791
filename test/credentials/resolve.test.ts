import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CredentialsError } from '../../src/errors';
import { loadTopology } from '../../src/model/load';
import { resolveMeshCredentials } from '../../src/credentials/resolve';
import { fetchReaderTokens, readerTokenClusters } from '../../src/credentials/fetch';
import { writeReaderCredential } from '../../src/credentials/token-store';
import { REPO, runCli, tmpDir, workspace, thrown } from '../helpers';

const KUBE = path.join(REPO, 'test', 'fixtures', 'kubeconfig');

/** A kubeconfig with one context, kind-cluster1, of cluster `c` and user `u` (YAML flow mappings), written into `dir`. */
function oneContextKubeconfig(dir: string, cluster: string, user: string): string {
  const file = path.join(dir, 'kubeconfig.yaml');
  const lines = ['apiVersion: v1', 'kind: Config', `clusters: [{name: c, cluster: ${cluster}}]`, `users: [{name: u, user: ${user}}]`];
  fs.writeFileSync(file, [...lines, 'contexts: [{name: kind-cluster1, context: {cluster: c, user: u}}]', 'current-context: kind-cluster1', ''].join('\n'));
  return file;
}

function topo(credentials: string, contexts: [string, string] = ['kind-cluster1', 'kind-cluster2']): string {
  return [
    'apiVersion: meshgen.dev/v1alpha1',
    'kind: Mesh',
    'metadata: {name: mesh1}',
    'spec:',
    '  istio: {version: 1.30.3}',
    '  trust: {keyStore: pki}',
    `  credentials: ${credentials}`,
    '  clusters:',
    `    - {name: cluster1, context: "${contexts[0]}", network: network1}`,
    `    - {name: cluster2, context: "${contexts[1]}", network: network2}`,
    '',
  ].join('\n');
}

function resolveIn(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), yaml);
  const mesh = loadTopology(path.join(dir, 'mesh.yaml')).meshes[0];
  return { mesh, dir, resolve: () => resolveMeshCredentials(mesh, { env }) };
}

function credentialsError(fn: () => unknown): CredentialsError {
  return thrown(fn, CredentialsError);
}

describe('resolveMeshCredentials', () => {
  it('takes static credentials from an explicit kubeconfig', () => {
    const { resolve } = resolveIn(topo(`{kubeconfig: ${path.join(KUBE, 'fleet.yaml')}}`));
    const creds = resolve();
    expect(creds.pending).toEqual([]);
    expect(creds.get('cluster1')).toMatchObject({ kind: 'static', credential: { server: 'https://172.18.0.2:6443', user: { token: 'fixture-token-cluster1' } } });
  });

  it('takes $KUBECONFIG when no kubeconfig is set, and applies a server override', () => {
    const { resolve } = resolveIn(topo('{server: "https://api.cluster.example:6443"}'), { KUBECONFIG: path.join(KUBE, 'fleet.yaml') });
    expect(resolve().get('cluster2')).toMatchObject({ kind: 'static', credential: { server: 'https://api.cluster.example:6443' } });
  });

  it('leaves defaulted kubeconfig credentials pending when the context is not found, without a path in the reason', () => {
    const { resolve } = resolveIn(topo('{}'), { KUBECONFIG: path.join(KUBE, 'first.yaml') });
    const creds = resolve();
    expect(creds.pending.map((p) => p.cluster)).toEqual(['cluster1', 'cluster2']);
    expect(creds.pending[0].reason).toBe('context "kind-cluster1" is not in the kubeconfig (1 file read)');
    expect(creds.pending[0].hint).toBeUndefined();
  });

  // One rule wherever the kubeconfig comes from: the topology's own kubeconfig lacking a context leaves it pending too, with a hint for the command line only.
  it('leaves a context an explicitly chosen kubeconfig lacks pending as well, and names the nearest context outside the reason', () => {
    const { resolve } = resolveIn(topo(`{kubeconfig: ${path.join(KUBE, 'fleet.yaml')}}`, ['kind-cluster1', 'kind-clustr2']));
    const creds = resolve();
    expect(creds.pending).toHaveLength(1);
    const p = creds.pending[0];
    expect(p.cluster).toBe('cluster2');
    expect(p.reason).toBe('context "kind-clustr2" is not in the kubeconfig that credentials.kubeconfig names (1 file read)');
    expect(p.fix).toBe('add context "kind-clustr2" to that kubeconfig, or correct the cluster\'s context');
    expect(p.hint).toMatch(/^did you mean context "kind-cluster2"\? \(a context of .*fleet\.yaml\)$/);
    expect(`${p.reason} ${p.fix}`).not.toMatch(/fleet\.yaml/);
    expect(creds.get('cluster1').kind).toBe('static');
  });

  it('fails when a kubeconfig the topology names does not exist, naming it', () => {
    const { resolve } = resolveIn(topo(`{kubeconfig: ${path.join(KUBE, 'missing.yaml')}}`));
    const err = credentialsError(resolve);
    expect(err.message).toMatch(/cluster "cluster1" credentials: kubeconfig .*missing\.yaml does not exist/);
    expect(err.message).toMatch(/fix: fix credentials\.kubeconfig/);
  });

  it('fails on an exec plugin, naming reader-token, and on an API server on the local machine', () => {
    const { resolve } = resolveIn(topo(`{kubeconfig: ${path.join(KUBE, 'plugins.yaml')}}`, ['exec', 'kind']));
    const err = credentialsError(resolve);
    expect(err.problems).toHaveLength(2);
    expect(err.message).toMatch(/cluster "cluster1" credentials: user "aws" of context "exec" authenticates with an exec plugin/);
    expect(err.message).toMatch(/fix: use credentials\.source: reader-token/);
    expect(err.message).toMatch(/cluster "cluster2" credentials: the API server https:\/\/127\.0\.0\.1:39999 is on the local machine/);
    expect(err.message).toMatch(/fix: set credentials\.server/);
    expect(err.message).not.toMatch(/some-token/);
  });

  it('uses a fetched reader token, and leaves a missing one pending', () => {
    const { mesh, resolve } = resolveIn(topo('{source: reader-token}'));
    writeReaderCredential(mesh.trust.keyStore, 'cluster2', { server: 'https://10.1.2.3:6443', certificateAuthorityData: 'Q0E=', token: 'tok' });
    const creds = resolve();
    expect(creds.get('cluster2')).toEqual({
      kind: 'static',
      credential: { server: 'https://10.1.2.3:6443', certificateAuthorityData: 'Q0E=', user: { token: 'tok' } },
    });
    expect(creds.pending).toEqual([expect.objectContaining({ cluster: 'cluster1', reason: 'its reader token has not been fetched yet' })]);
  });

  it('fails on a damaged stored token', () => {
    const { mesh, resolve } = resolveIn(topo('{source: reader-token}'));
    fs.mkdirSync(path.join(mesh.trust.keyStore, 'cluster1'), { recursive: true });
    fs.writeFileSync(path.join(mesh.trust.keyStore, 'cluster1', 'reader-credential.json'), '{"token": 1}');
    expect(() => resolve()).toThrow(/reader-credential\.json is damaged/);
  });
});

describe('credentials in the CLI', () => {
  it('exits 1 on unusable credentials before making any key', () => {
    const ws = workspace(topo(`{kubeconfig: ${path.join(KUBE, 'plugins.yaml')}}`, ['exec', 'basic']));
    fs.rmSync(path.join(ws.dir, 'pki'), { recursive: true });
    const r = runCli(['synth'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^meshgen: cannot find the API credentials of mesh "mesh1"/);
    expect(r.stderr).not.toMatch(/secret-password/);
    expect(fs.existsSync(path.join(ws.dir, 'pki'))).toBe(false);
  });

  it('validates an external source: a store and a key are needed, and only there', () => {
    const ws = workspace(topo('{source: external, secretStore: {name: vault}}'));
    let r = runCli(['validate'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.credentials\.source: cluster "cluster1" takes its credentials from an external secret store but names no key/);
    fs.writeFileSync(ws.file, topo('{source: reader-token, key: a/b}'));
    r = runCli(['validate'], ws.dir);
    expect(r.stderr).toMatch(/spec\.credentials\.key: key is only used with source: external, and the source is reader-token/);
  });

  it('rejects one mesh-level store key for every cluster, and fills {cluster} in per cluster', () => {
    const ws = workspace(topo('{source: external, secretStore: {name: vault}, key: mesh/kubeconfig}'));
    const r = runCli(['validate'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.credentials\.key: clusters "cluster1" and "cluster2" read the same key "mesh\/kubeconfig"/);
    expect(r.stderr).toMatch(/put \{cluster\} in the key/);
    fs.writeFileSync(ws.file, topo('{source: external, secretStore: {name: vault}, key: "mesh/{cluster}/kubeconfig"}'));
    expect(runCli(['validate'], ws.dir).code).toBe(0);
    const mesh = loadTopology(ws.file).meshes[0];
    expect(mesh.clusters.map((c) => c.credentials.external?.key)).toEqual(['mesh/cluster1/kubeconfig', 'mesh/cluster2/kubeconfig']);
  });

  it('fails `credentials fetch` for a cluster that is not a reader-token cluster', () => {
    const ws = workspace(topo('{source: reader-token}'));
    const r = runCli(['credentials', 'fetch', '--cluster', 'cluster9'], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not clusters with credentials\.source: reader-token: cluster9/);
  });

  it('gives up on an API server that accepts and never answers, reports it, and exits', async () => {
    // The kernel accepts the connection from the listen backlog; nothing ever answers the TLS hello.
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const ws = workspace(topo('{source: reader-token}'));
      const kubeconfig = oneContextKubeconfig(ws.dir, `{server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}`, '{token: not-a-real-token}');
      const started = Date.now();
      const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'meshgen'), 'credentials', 'fetch', '--cluster', 'cluster1', '--timeout', '1'], {
        cwd: ws.dir,
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: kubeconfig },
        timeout: 30_000,
      });
      expect(r.signal, 'the process hung until killed').toBeNull();
      expect(r.status).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(r.stderr).toMatch(/cannot reach the API server of context "kind-cluster1" at https:\/\/127\.0\.0\.1:\d+ \(ETIMEDOUT\)/);
      expect(r.stderr).not.toMatch(/not-a-real-token/);
    } finally {
      server.close();
    }
  });
});

describe('credentials fetch with a tokenFile user', () => {
  it('sends the token from the file, as kubectl would', async () => {
    let authorization: string | undefined;
    const server = http.createServer((req, res) => {
      authorization = req.headers.authorization;
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const ws = workspace(topo('{source: reader-token}'));
      fs.writeFileSync(path.join(ws.dir, 'token.txt'), 'token-from-file\n');
      const kubeconfig = oneContextKubeconfig(ws.dir, `{server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}`, '{tokenFile: token.txt, token: inline-token}');
      const outcomes = await fetchReaderTokens(loadTopology([ws.file]), { clusters: ['cluster1'], env: { KUBECONFIG: kubeconfig }, timeoutMs: 5000 });
      expect(outcomes.map((o) => o.status), JSON.stringify(outcomes)).toEqual(['failed']);
      expect(JSON.stringify(outcomes)).toMatch(/does not exist on the cluster/);
      expect(authorization).toBe('Bearer token-from-file');
    } finally {
      server.close();
    }
  });
});

describe('credentials fetch keeps tls-server-name', () => {
  it('stores it with the token, and the remote secret synth writes checks the certificate by it', async () => {
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 'x' }, data: { token: b64('reader-token-1'), 'ca.crt': b64('CA PEM') } }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const ws = workspace(topo('{source: reader-token, server: "https://cluster1.example:6443"}'));
      const kubeconfig = oneContextKubeconfig(ws.dir, `{server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true, tls-server-name: api.cluster1.internal}`, '{token: t}');
      const outcomes = await fetchReaderTokens(loadTopology([ws.file]), { clusters: ['cluster1'], env: { KUBECONFIG: kubeconfig }, timeoutMs: 5000 });
      expect(outcomes.map((o) => o.status), JSON.stringify(outcomes)).toEqual(['new']);
      const stored = JSON.parse(fs.readFileSync(path.join(ws.dir, 'pki', 'cluster1', 'reader-credential.json'), 'utf8'));
      expect(stored.tlsServerName).toBe('api.cluster1.internal');
      const creds = resolveMeshCredentials(loadTopology([ws.file]).meshes[0], { env: { KUBECONFIG: kubeconfig } });
      const c1 = creds.get('cluster1');
      expect(c1.kind === 'static' ? c1.credential.tlsServerName : c1.kind).toBe('api.cluster1.internal');
      // Fetching again changes nothing; a damaged file is replaced by what the cluster holds, not an error that stops the fetch.
      const again = () => fetchReaderTokens(loadTopology([ws.file]), { clusters: ['cluster1'], env: { KUBECONFIG: kubeconfig }, timeoutMs: 5000 });
      expect((await again()).map((o) => o.status)).toEqual(['unchanged']);
      fs.writeFileSync(path.join(ws.dir, 'pki', 'cluster1', 'reader-credential.json'), '{"server": 1');
      expect((await again()).map((o) => o.status)).toEqual(['updated']);
      expect(JSON.parse(fs.readFileSync(path.join(ws.dir, 'pki', 'cluster1', 'reader-credential.json'), 'utf8')).token).toBe('reader-token-1');
    } finally {
      server.close();
    }
  });
});

describe('which clusters credentials fetch reads', () => {
  it('only those that get the reader token Secret: a primary that no istiod reads is left out', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'topologies', 'primary-remote-multi-network.yaml'), 'utf8').replace('  clusters:\n', '  credentials: {source: reader-token}\n  clusters:\n'),
    );
    const topology = loadTopology([file]);
    expect(readerTokenClusters(topology).map((c) => c.cluster.name)).toEqual(['cluster2']);
    expect(readerTokenClusters(topology, ['cluster1'])).toEqual([]);
  });
});

describe('credentials fetch error paths', () => {
  /** A fake API server answering every request with `status` and `body`; returns its port and a close function. */
  async function apiServer(status: number, body: unknown): Promise<{ port: number; close: () => void }> {
    const server = http.createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
  }

  async function fetchAgainst(user: string, port: number, timeoutMs = 5000) {
    const ws = workspace(topo('{source: reader-token}'));
    const kubeconfig = oneContextKubeconfig(ws.dir, `{server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}`, user);
    const outcomes = await fetchReaderTokens(loadTopology([ws.file]), { clusters: ['cluster1'], env: { KUBECONFIG: kubeconfig }, timeoutMs });
    return { ws, outcomes };
  }

  for (const status of [401, 403]) {
    it(`says the API server refused (HTTP ${status}), stores nothing, and prints no token`, async () => {
      const api = await apiServer(status, { kind: 'Status', status: 'Failure', message: 'secret-looking body token-in-body', code: status });
      try {
        const { ws, outcomes } = await fetchAgainst('{token: user-token-abc}', api.port);
        expect(outcomes).toHaveLength(1);
        const o = outcomes[0];
        expect(o.status).toBe('failed');
        if (o.status !== 'failed') return;
        expect(o.problem.message).toBe(`the API server of context "kind-cluster1" refused to read the token Secret (HTTP ${status})`);
        expect(o.problem.fix).toBe('use a context that may read Secrets in istio-system');
        expect(JSON.stringify(outcomes)).not.toMatch(/user-token-abc|token-in-body/);
        expect(fs.existsSync(path.join(ws.dir, 'pki', 'cluster1', 'reader-credential.json'))).toBe(false);
      } finally {
        api.close();
      }
    });
  }

  it('says the token Secret has no ca.crt yet, and stores nothing', async () => {
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const api = await apiServer(200, { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'x' }, data: { token: b64('reader-token-1') } });
    try {
      const { ws, outcomes } = await fetchAgainst('{token: t}', api.port);
      const o = outcomes[0];
      expect(o.status).toBe('failed');
      if (o.status !== 'failed') return;
      expect(o.problem.message).toMatch(/has no ca\.crt yet: Kubernetes' token controller has not filled it in/);
      expect(JSON.stringify(outcomes)).not.toMatch(/reader-token-1/);
      expect(fs.existsSync(path.join(ws.dir, 'pki', 'cluster1', 'reader-credential.json'))).toBe(false);
    } finally {
      api.close();
    }
  });

  it('says an exec credential plugin that does not finish in time is the likely cause, within the time limit', async () => {
    // A server that accepts the connection and never answers, behind a user whose exec plugin is slow.
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const { outcomes } = await fetchAgainst(
        `{exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, args: ["-c", "printf '%s' '{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"exec-token-xyz\\"}}'"], interactiveMode: Never}}`,
        port,
        1500,
      );
      expect(Date.now() - started).toBeLessThan(30_000);
      const o = outcomes[0];
      expect(o.status).toBe('failed');
      if (o.status !== 'failed') return;
      expect(o.problem.message).toMatch(/^no answer for context "kind-cluster1" within the time limit: its exec credential plugin did not finish, or the API server at http:\/\/127\.0\.0\.1:\d+ did not answer$/);
      expect(o.problem.fix).toMatch(/run the plugin of that kubeconfig user by hand/);
      expect(JSON.stringify(outcomes)).not.toMatch(/exec-token-xyz/);
    } finally {
      server.close();
    }
  });
});
