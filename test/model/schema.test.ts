import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { topologySchema } from '../../src/model/schema';
import { REPO } from '../helpers';

describe('published JSON Schema', () => {
  const published = JSON.parse(fs.readFileSync(path.join(REPO, 'schema', 'mesh.schema.json'), 'utf8'));

  it('is the schema the loader checks against (run `npm run build && npm run schema` after changing it)', () => {
    expect(published).toEqual(JSON.parse(JSON.stringify(topologySchema)));
  });

  it('tells a Mesh from a MeshFederation by kind, as an editor would', () => {
    const validate = new Ajv({ strict: true }).compile(published);
    const fed = parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'topologies', 'federation.yaml'), 'utf8').split('---').pop()!);
    expect(validate(fed), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...fed, spec: { ...fed.spec, bogus: 1 } })).toBe(false);
  });

  it('accepts the bundled example, as an editor would check it', () => {
    const validate = new Ajv({ strict: true }).compile(published);
    const example = parse(fs.readFileSync(path.join(REPO, 'examples', 'mesh.yaml'), 'utf8'));
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
  });

  it('is named by the example modeline', () => {
    const text = fs.readFileSync(path.join(REPO, 'examples', 'mesh.yaml'), 'utf8');
    const modeline = /# yaml-language-server: \$schema=(\S+)/.exec(text);
    expect(modeline).not.toBeNull();
    expect(fs.existsSync(path.resolve(REPO, 'examples', modeline![1]))).toBe(true);
  });

  it('documents every property for editor completion', () => {
    const missing: string[] = [];
    const visit = (node: Record<string, unknown>, at: string) => {
      const props = node.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [k, v] of Object.entries(props ?? {})) {
        if (!v.description) missing.push(`${at}.${k}`);
        visit(v, `${at}.${k}`);
      }
      if (node.items) visit(node.items as Record<string, unknown>, `${at}[]`);
    };
    visit(published.definitions.mesh, 'Mesh');
    visit(published.definitions.federation, 'MeshFederation');
    expect(missing).toEqual([]);
  });
});
