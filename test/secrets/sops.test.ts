import * as fs from 'node:fs';
import * as path from 'node:path';
import { decryptSops } from 'sops-age';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SOPS_ENCRYPTED_REGEX, sopsEncrypt } from '../../src/secrets/sops';
import { REPO } from '../helpers';
import { ageKeygen, sopsDecrypt, SopsDecryptError } from '../helpers/sops';

const FIXTURES = path.join(REPO, 'test', 'fixtures', 'sops');
const fixture = (f: string) => fs.readFileSync(path.join(FIXTURES, f), 'utf8');

const SECRET = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { labels: { 'istio/multiCluster': 'true' }, name: 'istio-remote-secret-cluster2', namespace: 'istio-system' },
  stringData: { cluster2: 'apiVersion: v1\nkind: Config\nusers:\n  - name: cluster2\n    user:\n      token: s3cr3t-token\n' },
  data: { 'ca-key.pem': Buffer.from('-----BEGIN PRIVATE KEY-----\nabc\n').toString('base64'), empty: '' },
  type: 'Opaque',
};

describe('the reference SOPS decryptor', () => {
  it('opens real sops output (fluxcd/kustomize-controller test data) and checks its MAC', () => {
    expect(sopsDecrypt(fixture('algorithms-age.yaml'), fixture('age.txt'))).toMatchObject({ stringData: { key: 'value' } });
    expect(sopsDecrypt(fixture('global-secret.yaml'), fixture('age-global.txt'))).toMatchObject({ stringData: { key: 'global-value' } });
  });

  it('fails on real sops output whose MAC no longer matches', () => {
    const tampered = fixture('algorithms-age.yaml').replace('name: age', 'name: other');
    expect(() => sopsDecrypt(tampered, fixture('age.txt'))).toThrow(SopsDecryptError);
  });
});

describe('sopsEncrypt', () => {
  const alice = ageKeygen();
  const bob = ageKeygen();

  it('writes a file that the reference decryptor and sops-age open for every recipient, with the MAC intact', async () => {
    const text = await sopsEncrypt(SECRET, { recipients: [alice.recipient, bob.recipient], now: new Date('2026-12-02T10:11:12.345Z') });
    for (const who of [alice, bob]) expect(sopsDecrypt(text, who.identity)).toEqual(SECRET);
    const key = bob.identity.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) as string;
    expect(await decryptSops(text, { fileType: 'yaml', secretKey: key })).toEqual(SECRET);
  });

  it('encrypts every value under data and stringData and nothing else, and keeps empty strings empty, as sops does', async () => {
    const text = await sopsEncrypt(SECRET, { recipients: [alice.recipient], now: new Date('2026-12-02T10:11:12Z') });
    const doc = parse(text);
    expect(doc.metadata).toEqual(SECRET.metadata);
    expect(doc.stringData.cluster2).toMatch(/^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]{44},tag:[A-Za-z0-9+/=]{24},type:str\]$/);
    expect(doc.data['ca-key.pem']).toMatch(/^ENC\[/);
    expect(doc.data.empty).toBe('');
    expect(text).not.toContain('s3cr3t-token');
    expect(text).not.toContain(SECRET.data['ca-key.pem']);
    expect(doc.sops).toEqual({
      age: [{ enc: expect.stringMatching(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/), recipient: alice.recipient }],
      encrypted_regex: SOPS_ENCRYPTED_REGEX,
      lastmodified: '2026-12-02T10:11:12Z',
      mac: expect.stringMatching(/^ENC\[AES256_GCM,.*type:str\]$/),
      version: '3.13.2',
    });
    // sops' YAML store: indent 4, sequences indented, the armor a literal block at column 12.
    expect(text).toMatch(/\nsops:\n {4}age:\n {8}- enc: \|\n {12}-----BEGIN AGE ENCRYPTED FILE-----\n/);
    expect(text).toContain('\n    lastmodified: "2026-12-02T10:11:12Z"\n');
  });

  it('cannot be opened by an identity it was not made for', async () => {
    const text = await sopsEncrypt(SECRET, { recipients: [alice.recipient], now: new Date() });
    expect(() => sopsDecrypt(text, bob.identity)).toThrow(/no age entry opens/);
    const key = bob.identity.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) as string;
    await expect(decryptSops(text, { fileType: 'yaml', secretKey: key })).rejects.toThrow();
  });

  it('fails its MAC check when a value that is not encrypted is changed', async () => {
    const text = await sopsEncrypt(SECRET, { recipients: [alice.recipient], now: new Date() });
    expect(() => sopsDecrypt(text.replace('namespace: istio-system', 'namespace: default'), alice.identity)).toThrow(/MAC mismatch/);
  });

  it('fails when an encrypted value is moved to another key (the key path is authenticated)', async () => {
    const text = await sopsEncrypt({ ...SECRET, data: { a: 'eA==', b: 'eQ==' } }, { recipients: [alice.recipient], now: new Date() });
    const doc = parse(text);
    const swapped = text.replace(`a: ${doc.data.a}`, `a: ${doc.data.b}`);
    expect(() => sopsDecrypt(swapped, alice.identity)).toThrow(/does not open/);
  });

  it('keeps comments before the document as they are', async () => {
    const text = await sopsEncrypt(SECRET, { recipients: [alice.recipient], now: new Date(), headComments: ['# one', '# two'] });
    expect(text.startsWith('# one\n# two\napiVersion: v1\n')).toBe(true);
    expect(sopsDecrypt(text, alice.identity)).toEqual(SECRET);
  });
});
