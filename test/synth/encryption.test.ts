/**
 * Output that can be committed: every Secret encrypted with SOPS or sealed
 * for Sealed Secrets, checked with decryptors meshgen does not use for
 * writing, byte-stable across runs, and with no plaintext anywhere.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decryptSops } from 'sops-age';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadTopology } from '../../src/model/load';
import { generatePrivateKey } from '../../src/pki/certificates';
import { rotateIntermediates } from '../../src/pki/rotate';
import { synthesize, SynthResult } from '../../src/synth/synthesize';
import { plaintextWarning } from '../../src/cli/synth';
import { FIXTURE_TOPOLOGIES, meshYaml, readTree, runCli, runMain, TWO_CLUSTERS, walk, workspace } from '../helpers';
import { controllerKey, ControllerKey, unseal } from '../helpers/sealed';
import { ageKeygen, sopsDecrypt, SopsDecryptError } from '../helpers/sops';

const FLEET_KUBECONFIG = path.join(FIXTURE_TOPOLOGIES, '..', 'kubeconfig', 'fleet.yaml');
const env = { KUBECONFIG: FLEET_KUBECONFIG };

/** Every YAML file of a tree, parsed, by path. */
function docsOf(dir: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const f of walk(dir).filter((p) => p.endsWith('.yaml') && !p.endsWith('kustomization.yaml'))) {
    out.set(f, parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))[0].toJS() as Record<string, unknown>);
  }
  return out;
}

/** The Secrets that hold values in a plaintext output tree, by `namespace/name` and cluster folder. */
function plaintextSecrets(dir: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const [file, doc] of docsOf(dir)) {
    const d = doc as { kind?: string; data?: object; stringData?: object; metadata?: { name: string; namespace: string } };
    if (d.kind === 'Secret' && (d.data || d.stringData)) out.set(`${file.split('/')[0]}:${d.metadata?.namespace}/${d.metadata?.name}`, doc);
  }
  return out;
}

/** Strings that must appear in no encrypted output: every Secret value, decoded and not, and the key store's keys. */
function secretStrings(plain: Map<string, Record<string, unknown>>, pki: string): string[] {
  const found = new Set<string>();
  for (const doc of plain.values()) {
    for (const field of ['data', 'stringData']) {
      for (const v of Object.values((doc[field] ?? {}) as Record<string, string>)) {
        found.add(v);
        if (field === 'data') found.add(Buffer.from(v, 'base64').toString('utf8'));
      }
    }
  }
  for (const f of walk(pki).filter((p) => p.endsWith('key.pem'))) found.add(fs.readFileSync(path.join(pki, f), 'utf8').split('\n')[1]);
  found.add('fixture-token-cluster1');
  // Long values are searched by a slice too, so a re-wrapped copy would still be found.
  return [...found].filter((s) => s.length >= 16).flatMap((s) => (s.length > 80 ? [s, s.slice(20, 80)] : [s]));
}

function kustomize(dir: string): string {
  return execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function synth(file: string, out: string): Promise<SynthResult> {
  return synthesize(loadTopology(file), { outdir: out, env });
}

describe('secrets.encryption: sops', () => {
  const alice = ageKeygen();
  const bob = ageKeygen();
  const sopsBlock = (recipients: string[]) => `  secrets:\n    encryption: sops\n    sops:\n      age: [${recipients.join(', ')}]\n`;
  let ws: ReturnType<typeof workspace>;
  let plain: Map<string, Record<string, unknown>>;
  let first: Record<string, string>;

  beforeAll(async () => {
    // The same mesh in plaintext, for the values every decrypted Secret must hold.
    const clear = workspace();
    await synth(clear.file, clear.out);
    plain = plaintextSecrets(clear.out);
    ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: sopsBlock([alice.recipient, bob.recipient]) }));
    const result = await synth(ws.file, ws.out);
    expect(result.plaintextSecrets).toEqual([]);
    first = readTree(ws.out, { modes: true });
  });

  it('writes every Secret that holds values as a SOPS file in secrets/, readable by each recipient, equal to the plaintext Secret', async () => {
    expect(plain.size).toBe(4);
    const files = walk(ws.out).filter((f) => f.includes('/secrets/'));
    expect(files).toEqual([
      'cluster1/secrets/secret.istio-system.cacerts.yaml',
      'cluster1/secrets/secret.istio-system.istio-remote-secret-cluster2.yaml',
      'cluster2/secrets/secret.istio-system.cacerts.yaml',
      'cluster2/secrets/secret.istio-system.istio-remote-secret-cluster1.yaml',
    ]);
    for (const file of files) {
      const text = fs.readFileSync(path.join(ws.out, file), 'utf8');
      const doc = parse(text) as { metadata: { name: string; namespace: string } };
      const expected = plain.get(`${file.split('/')[0]}:${doc.metadata.namespace}/${doc.metadata.name}`);
      expect(sopsDecrypt(text, alice.identity), file).toEqual(expected);
      expect(sopsDecrypt(text, bob.identity), file).toEqual(expected);
      const key = alice.identity.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) as string;
      expect(await decryptSops(text, { fileType: 'yaml', secretKey: key }), file).toEqual(expected);
      expect(fs.statSync(path.join(ws.out, file)).mode & 0o777).toBe(0o600);
    }
    // cacerts holds exactly the key store's intermediate.
    const cacerts = sopsDecrypt(fs.readFileSync(path.join(ws.out, files[0]), 'utf8'), alice.identity) as { data: Record<string, string> };
    expect(Buffer.from(cacerts.data['ca-key.pem'], 'base64').toString()).toBe(fs.readFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem'), 'utf8'));
  });

  it('holds no private key, token or their base64 in any output file', () => {
    const needles = secretStrings(plain, path.join(ws.dir, 'pki'));
    expect(needles.length).toBeGreaterThan(10);
    for (const file of walk(ws.out)) {
      const text = fs.readFileSync(path.join(ws.out, file), 'utf8');
      for (const needle of needles) expect(text.includes(needle), `${file} holds a secret value`).toBe(false);
      expect(text, file).not.toMatch(/PRIVATE KEY-----/);
    }
  });

  it('lists no SOPS file in any kustomization, and every folder builds with kubectl kustomize without ciphertext', () => {
    for (const cluster of ['cluster1', 'cluster2']) {
      const built = kustomize(path.join(ws.out, cluster));
      expect(built).not.toMatch(/ENC\[|sops:/);
      expect(built).toMatch(/kind: Namespace/);
      expect(fs.existsSync(path.join(ws.out, cluster, 'secrets', 'kustomization.yaml'))).toBe(false);
    }
  });

  it('tells in the README how to decrypt and apply each SOPS file, and runs sops from the folder the README names', () => {
    const readme = fs.readFileSync(path.join(ws.out, 'cluster1', 'README.md'), 'utf8');
    expect(readme).toContain('sops --decrypt secrets/secret.istio-system.cacerts.yaml | kubectl --context=kind-cluster1 apply -f -');
    expect(readme).toContain('sops --decrypt secrets/secret.istio-system.istio-remote-secret-cluster2.yaml | kubectl --context=kind-cluster1 apply -f -');
    expect(readme).not.toMatch(/plaintext/);
    // The cacerts step comes before istiod, the remote secret after kubectl apply -k.
    expect(readme.indexOf('secrets/secret.istio-system.cacerts.yaml |')).toBeLessThan(readme.indexOf('istioctl install --context'));
    expect(readme.indexOf('istio-remote-secret-cluster2.yaml |')).toBeGreaterThan(readme.indexOf('apply -k .'));
  });

  it('writes .sops.yaml with a creation rule per cluster folder, for the recipients used', () => {
    const config = parse(fs.readFileSync(path.join(ws.out, '.sops.yaml'), 'utf8')) as { creation_rules: { path_regex: string; encrypted_regex: string; age: string }[] };
    expect(config.creation_rules).toEqual(
      ['cluster1', 'cluster2'].map((c) => ({ path_regex: `^${c}/secrets/[^/]+\\.yaml$`, encrypted_regex: '^(data|stringData)$', age: `${alice.recipient},${bob.recipient}` })),
    );
    const rule = new RegExp(config.creation_rules[0].path_regex);
    expect(rule.test('cluster1/secrets/secret.istio-system.cacerts.yaml')).toBe(true);
    expect(rule.test('cluster1/namespace.istio-system.yaml')).toBe(false);
    expect(rule.test('cluster2/secrets/secret.istio-system.cacerts.yaml')).toBe(false);
  });

  it('writes a byte-identical tree when nothing changed, and diff reports nothing', async () => {
    await synth(ws.file, ws.out);
    expect(readTree(ws.out, { modes: true })).toEqual(first);
    const r = runCli(['diff', '-f', ws.file, '-o', ws.out], ws.dir, env);
    expect(`${r.stdout}${r.stderr}`).toBe('dist is up to date\n');
    expect(r.code).toBe(0);
  });

  it('encrypts a file anew when it was edited by hand, and keeps the others', async () => {
    const file = path.join(ws.out, 'cluster2', 'secrets', 'secret.istio-system.cacerts.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('lastmodified: "', 'lastmodified: "1'));
    await synth(ws.file, ws.out);
    const now = readTree(ws.out, { modes: true });
    const changed = Object.keys(now).filter((f) => now[f] !== first[f]);
    expect(changed).toEqual(['cluster2/secrets/secret.istio-system.cacerts.yaml']);
    expect(sopsDecrypt(fs.readFileSync(file, 'utf8'), bob.identity)).toEqual(plain.get('cluster2:istio-system/cacerts'));
    first = now;
  });

  it('changes only the rotated cluster\'s encrypted cacerts when one intermediate is rotated', async () => {
    await rotateIntermediates(loadTopology(ws.file).meshes[0], ['cluster1'], { generateKey: () => generatePrivateKey(2048) });
    await synth(ws.file, ws.out);
    const now = readTree(ws.out, { modes: true });
    const changed = Object.keys(now).filter((f) => now[f] !== first[f]);
    expect(changed).toEqual(['cluster1/secrets/secret.istio-system.cacerts.yaml']);
    const cacerts = sopsDecrypt(now[changed[0]].slice(4), alice.identity) as { data: Record<string, string> };
    expect(Buffer.from(cacerts.data['ca-key.pem'], 'base64').toString()).toBe(fs.readFileSync(path.join(ws.dir, 'pki', 'cluster1', 'ca-key.pem'), 'utf8'));
    first = now;
  });

  it('encrypts every file anew for a new recipient list, which only the listed identities open', async () => {
    const carol = ageKeygen();
    fs.writeFileSync(ws.file, meshYaml({ clusters: TWO_CLUSTERS, extra: sopsBlock([carol.recipient]) }));
    await synth(ws.file, ws.out);
    for (const f of walk(ws.out).filter((p) => p.includes('/secrets/'))) {
      const text = fs.readFileSync(path.join(ws.out, f), 'utf8');
      expect(text).not.toBe(first[f].slice(4));
      expect(sopsDecrypt(text, carol.identity)).toBeDefined();
      expect(() => sopsDecrypt(text, alice.identity)).toThrow(SopsDecryptError);
    }
    expect(fs.readFileSync(path.join(ws.out, '.sops.yaml'), 'utf8')).toContain(`age: ${carol.recipient}\n`);
  });
});

describe('secrets.encryption: sops, with Flux', () => {
  it('decrypts secrets/ with a Flux Kustomization before Istio is installed, and keeps ciphertext out of every kustomization', async () => {
    const who = ageKeygen();
    const ws = workspace(
      fs.readFileSync(path.join(FIXTURE_TOPOLOGIES, 'install-flux-two-networks.yaml'), 'utf8') +
        `  trust: {keyStore: pki}\n  secrets:\n    encryption: sops\n    sops: {age: [${who.recipient}], decryptionSecret: flux-age}\n`,
    );
    await synth(ws.file, ws.out);
    const docs = docsOf(ws.out);
    const secrets = docs.get('cluster1/kustomization.flux-system.cluster1-istio-secrets.yaml') as { spec: Record<string, unknown> };
    expect(secrets.spec).toMatchObject({ path: './dist/cluster1/secrets', decryption: { provider: 'sops', secretRef: { name: 'flux-age' } }, wait: true });
    const istio = docs.get('cluster1/kustomization.flux-system.cluster1-istio.yaml') as { spec: { dependsOn: unknown } };
    expect(istio.spec.dependsOn).toEqual([{ name: 'cluster1-istio-secrets' }]);
    for (const folder of walk(path.join(ws.out, 'cluster1')).filter((f) => f.endsWith('kustomization.yaml')).map((f) => path.dirname(f))) {
      expect(kustomize(path.join(ws.out, 'cluster1', folder))).not.toMatch(/ENC\[/);
    }
    expect(walk(path.join(ws.out, 'cluster1', 'secrets'))).toEqual(['secret.istio-system.cacerts.yaml', 'secret.istio-system.istio-remote-secret-cluster2.yaml']);
    const readme = fs.readFileSync(path.join(ws.out, 'cluster1', 'README.md'), 'utf8');
    expect(readme).toContain('kubectl --context=kind-cluster1 create secret generic flux-age --namespace=flux-system --from-file=age.agekey=/dev/stdin');
  });
});

describe('secrets.encryption: sealed-secrets', () => {
  let keys: Record<string, ControllerKey>;
  let ws: ReturnType<typeof workspace>;
  let plain: Map<string, Record<string, unknown>>;
  const sealedBlock = (scope = 'strict') => `  secrets:\n    encryption: sealed-secrets\n    sealedSecrets: {cert: "sealed/{cluster}.pem", scope: ${scope}}\n`;

  beforeAll(async () => {
    const clear = workspace();
    await synth(clear.file, clear.out);
    plain = plaintextSecrets(clear.out);
    ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: sealedBlock() }));
    keys = Object.fromEntries(['cluster1', 'cluster2'].map((c) => [c, controllerKey(path.join(ws.dir, 'sealed'), c)]));
    await synth(ws.file, ws.out);
  });

  it('writes a SealedSecret in place of every Secret that holds values, which only that cluster\'s controller unseals', () => {
    for (const cluster of ['cluster1', 'cluster2']) {
      const files = walk(path.join(ws.out, cluster)).filter((f) => f.startsWith('sealedsecret.'));
      const other = keys[cluster === 'cluster1' ? 'cluster2' : 'cluster1'];
      expect(files).toHaveLength(2);
      expect(walk(path.join(ws.out, cluster)).filter((f) => f.startsWith('secret.'))).toEqual([]);
      const kustomization = parse(fs.readFileSync(path.join(ws.out, cluster, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
      for (const file of files) {
        expect(kustomization.resources).toContain(file);
        const sealed = parse(fs.readFileSync(path.join(ws.out, cluster, file), 'utf8'));
        const expected = plain.get(`${cluster}:${sealed.metadata.namespace}/${sealed.metadata.name}`) as { data?: Record<string, string>; stringData?: Record<string, string>; type?: string; metadata: Record<string, unknown> };
        const values = unseal(sealed, keys[cluster].keyPem);
        const want = { ...Object.fromEntries(Object.entries(expected.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])), ...Object.fromEntries(Object.entries(expected.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v)])) };
        expect(values).toEqual(want);
        expect(sealed.spec.template.metadata).toEqual(expected.metadata);
        expect(sealed.spec.template.type).toBe(expected.type);
        expect(sealed.metadata).toEqual({ name: expected.metadata.name, namespace: expected.metadata.namespace });
        expect(() => unseal(sealed, other.keyPem)).toThrow();
      }
    }
  });

  it('binds a strict SealedSecret to its name: under another name it does not unseal', () => {
    const sealed = parse(fs.readFileSync(path.join(ws.out, 'cluster1', 'sealedsecret.istio-system.cacerts.yaml'), 'utf8'));
    expect(() => unseal({ ...sealed, metadata: { ...sealed.metadata, name: 'other' } }, keys.cluster1.keyPem)).toThrow();
  });

  it('holds no private key, token or their base64 in any output file', () => {
    const needles = secretStrings(plain, path.join(ws.dir, 'pki'));
    for (const file of walk(ws.out)) {
      const text = fs.readFileSync(path.join(ws.out, file), 'utf8');
      for (const needle of needles) expect(text.includes(needle), `${file} holds a secret value`).toBe(false);
    }
  });

  it('keeps every SealedSecret byte for byte when nothing changed, and reseals only the cluster whose certificate changed', async () => {
    const before = readTree(ws.out, { modes: true });
    await synth(ws.file, ws.out);
    expect(readTree(ws.out, { modes: true })).toEqual(before);
    keys.cluster2 = controllerKey(path.join(ws.dir, 'sealed'), 'cluster2');
    await synth(ws.file, ws.out);
    const now = readTree(ws.out, { modes: true });
    const changed = Object.keys(now).filter((f) => now[f] !== before[f]);
    expect(changed.sort()).toEqual(['cluster2/sealedsecret.istio-system.cacerts.yaml', 'cluster2/sealedsecret.istio-system.istio-remote-secret-cluster1.yaml']);
    expect(unseal(parse(now[changed[0]].slice(4)), keys.cluster2.keyPem)['ca-key.pem'].toString()).toContain('PRIVATE KEY');
  });

  it.each([
    ['namespace-wide', { 'sealedsecrets.bitnami.com/namespace-wide': 'true' }],
    ['cluster-wide', { 'sealedsecrets.bitnami.com/cluster-wide': 'true' }],
  ])('seals with scope %s: its annotation on the object and the template, unsealable under another name', async (scope, annotations) => {
    const w = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: sealedBlock(scope) }));
    const key = controllerKey(path.join(w.dir, 'sealed'), 'cluster1');
    fs.copyFileSync(keys.cluster2.cert, path.join(w.dir, 'sealed', 'cluster2.pem'));
    await synth(w.file, w.out);
    const sealed = parse(fs.readFileSync(path.join(w.out, 'cluster1', 'sealedsecret.istio-system.cacerts.yaml'), 'utf8'));
    expect(sealed.metadata.annotations).toEqual(annotations);
    expect(sealed.spec.template.metadata.annotations).toEqual(annotations);
    const renamed = { ...sealed, metadata: { ...sealed.metadata, name: 'renamed' } };
    expect(unseal(renamed, key.keyPem)['ca-key.pem'].toString()).toContain('PRIVATE KEY');
    expect(() => unseal(sealed, keys.cluster1.keyPem)).toThrow();
  });

  it('with Flux, applies the sealed cacerts from prereqs/ through a Kustomization that waits for the unsealed Secret', async () => {
    const w = workspace(fs.readFileSync(path.join(FIXTURE_TOPOLOGIES, 'install-flux-two-networks.yaml'), 'utf8') + `  trust: {keyStore: pki}\n${sealedBlock()}`);
    for (const c of ['cluster1', 'cluster2']) fs.mkdirSync(path.join(w.dir, 'sealed'), { recursive: true }), fs.copyFileSync(keys[c].cert, path.join(w.dir, 'sealed', `${c}.pem`));
    await synth(w.file, w.out);
    const docs = docsOf(w.out);
    expect(docs.get('cluster1/prereqs/sealedsecret.istio-system.cacerts.yaml')).toMatchObject({ kind: 'SealedSecret' });
    expect((docs.get('cluster1/kustomization.flux-system.cluster1-istio-ca.yaml') as { spec: unknown }).spec).toMatchObject({
      path: './dist/cluster1/prereqs',
      healthChecks: [{ apiVersion: 'v1', kind: 'Secret', name: 'cacerts', namespace: 'istio-system' }],
    });
    expect((docs.get('cluster1/kustomization.flux-system.cluster1-istio.yaml') as { spec: unknown }).spec).toMatchObject({ dependsOn: [{ name: 'cluster1-istio-ca' }] });
  });
});

describe('secrets that stay plaintext', () => {
  it('warns once on stderr, naming the files with keys or tokens and how to encrypt them', () => {
    const ws = workspace();
    const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir, env);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('4 files in 2 cluster folders hold private keys or tokens in plaintext');
    expect(warnings[0]).toContain('dist/cluster1/secret.istio-system.cacerts.yaml');
    expect(warnings[0]).toContain('dist/cluster2/secret.istio-system.istio-remote-secret-cluster1.yaml');
    expect(r.stderr).toMatch(/fix: set spec\.secrets\.encryption: sops/);
  });

  it('fails with --strict and writes nothing', () => {
    const ws = workspace();
    const r = runCli(['synth', '--strict', '-f', ws.file, '-o', ws.out], ws.dir, env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mesh\.yaml: spec\.secrets\.encryption: mesh "mesh1" writes the Secrets of "cluster1", "cluster2" in plaintext/);
    expect(fs.existsSync(ws.out)).toBe(false);
  });
});

describe('the plaintext warning of a large fleet', () => {
  it('names the first files and counts the rest, on two lines', () => {
    const files = Array.from({ length: 12 }, (_, i) => `c${i}/secret.istio-system.cacerts.yaml`);
    const text = plaintextWarning({ outdir: path.resolve('dist'), plaintextSecrets: files } as unknown as SynthResult) as string;
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toMatch(/^warning: 12 files in 12 cluster folders hold private keys or tokens in plaintext, so never commit them: dist\/c0\/[^,]+, (dist\/c\d\/[^,]+, ){3}dist\/c4\/secret\.istio-system\.cacerts\.yaml, and 7 more \(each folder's README lists its own\)\n/);
  });
});

describe('the output root\'s .sops.yaml', () => {
  it('is never replaced when meshgen did not write it, and nothing is written then', async () => {
    const who = ageKeygen();
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: `  secrets: {encryption: sops, sops: {age: [${who.recipient}]}}\n` }));
    fs.mkdirSync(ws.out);
    fs.writeFileSync(path.join(ws.out, '.sops.yaml'), 'creation_rules: [{age: age1mine}]\n');
    const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dist\/\.sops\.yaml: holds creation rules of your own/);
    expect(walk(ws.out)).toEqual(['.sops.yaml']);
  });

  it('is removed when no folder is encrypted with SOPS any more', async () => {
    const who = ageKeygen();
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: `  secrets: {encryption: sops, sops: {age: [${who.recipient}]}}\n` }));
    await synthesize(loadTopology(ws.file), { outdir: ws.out });
    expect(fs.existsSync(path.join(ws.out, '.sops.yaml'))).toBe(true);
    fs.writeFileSync(ws.file, meshYaml({ clusters: TWO_CLUSTERS }));
    await synthesize(loadTopology(ws.file), { outdir: ws.out });
    expect(fs.existsSync(path.join(ws.out, '.sops.yaml'))).toBe(false);
    expect(walk(ws.out).some((f) => f.includes('/secrets/'))).toBe(false);
  });
});

describe('bad secrets settings', () => {
  const cases: [string, string, RegExp][] = [
    ['no recipients', `  secrets: {encryption: sops}\n`, /mesh\.yaml:\d+:\d+: spec\.secrets\.encryption: the mesh encrypts its Secrets with SOPS but names no age recipient\n\s+fix: add secrets\.sops\.age/],
    ['an empty recipient list', `  secrets: {encryption: sops, sops: {age: []}}\n`, /mesh\.yaml:\d+:\d+: spec\.secrets\.sops\.age: has no entries; at least 1 needed/],
    [
      'a recipient with a wrong checksum',
      `  secrets: {encryption: sops, sops: {age: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8q]}}\n`,
      /spec\.secrets\.sops\.age\[0\]: "age1ql3z7h\S+" is not an age recipient: it is not valid Bech32 \(wrong checksum\)\n\s+fix: give the public key that `age-keygen` prints/,
    ],
    ['a recipient of another kind', `  secrets: {encryption: sops, sops: {age: ["ssh-ed25519 AAAA"]}}\n`, /spec\.secrets\.sops\.age\[0\]: "ssh-ed25519 AAAA" is not an age recipient: it does not start with "age1"/],
    [
      'sops with Argo CD',
      `  gitops: {engine: argocd, repoURL: https://git.example.com/mesh.git}\n  secrets: {encryption: sops, sops: {age: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}}\n`,
      /spec\.secrets\.encryption: the mesh is installed by Argo CD, which cannot decrypt SOPS files[^\n]*\n\s+fix: use encryption: sealed-secrets/,
    ],
    ['sealed-secrets without a certificate', `  secrets: {encryption: sealed-secrets}\n`, /spec\.secrets\.encryption: the mesh seals its Secrets for Sealed Secrets but names no controller certificate/],
    ['settings nothing uses', `  secrets: {sops: {age: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}}\n`, /spec\.secrets\.sops: sops is set, but no cluster it applies to has encryption: sops, so it is not used/],
  ];
  it.each(cases)('fails on %s, naming file and path, with exit 1 from validate and synth', async (_name, extra, message) => {
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra }));
    for (const cmd of ['validate', 'synth']) {
      const r = await runMain([cmd, '-f', ws.file, '-o', ws.out].slice(0, cmd === 'validate' ? 3 : 5), ws.dir);
      expect(r.code, cmd).toBe(1);
      expect(r.stderr, cmd).toMatch(message);
    }
    expect(fs.existsSync(ws.out)).toBe(false);
  });

  it('never prints an age identity given as a recipient', async () => {
    const identity = ageKeygen().identity.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) as string;
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: `  secrets: {encryption: sops, sops: {age: [${identity}]}}\n` }));
    const r = await runMain(['validate', '-f', ws.file], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.secrets\.sops\.age\[0\]: this value is not an age recipient: it is an age identity, a private key/);
    expect(r.stderr).not.toContain(identity);
    expect(r.stderr).not.toContain(identity.slice(15, 40));
  });

  it.each([
    ['missing', (_dir: string) => undefined, /sealed\/cluster2\.pem, the Sealed Secrets certificate of cluster "cluster2", does not exist/],
    ['of an EC key', (dir: string) => controllerKey(dir, 'cluster2', { algorithm: 'ec' }), /cluster2\.pem, the Sealed Secrets certificate of cluster "cluster2", holds a EC key; the Sealed Secrets controller seals with RSA keys/],
    ['expired', (dir: string) => controllerKey(dir, 'cluster2', { expired: true }), /cluster2\.pem, the Sealed Secrets certificate of cluster "cluster2", expired on \d{4}-/],
    ['not a certificate', (dir: string) => fs.writeFileSync(path.join(dir, 'cluster2.pem'), 'hello\n'), /cluster2\.pem, the Sealed Secrets certificate of cluster "cluster2", holds no PEM certificate/],
  ])('fails on a controller certificate that is %s, naming the topology file, the key and the certificate, before any key is made', async (_name, make, message) => {
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: `  secrets:\n    encryption: sealed-secrets\n    sealedSecrets: {cert: "sealed/{cluster}.pem"}\n` }));
    const dir = path.join(ws.dir, 'sealed');
    controllerKey(dir, 'cluster1');
    make(dir);
    fs.rmSync(path.join(ws.dir, 'pki'), { recursive: true });
    for (const args of [['validate', '-f', ws.file], ['synth', '-f', ws.file, '-o', ws.out]]) {
      const r = await runMain(args, ws.dir);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr, args[0]).toMatch(/mesh\.yaml: spec\.secrets\.sealedSecrets\.cert: /);
      expect(r.stderr, args[0]).toMatch(message);
      expect(r.stderr, args[0]).toMatch(/fix: save the certificate of the cluster's controller: kubeseal --context=kind-cluster2 --fetch-cert > sealed\/cluster2\.pem/);
    }
    expect(fs.existsSync(ws.out)).toBe(false);
    expect(fs.existsSync(path.join(ws.dir, 'pki'))).toBe(false);
  });

  it('lets a cluster override the mesh\'s choice: SOPS for one, Sealed Secrets for the other', async () => {
    const who = ageKeygen();
    const text = meshYaml({ clusters: TWO_CLUSTERS, extra: `  secrets: {encryption: sops, sops: {age: [${who.recipient}]}, sealedSecrets: {cert: "sealed/{cluster}.pem"}}\n` }).replace(
      '      network: network2\n',
      '      network: network2\n      secrets: {encryption: sealed-secrets, sealedSecrets: {scope: namespace-wide}}\n',
    );
    const ws = workspace(text);
    controllerKey(path.join(ws.dir, 'sealed'), 'cluster2');
    const [mesh] = loadTopology(ws.file).meshes;
    expect(mesh.clusters.map((c) => c.secrets)).toEqual([
      { encryption: 'sops', age: [who.recipient], decryptionSecret: 'sops-age' },
      { encryption: 'sealed-secrets', cert: path.join(ws.dir, 'sealed', 'cluster2.pem'), certKey: 'spec.secrets.sealedSecrets.cert', scope: 'namespace-wide' },
    ]);
    await synthesize(loadTopology(ws.file), { outdir: ws.out });
    expect(walk(ws.out).filter((f) => /secret\./.test(f))).toEqual(['cluster1/secrets/secret.istio-system.cacerts.yaml', 'cluster2/sealedsecret.istio-system.cacerts.yaml']);
  });
});

describe('the root guard and certs status with encrypted output', () => {
  it('still refuses a key store whose root is not the one the encrypted output was made under', async () => {
    const who = ageKeygen();
    const ws = workspace(meshYaml({ clusters: TWO_CLUSTERS, extra: `  secrets: {encryption: sops, sops: {age: [${who.recipient}]}}\n` }));
    await synthesize(loadTopology(ws.file), { outdir: ws.out });
    fs.rmSync(path.join(ws.dir, 'pki'), { recursive: true });
    const r = runCli(['synth', '-f', ws.file, '-o', ws.out], ws.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/root-cert\.pem: is missing, but dist\/cluster1 was made under a root CA \(SHA-256 /);
  });
});
