/**
 * Applies what meshgen writes to real Kubernetes API servers (v1.20, with
 * Istio 1.30.3's CRDs and the upstream CRDs of the other projects whose
 * objects meshgen writes), one per cluster, with the README's own commands.
 * The CEL rules of those CRDs, which 1.20 cannot run, are checked by
 * test/validators.
 * The servers come from the kube-apiserver kit (test/helpers/api-server.ts).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadTopology } from '../../src/model/load';
import { synthesize } from '../../src/synth/synthesize';
import { FIXTURE_TOPOLOGIES, fixedKeyStore, meshYaml, runCli, tmpDir, TWO_CLUSTERS, walk, workspace } from '../helpers';
import { ApiServer, startApiServer, stopApiServers } from '../helpers/api-server';
import { controllerKey, unseal } from '../helpers/sealed';
import { ageKeygen, sopsDecrypt } from '../helpers/sops';
import { forApiServer120, readCrds, upstreamCrdFiles } from '../validators/crds';

// Each test here waits on real API servers and kubectl; on a loaded machine one took over the suite's 60 s.
// They finish or fail on their own, so the limit only guards against a hang.
vi.setConfig({ testTimeout: 300_000 });

const FLEET_KUBECONFIG = path.join(FIXTURE_TOPOLOGIES, '..', 'kubeconfig', 'fleet.yaml');

const run = promisify(execFile);
const CLUSTERS = ['cluster1', 'cluster2'];

/**
 * The upstream CRDs of Flux, Argo CD, cert-manager, external-secrets, Sail and Sealed Secrets
 * (test/fixtures/crds/upstream), less what a 1.20 server cannot read, as one List to create.
 */
function upstreamCrdList(): string {
  const file = path.join(tmpDir(), 'upstream-crds.json');
  const items = upstreamCrdFiles().flatMap(readCrds).map(forApiServer120);
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  return file;
}

type Server = ApiServer;

const servers = new Map<string, Server>();
let out: string;

/** Runs kubectl: its exit code, and stderr on success too, where warnings go. */
async function kubectlFull(server: Server, args: string[], cwd?: string) {
  try {
    const r = await run('kubectl', args, { cwd, env: { ...process.env, KUBECONFIG: server.kubeconfig } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The README's command matching `pattern`, with the --context flag dropped (the kubeconfig points at the test server); `cluster` is a folder of `out`, or a folder path. */
function readmeCommand(cluster: string, pattern: RegExp): string[] {
  const readme = fs.readFileSync(path.join(path.isAbsolute(cluster) ? cluster : path.join(out, cluster), 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => pattern.test(l));
  if (!line) throw new Error(`no command matching ${pattern} in ${cluster}/README.md`);
  return line.trim().split(/\s+/).slice(1).filter((a) => !a.startsWith('--context='));
}

beforeAll(async () => {
  const crds = upstreamCrdList();
  // One after the other: four servers starting at once (this file's and status.test.ts's) overload a busy 2-core machine.
  for (const cluster of CLUSTERS) {
    const server = await startApiServer(cluster);
    servers.set(cluster, server);
    // ExternalSecrets, cert-manager Certificates, SealedSecrets and the GitOps engines' objects need those
    // projects' CRDs. `create`, not `apply`: apply would keep a copy of each CRD in an annotation, and the
    // Argo CD and Sail CRDs are larger than the 256 KiB annotations may hold.
    const env = { ...process.env, KUBECONFIG: server.kubeconfig };
    await run('kubectl', ['create', '-f', crds], { env });
    await run('kubectl', ['wait', '--for', 'condition=Established', 'crd', '--all'], { env });
  }
  const ws = workspace();
  const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
  if (r.code !== 0) throw new Error(`synth failed: ${r.stderr}`);
  out = ws.out;
  // Only against a hang: two servers, one after the other, each started again once if start.sh gives up under load.
}, 480_000);

afterAll(() => stopApiServers(servers.values()));

describe.each(CLUSTERS)('kubectl against a real API server: %s', (cluster) => {
  it('applies the README steps in order, then kubectl apply -k, without warnings', async () => {
    const server = servers.get(cluster)!;
    const dir = path.join(out, cluster);

    const pre = await kubectlFull(server, readmeCommand(cluster, /kubectl --context=\S+ apply -f /), dir);
    expect(pre.stderr).toBe('');
    expect(pre.code).toBe(0);
    expect(pre.stdout).toBe('namespace/istio-system created\nsecret/cacerts created\n');

    const all = await kubectlFull(server, readmeCommand(cluster, /kubectl --context=\S+ apply -k \./), dir);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(
      'namespace/istio-system unchanged\nsecret/cacerts unchanged\ngateway.networking.istio.io/cross-network-gateway created\n',
    );

    const again = await kubectlFull(server, ['apply', '-k', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^(\S+ unchanged\n){3}$/);
  });

  it('stores the objects exactly as written', async () => {
    const server = servers.get(cluster)!;
    const network = cluster.replace('cluster', 'network');
    const ns = JSON.parse((await kubectlFull(server, ['get', 'namespace', 'istio-system', '-o', 'json'])).stdout);
    expect(ns.metadata.labels['topology.istio.io/network']).toBe(network);

    const written = parseAllDocuments(fs.readFileSync(path.join(out, cluster, 'gateway.istio-system.cross-network-gateway.yaml'), 'utf8'))[0].toJS();
    const gw = JSON.parse((await kubectlFull(server, ['-n', 'istio-system', 'get', 'gateways.networking.istio.io', 'cross-network-gateway', '-o', 'json'])).stdout);
    expect(gw.apiVersion).toBe('networking.istio.io/v1');
    expect(gw.spec).toEqual(written.spec);

    const secret = JSON.parse((await kubectlFull(server, ['-n', 'istio-system', 'get', 'secret', 'cacerts', '-o', 'json'])).stdout);
    const writtenSecret = parseAllDocuments(fs.readFileSync(path.join(out, cluster, 'secret.istio-system.cacerts.yaml'), 'utf8'))[0].toJS();
    expect(secret.type).toBe('Opaque');
    expect(secret.data).toEqual(writtenSecret.data);
  });

  it('rejects a broken Gateway, so the check above can fail', async () => {
    const server = servers.get(cluster)!;
    const broken = path.join(tmpDir(), 'broken.yaml');
    const text = fs.readFileSync(path.join(out, cluster, 'gateway.istio-system.cross-network-gateway.yaml'), 'utf8');
    fs.writeFileSync(broken, text.replace('mode: AUTO_PASSTHROUGH', 'mode: AUTO_UNDERSCORE_PASSTHROUGH'));
    const r = await kubectlFull(server, ['apply', '--dry-run=server', '-f', broken]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unsupported value: "AUTO_UNDERSCORE_PASSTHROUGH"/);
  });
});

describe('encrypted output against a real API server', () => {
  const clusters = (extra: string) => meshYaml({ clusters: TWO_CLUSTERS, extra });

  it('applies SealedSecrets with kubectl apply -k, and the README waits for the unsealed cacerts before istiod', async () => {
    const ws = workspace(clusters(`  secrets: {encryption: sealed-secrets, sealedSecrets: {cert: "sealed/{cluster}.pem"}}\n`));
    const key = controllerKey(path.join(ws.dir, 'sealed'), 'cluster1');
    controllerKey(path.join(ws.dir, 'sealed'), 'cluster2');
    await synthesize(loadTopology(ws.file), { outdir: ws.out, env: { KUBECONFIG: FLEET_KUBECONFIG } });
    const server = servers.get('cluster2')!;
    const dir = path.join(ws.out, 'cluster1');
    const pre = await kubectlFull(server, readmeCommand(dir, /kubectl --context=\S+ apply -f /), dir);
    expect(pre.stderr).toBe('');
    expect(pre.stdout).toMatch(/sealedsecret\.bitnami\.com\/cacerts (created|configured|unchanged)\n$/);
    // The controller's part, done here: unseal into the Secret and report Synced, as it does.
    const sealed = parse(fs.readFileSync(path.join(dir, 'sealedsecret.istio-system.cacerts.yaml'), 'utf8'));
    const data = Object.fromEntries(Object.entries(unseal(sealed, key.keyPem)).map(([k, v]) => [k, v.toString('base64')]));
    const secret = path.join(tmpDir(), 'cacerts.json');
    fs.writeFileSync(secret, JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' }, type: 'Opaque', data }));
    expect((await kubectlFull(server, ['apply', '-f', secret])).code).toBe(0);
    const status = JSON.stringify({ status: { conditions: [{ type: 'Synced', status: 'True' }], observedGeneration: 1 } });
    const patched = await kubectlFull(server, ['-n', 'istio-system', 'patch', 'sealedsecret', 'cacerts', '--subresource=status', '--type=merge', '-p', status]);
    expect(patched.code, patched.stderr).toBe(0);
    const wait = await kubectlFull(server, readmeCommand(dir, /kubectl --context=\S+ -n istio-system wait --for=condition=Synced/), dir);
    expect(wait.code, wait.stderr).toBe(0);
    expect(wait.stdout).toBe('sealedsecret.bitnami.com/cacerts condition met\n');

    const all = await kubectlFull(server, ['apply', '-k', dir]);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/sealedsecret\.bitnami\.com\/istio-remote-secret-cluster2 created/);
    const stored = JSON.parse((await kubectlFull(server, ['-n', 'istio-system', 'get', 'sealedsecret', 'istio-remote-secret-cluster2', '-o', 'json'])).stdout);
    const written = parse(fs.readFileSync(path.join(dir, 'sealedsecret.istio-system.istio-remote-secret-cluster2.yaml'), 'utf8'));
    expect(stored.spec).toEqual(written.spec);
  });

  it('applies SOPS files the way the README says, decrypted on the way, and kubectl apply -k never sees them', async () => {
    const who = ageKeygen();
    const ws = workspace(clusters(`  secrets: {encryption: sops, sops: {age: [${who.recipient}]}}\n`));
    await synthesize(loadTopology(ws.file), { outdir: ws.out, env: { KUBECONFIG: FLEET_KUBECONFIG } });
    const server = servers.get('cluster2')!;
    const dir = path.join(ws.out, 'cluster1');
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    const steps = [...readme.matchAll(/^ {3}sops --decrypt (\S+) \| kubectl --context=\S+ apply -f -$/gm)].map((m) => m[1]);
    expect(steps).toEqual(['secrets/secret.istio-system.cacerts.yaml', 'secrets/secret.istio-system.istio-remote-secret-cluster2.yaml']);
    for (const file of steps) {
      // `sops --decrypt`, done by the reference decryptor (Go age for the data key, the MAC checked).
      const plain = path.join(tmpDir(), 'secret.json');
      fs.writeFileSync(plain, JSON.stringify(sopsDecrypt(fs.readFileSync(path.join(dir, file), 'utf8'), who.identity)));
      const r = await kubectlFull(server, ['apply', '-f', plain]);
      expect(r.stderr, file).toBe('');
      expect(r.code, file).toBe(0);
    }
    const stored = JSON.parse((await kubectlFull(server, ['-n', 'istio-system', 'get', 'secret', 'cacerts', '-o', 'json'])).stdout);
    expect(Buffer.from(stored.data['ca-key.pem'], 'base64').toString()).toBe(fs.readFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem'), 'utf8'));
    const all = await kubectlFull(server, ['apply', '-k', dir]);
    expect(all.stderr).toBe('');
    expect(all.stdout).not.toMatch(/secret\/cacerts|istio-remote-secret/);
  });
});

describe('every documented topology and the mixed fleet against a real API server', () => {
  const fixtures = fs.readdirSync(FIXTURE_TOPOLOGIES).filter((f) => f.endsWith('.yaml')).sort();

  /** One cluster folder of one fixture: what kustomize said of each folder, and the objects sent to the server. */
  interface Built {
    cluster: string;
    folders: { folder: string; code: number; stderr: string }[];
    /** The file of every object built (and the parent Application), sent in the server's one dry run. */
    file: string;
    /** `kind.group/name` of each object, as kubectl names it, in the file's order. */
    names: string[];
    parent: boolean;
  }
  const built = new Map<string, Built[]>();
  /** Per server, the one dry run over the files of every fixture it was given. */
  const dryRuns = new Map<Server, { code: number; stdout: string[]; stderr: string; files: string[] }>();

  /** How `kubectl apply` names an object in its output: lower-case kind, dot group, slash name. */
  function kubectlName(doc: { apiVersion: string; kind: string; metadata: { name: string } }): string {
    const group = doc.apiVersion.includes('/') ? `.${doc.apiVersion.split('/')[0]}` : '';
    return `${doc.kind.toLowerCase()}${group}/${doc.metadata.name}`;
  }

  async function build(fixture: string): Promise<Built[]> {
    const dir = tmpDir();
    fs.copyFileSync(path.join(FIXTURE_TOPOLOGIES, fixture), path.join(dir, fixture));
    const fixtureOut = path.join(dir, 'dist');
    await synthesize(loadTopology(path.join(dir, fixture)), { outdir: fixtureOut, keyStore: fixedKeyStore() });
    const result: Built[] = [];
    for (const cluster of fs.readdirSync(fixtureOut).sort()) {
      // The cluster folder and every sub-folder an engine applies on its own, each built by kustomize as `apply -k` builds it.
      const folders = walk(path.join(fixtureOut, cluster))
        .filter((f) => f.endsWith('kustomization.yaml'))
        .map((f) => path.join(fixtureOut, cluster, path.dirname(f)));
      const texts: string[] = [];
      const outcomes: Built['folders'] = [];
      for (const folder of folders) {
        const r = await kubectlFull([...servers.values()][0], ['kustomize', folder]);
        outcomes.push({ folder, code: r.code, stderr: r.stderr });
        texts.push(r.stdout ?? '');
      }
      // The parent Application that an Argo CD folder is applied through.
      const parentFile = path.join(fixtureOut, cluster, 'argocd-app-of-apps.yaml');
      const parent = fs.existsSync(parentFile);
      if (parent) texts.push(fs.readFileSync(parentFile, 'utf8'));
      const file = path.join(dir, `${cluster}.yaml`);
      fs.writeFileSync(file, texts.map((t) => t.replace(/^---\n/, '')).join('---\n'));
      const names = parseAllDocuments(fs.readFileSync(file, 'utf8'))
        .filter((d) => d.contents !== null)
        .map((d) => kubectlName(d.toJS()));
      result.push({ cluster, folders: outcomes, file, names, parent });
    }
    return result;
  }

  // A dry run cannot create namespaces for the objects in them; exporting-side ServiceEntries live
  // in the exported services' namespaces, which the user's apps own. Made once, on both servers.
  // Then every fixture is built, and each server takes the fixtures it was given in one dry run:
  // each kubectl call against a server downloads and parses its whole OpenAPI document (megabytes
  // with the Argo CD and Sail CRDs), which one call per cluster paid again and again. Dry runs
  // persist nothing, so objects of the same name in two fixtures do not meet.
  beforeAll(async () => {
    for (const server of servers.values()) {
      for (const ns of ['istio-system', 'sample', 'demo', 'payments', 'shop', 'flux-system', 'argocd']) {
        await kubectlFull(server, ['create', 'namespace', ns, '--save-config']);
      }
    }
    // Three fixtures at a time: kustomize is a process per folder, two hundred in all.
    const queue = [...fixtures];
    await Promise.all(
      [1, 2, 3].map(async () => {
        for (let fixture = queue.shift(); fixture; fixture = queue.shift()) built.set(fixture, await build(fixture));
      }),
    );
    const list = [...servers.values()];
    await Promise.all(
      list.map(async (server, s) => {
        const files = fixtures.filter((_, i) => i % list.length === s).flatMap((f) => built.get(f)!.map((b) => b.file));
        const r = await kubectlFull(server, ['apply', '--dry-run=server', ...files.flatMap((f) => ['-f', f])]);
        dryRuns.set(server, { code: r.code, stdout: (r.stdout ?? '').split('\n').filter(Boolean), stderr: r.stderr ?? '', files });
      }),
    );
  }, 600_000);

  it.for(fixtures.map((f, i) => [f, i] as const))('%s: every folder builds with kustomize, and kubectl apply --dry-run=server takes every object of each cluster without warnings', ([fixture, i]) => {
    const list = [...servers.values()];
    const dryRun = dryRuns.get(list[i % list.length])!;
    const all = [...built.values()].flat();
    const mine = built.get(fixture)!;
    // What the server said: an error names the file it comes from; a line naming no file (a warning) counts for every fixture.
    const named = (line: string, b: Built) => line.includes(`"${b.file}"`);
    const said = dryRun.stderr.split('\n').filter((l) => l && (mine.some((b) => named(l, b)) || !all.some((b) => named(l, b))));
    expect(said.join('\n'), fixture).toBe('');
    // A dry run that failed said why, naming a file of one of its fixtures.
    if (dryRun.code !== 0) expect(all.some((b) => dryRun.stderr.includes(`"${b.file}"`)), `${fixture}: ${dryRun.stderr}`).toBe(true);
    // The output has one line per object taken, in the order of the files and their objects: each object's line is
    // looked for in turn, so that an object refused in another fixture does not shift this one's lines.
    let at = 0;
    for (const file of dryRun.files) {
      const b = all.find((x) => x.file === file)!;
      const lines: string[] = [];
      for (const name of b.names) {
        const m = /^(\S+) (created|unchanged|configured) \(server dry run\)$/.exec(dryRun.stdout[at] ?? '');
        if (m?.[1] === name) {
          lines.push(dryRun.stdout[at++]);
        } else if (mine.includes(b)) {
          lines.push(`missing: ${name} (the server said: ${dryRun.stdout[at] ?? 'nothing more'})`);
        }
      }
      if (!mine.includes(b)) continue;
      for (const folder of b.folders) {
        expect(folder.stderr, folder.folder).toBe('');
        expect(folder.code, folder.folder).toBe(0);
      }
      // Every object went through the server: one line each, naming it.
      const where = `${fixture} ${b.cluster}`;
      expect(lines.filter((l) => l.startsWith('missing: ')), where).toEqual([]);
      expect(lines, where).toHaveLength(b.names.length);
      if (b.parent) expect(lines.join('\n'), where).toMatch(/^application\.argoproj\.io\/\S+ created \(server dry run\)$/m);
    }
    expect(dryRun.stdout.slice(at), `${fixture}: lines of no object`).toEqual([]);
  });
});

describe('reader tokens: synth, apply, credentials fetch, synth, rotation', () => {
  /** A kubeconfig with one context per test server (c1, c2) and one that nothing answers (c3). */
  function composeKubeconfig(dir: string): string {
    const entries = CLUSTERS.map((cluster, i) => {
      const doc = parse(fs.readFileSync(servers.get(cluster)!.kubeconfig, 'utf8'));
      return { name: `c${i + 1}`, cluster: doc.clusters[0].cluster, user: doc.users[0].user };
    });
    entries.push({ name: 'c3', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true }, user: { token: 'x' } });
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: entries.map((e) => ({ name: e.name, cluster: e.cluster })),
        users: entries.map((e) => ({ name: e.name, user: e.user })),
        contexts: entries.map((e) => ({ name: e.name, context: { cluster: e.name, user: e.name } })),
      }),
      { mode: 0o600 },
    );
    return file;
  }

  function topology(dir: string): string {
    const clusters = ['c1', 'c2', 'c3']
      .map((c, i) => `    - {name: cluster${i + 1}, context: ${c}, network: network${i + 1}, credentials: {server: "https://cluster${i + 1}.mesh.test:6443"}}`)
      .join('\n');
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(
      file,
      `apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: tokens}\nspec:\n  istio: {version: 1.30.3}\n  trust: {keyStore: pki}\n` +
        `  credentials: {source: reader-token, kubeconfig: kubeconfig}\n  clusters:\n${clusters}\n`,
    );
    return file;
  }

  async function fillToken(server: Server, token: string): Promise<void> {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n').toString('base64');
    const patch = JSON.stringify({ data: { token: Buffer.from(token).toString('base64'), 'ca.crt': ca } });
    const r = await kubectlFull(server, ['-n', 'istio-system', 'patch', 'secret', 'istio-reader-service-account-istio-remote-secret-token', '--type', 'merge', '-p', patch]);
    expect(r.code, r.stderr).toBe(0);
  }

  function remoteToken(out: string, reader: string, target: string): string | undefined {
    const file = path.join(out, reader, `secret.istio-system.istio-remote-secret-${target}.yaml`);
    if (!fs.existsSync(file)) return undefined;
    const secret = parse(fs.readFileSync(file, 'utf8'));
    const kubeconfig = parse(secret.stringData[target]);
    expect(kubeconfig.clusters[0].cluster.server).toBe(`https://${target}.mesh.test:6443`);
    return kubeconfig.users[0].user.token;
  }

  it('fetches the tokens Kubernetes filled in, writes them into the remote secrets, and follows a rotation', async () => {
    const dir = tmpDir();
    composeKubeconfig(dir);
    topology(dir);
    const out = path.join(dir, 'dist');
    const s1 = servers.get('cluster1')!;
    const s2 = servers.get('cluster2')!;

    let r = runCli(['synth', '-o', out], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pending: remote secrets of cluster "cluster2" \(mesh "tokens"\): its reader token has not been fetched yet/);
    expect(fs.existsSync(path.join(out, 'cluster2', 'secret.istio-system.istio-reader-service-account-istio-remote-secret-token.yaml'))).toBe(true);
    expect(remoteToken(out, 'cluster1', 'cluster2')).toBeUndefined();

    // Only cluster1's folder is applied, and its token Secret is still empty; nothing answers for cluster3.
    expect((await kubectlFull(s1, ['apply', '-k', path.join(out, 'cluster1')])).code).toBe(0);
    r = runCli(['credentials', 'fetch'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cluster "cluster1": the token Secret istio-system\/istio-reader-service-account-istio-remote-secret-token has no token yet/);
    expect(r.stderr).toMatch(/cluster "cluster2": the token Secret .* does not exist on the cluster\n\s+fix: apply the cluster's folder first/);
    expect(r.stderr).toMatch(/cluster "cluster3": cannot reach the API server of context "c3" at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);

    // The token controller's part, done by hand: this API server runs no controllers.
    await fillToken(s1, 'token-one');
    expect((await kubectlFull(s2, ['apply', '-k', path.join(out, 'cluster2')])).code).toBe(0);
    await fillToken(s2, 'token-two');
    r = runCli(['credentials', 'fetch', '--cluster', 'cluster1', 'cluster2'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cluster1: reader token new \(mesh "tokens"\)\ncluster2: reader token new/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/token-one|token-two/);
    expect(fs.statSync(path.join(dir, 'pki', 'cluster2', 'reader-credential.json')).mode & 0o777).toBe(0o600);

    r = runCli(['synth', '-o', out], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(remoteToken(out, 'cluster1', 'cluster2')).toBe('token-two');
    expect(remoteToken(out, 'cluster2', 'cluster1')).toBe('token-one');
    expect(remoteToken(out, 'cluster1', 'cluster3')).toBeUndefined();
    const applied = await kubectlFull(s1, ['apply', '-k', path.join(out, 'cluster1')]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(/secret\/istio-remote-secret-cluster2 created/);

    // Rotation: a new token on cluster2 reaches every remote secret that carries it.
    await fillToken(s2, 'token-two-rotated');
    r = runCli(['credentials', 'fetch', '--cluster', 'cluster2'], dir);
    expect(r.stdout).toMatch(/cluster2: reader token updated/);
    expect(runCli(['synth', '-o', out], dir).code).toBe(0);
    expect(remoteToken(out, 'cluster1', 'cluster2')).toBe('token-two-rotated');
    r = runCli(['credentials', 'fetch', '--cluster', 'cluster2'], dir);
    expect(r.stdout).toMatch(/cluster2: reader token unchanged/);
  });
});
