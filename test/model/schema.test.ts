import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { ErrorObject } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { topologySchema } from '../../src/model/schema';
import { newAjv, PRECOMPILED_SCHEMAS, precompiledSource } from '../../src/model/schema-check';
import { FIXTURE_TOPOLOGIES, REPO, tmpDir } from '../helpers';

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

describe('validators precompiled by the build (scripts/precompile-schema.js)', () => {
  const file = path.join(REPO, 'lib', 'src', 'model', 'schema-validators.js');

  it('are used from a build, compiled at run time without them, and a module they need that is missing is an error, not a quiet fallback', () => {
    // A copy of the build, whose validators file each case changes.
    const dir = tmpDir();
    for (const part of ['lib', 'bin']) fs.cpSync(path.join(REPO, part), path.join(dir, part), { recursive: true });
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    const copy = path.join(dir, 'lib', 'src', 'model', 'schema-validators.js');
    const validate = () => spawnSync(process.execPath, [path.join(dir, 'bin', 'meshgen'), 'validate', '-f', path.join(FIXTURE_TOPOLOGIES, 'mixed.yaml')], { encoding: 'utf8' });
    const ok = validate();
    expect(ok.status, ok.stderr).toBe(0);
    fs.writeFileSync(copy, "'use strict';\nrequire('./helper-the-build-forgot');\n");
    const missing = validate();
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/unexpected error: Cannot find module '\.\/helper-the-build-forgot'/);
    fs.rmSync(copy);
    const compiled = validate();
    expect(compiled.status, compiled.stderr).toBe(0);
  });

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = () => require(file) as Record<string, ((v: unknown) => boolean) & { errors?: ErrorObject[] | null }>;

  it('are what the current schema compiles to (run `npm run build` after changing src/model/schema.ts)', () => {
    expect(fs.readFileSync(file, 'utf8')).toBe(precompiledSource());
  });

  it('give the same verdict and errors as the schema compiled at run time, for every fixture and broken copies of them', () => {
    const precompiled = load();
    const runtime = newAjv();
    const fixtures = fs.readdirSync(FIXTURE_TOPOLOGIES).filter((f) => f.endsWith('.yaml'));
    const docs = fixtures.flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(FIXTURE_TOPOLOGIES, f), 'utf8')).map((d) => d.toJS()));
    const broken = docs.flatMap((d) => [
      { ...d, spec: { ...d.spec, bogus: true } },
      { ...d, metadata: { name: 'Not_A_Label' } },
      { ...d, spec: { ...d.spec, clusters: [{ name: 'c1', network: 7 }], meshes: 'x' } },
      { ...d, apiVersion: 'meshgen.dev/v0' },
    ]);
    const shape = (errors: ErrorObject[] | null | undefined) => (errors ?? []).map((e) => [e.instancePath, e.keyword, e.params, e.data, e.parentSchema === undefined]);
    let failures = 0;
    for (const doc of [...docs, ...broken]) {
      const name = doc.kind === 'MeshFederation' ? 'MeshFederation' : 'Mesh';
      const compiled = runtime.compile(PRECOMPILED_SCHEMAS[name]);
      const want = compiled(doc);
      expect(precompiled[name](doc)).toBe(want);
      expect(shape(precompiled[name].errors)).toEqual(shape(compiled.errors));
      if (!want) failures++;
    }
    // Every broken copy fails, and every fixture passes: the comparison covers both verdicts.
    expect(failures).toBe(broken.length);
  });
});
