import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { goYaml } from '../../src/secrets/go-yaml';
import { REPO } from '../helpers';

const SOPS_FIXTURES = path.join(REPO, 'test', 'fixtures', 'sops');

describe('goYaml', () => {
  it.each(['global-secret.yaml', 'algorithms-age.yaml'])('writes %s (real sops output, indent 2) byte for byte', (file) => {
    const text = fs.readFileSync(path.join(SOPS_FIXTURES, file), 'utf8');
    expect(goYaml(parse(text) as Record<string, unknown>, 2)).toBe(text);
  });

  it('aligns nested blocks to the indent, as go-yaml does with indent 4', () => {
    const out = goYaml({ sops: { age: [{ enc: 'a\nb\n', recipient: 'age1x' }], lastmodified: '2026-01-02T03:04:05Z', version: '3.13.2' } }, 4);
    expect(out).toBe(
      ['sops:', '    age:', '        - enc: |', '            a', '            b', '          recipient: age1x', '    lastmodified: "2026-01-02T03:04:05Z"', '    version: 3.13.2', ''].join('\n'),
    );
  });

  it.each([
    ['true', '"true"'],
    ['no', '"no"'],
    ['123', '"123"'],
    ['1.5', '"1.5"'],
    ['', '""'],
    ['~', '"~"'],
    ['2026-01-01', '"2026-01-01"'],
    ['*.example.com', "'*.example.com'"],
    ['a: b', "'a: b'"],
    ['-x', '-x'],
    ['^(data|stringData)$', '^(data|stringData)$'],
    ['ENC[AES256_GCM,data:a+b/=,iv:x,tag:y,type:str]', 'ENC[AES256_GCM,data:a+b/=,iv:x,tag:y,type:str]'],
    ['istio/multiCluster', 'istio/multiCluster'],
  ])('writes the string %j as %s', (value, written) => {
    expect(goYaml({ k: value }, 4)).toBe(`k: ${written}\n`);
  });
});
