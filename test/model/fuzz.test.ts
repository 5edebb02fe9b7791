/**
 * Property: whatever a topology file holds, `meshgen validate` (and
 * `graph`, which builds the model further) ends with exit 0, or exit 1 and
 * a message that names the file: never a crash, never "unexpected error",
 * within bounded time. The files are valid topologies mutated the ways
 * hand edits and tools break them: deleted keys, wrong types, odd YAML
 * tags, huge numbers, very long strings, unicode, CRLF, a BOM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Document, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { FIXTURE_TOPOLOGIES, REPO, runMain, tmpDir } from '../helpers';

const SEEDS = [
  path.join(REPO, 'examples', 'mesh.yaml'),
  ...['mixed.yaml', 'federation.yaml', 'install-flux-two-networks.yaml', 'trust-cert-manager.yaml', 'primary-remote-multi-network.yaml'].map((f) => path.join(FIXTURE_TOPOLOGIES, f)),
].map((f) => fs.readFileSync(f, 'utf8'));

/** Every path (keys and indexes) to a node of a YAML document. */
function paths(doc: Document): (string | number)[][] {
  const out: (string | number)[][] = [];
  const visit = (node: unknown, at: (string | number)[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        out.push([...at, key]);
        visit(pair.value, [...at, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        out.push([...at, i]);
        visit(item, [...at, i]);
      });
    }
  };
  for (const d of [doc]) visit(d.contents, []);
  return out;
}

/** Values that break a topology in the ways people and tools do. */
const oddValue = fc.oneof(
  fc.constant(null),
  fc.constant(''),
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.constant(1e308),
  fc.constant(-0),
  fc.constant(Number.MAX_SAFE_INTEGER * 1000),
  fc.boolean(),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constant('x'.repeat(20_000)),
  fc.constant('3000000d'),
  fc.constant('age1notarecipient'),
  fc.constant('sealed/{cluster}.pem'),
  fc.constant({}),
  fc.constant([]),
  fc.constant({ nested: { deep: [1, { x: null }] } }),
  fc.constant('ünïcödé-🚀'),
);

type Mutation = { kind: 'delete' | 'set'; pick: number; value?: unknown } | { kind: 'text'; how: 'crlf' | 'bom' | 'tag' | 'truncate' | 'alias' | 'tab'; pick: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value: oddValue }),
  fc.record({ kind: fc.constant('text' as const), how: fc.constantFrom('crlf' as const, 'bom' as const, 'tag' as const, 'truncate' as const, 'alias' as const, 'tab' as const), pick: fc.nat() }),
);

/** Applies `mutations` to topology text `seed`. */
function mutate(seed: string, mutations: readonly Mutation[]): string {
  let text = seed;
  for (const m of mutations) {
    if (m.kind === 'text') {
      if (m.how === 'crlf') text = text.replace(/\n/g, '\r\n');
      else if (m.how === 'bom') text = `\ufeff${text}`;
      else if (m.how === 'truncate') text = text.slice(0, m.pick % (text.length + 1));
      else if (m.how === 'tab') text = text.replace(/^ {2}/m, '\t');
      else if (m.how === 'alias') text = text.replace(/^(\s*)(\w+): (\S+)$/m, '$1$2: &a $3\n$1other: *a');
      else text = text.replace(/: (\S+)$/m, (_all, v: string) => `: ${['!!binary', '!!timestamp', '!!float', '!custom', '!!set', '!!omap'][m.pick % 6]} ${v}`);
      continue;
    }
    let doc: Document;
    try {
      doc = parseDocument(text);
    } catch {
      continue;
    }
    if (doc.errors.length > 0) continue;
    const all = paths(doc);
    if (all.length === 0) continue;
    const at = all[m.pick % all.length];
    try {
      if (m.kind === 'delete') doc.deleteIn(at);
      else doc.setIn(at, doc.createNode(m.value));
      text = doc.toString({ lineWidth: 0 });
    } catch {
      // The edit left an alias without its anchor, which the YAML writer refuses: try the next mutation.
    }
  }
  return text;
}

describe('mutated topology files', () => {
  it('end in exit 0, or exit 1 with a message naming the file, never a crash, for every mutation', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'mesh.yaml');
    let cases = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (seed, mutations) => {
        const text = mutate(SEEDS[seed], mutations);
        fs.writeFileSync(file, text);
        cases++;
        for (const args of [['validate', '-f', file], ['graph', '-f', file, '--format', 'mermaid']]) {
          const began = Date.now();
          const r = await runMain(args);
          expect(Date.now() - began, `${args[0]} took too long`).toBeLessThan(10_000);
          expect([0, 1], `${args[0]}: ${r.stderr}`).toContain(r.code);
          expect(r.stderr, args[0]).not.toMatch(/unexpected error|    at /);
          if (r.code === 1) expect(r.stderr, args[0]).toContain('mesh.yaml');
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? 20261202) },
    );
    expect(cases).toBe(Number(process.env.FUZZ_RUNS ?? 300));
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);
});
