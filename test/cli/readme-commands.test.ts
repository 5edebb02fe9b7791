/**
 * The `meshgen` commands a cluster README prints run as printed, from the
 * folder the README says: each carries the -f and -o of the synth that
 * wrote it, as paths from the cluster folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFixturePki, meshYaml, primaryRemoteYaml, readTree, runCli, tmpDir, TWO_CLUSTERS } from '../helpers';

/**
 * Every `meshgen …` command line of a README: lines of its code blocks, and
 * commands quoted in its text with their options (a bare `meshgen credentials
 * fetch` in a sentence names the README's step of that name).
 */
function meshgenCommands(readme: string): string[] {
  const fenced = [...readme.matchAll(/^\s*(meshgen [^\n#]*?)\s*(?:#.*)?$/gm)].map((m) => m[1]);
  const inline = [...readme.matchAll(/`(meshgen [^`]* -[^`]*)`/g)].map((m) => m[1]);
  return [...new Set([...fenced, ...inline])];
}

/** The words of a command line as a POSIX shell splits them (plain words and single quotes, which is all READMEs use). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** A reader-token mesh in `<dir>/<file>`, its key store beside it, and a second file of another mesh when `second` is given. */
function topology(dir: string, file: string, second?: string): void {
  const folder = path.dirname(path.join(dir, file));
  fs.mkdirSync(folder, { recursive: true });
  copyFixturePki(path.join(folder, 'pki'));
  fs.writeFileSync(path.join(dir, file), meshYaml({ clusters: TWO_CLUSTERS }).replace('  clusters:', '  credentials: {source: reader-token}\n  clusters:'));
  if (second) {
    fs.writeFileSync(
      path.join(dir, second),
      meshYaml({ name: 'mesh2', keyStore: 'pki2', clusters: [{ name: 'cluster3', network: 'network3' }] }).replace('    keyStore: pki2\n', '    keyStore: pki2\n    keyAlgorithm: ECDSA-P256\n'),
    );
  }
}

/** Runs every `meshgen` command of every cluster README in `out` from its cluster folder, and checks what each does. */
function runReadmeCommands(dir: string, out: string, expected: { files: string[]; commands?: string[] }): void {
  // No kubeconfig: a command that needs a cluster fails for that, and for nothing else.
  const env = { KUBECONFIG: path.join(dir, 'no-such-kubeconfig') };
  const before = readTree(dir, { modes: true });
  const seen = new Set<string>();
  const ran = new Set<string>();
  for (const cluster of fs.readdirSync(out).filter((f) => fs.existsSync(path.join(out, f, 'README.md')))) {
    const folder = path.join(out, cluster);
    const readme = fs.readFileSync(path.join(folder, 'README.md'), 'utf8');
    // A remote waiting for its primary's address says what to run instead of how to apply.
    if (!readme.includes('## Waiting for the address of')) expect(readme).toMatch(/Run these from this folder/);
    // A line every README prints alike (the synth) runs once.
    for (const line of meshgenCommands(readme).filter((l) => !ran.has(l))) {
      ran.add(line);
      const [, ...args] = shellWords(line);
      const command = ['credentials', 'certs'].includes(args[0]) ? `${args[0]} ${args[1]}` : args[0];
      seen.add(command);
      const files = args.flatMap((a, i) => (args[i - 1] === '-f' ? [a] : []));
      expect(files, line).toEqual(expected.files);
      // credentials fetch and discover write no output, and take no -o.
      if (command !== 'credentials fetch' && command !== 'discover') expect(args[args.indexOf('-o') + 1], line).toBe('..');
      const r = runCli(args, folder, env);
      expect(r.stderr, line).not.toMatch(/no such file|cannot read the topology|unknown option|invalid topology/);
      if (command === 'synth') {
        expect(r.code, `${line}\n${r.stderr}`).toBe(0);
        // The same output, rewritten in place: no second output folder anywhere, every file as it was.
        expect(readTree(dir, { modes: true }), line).toEqual(before);
      } else if (command === 'credentials fetch') {
        expect(r.code, line).toBe(1);
        expect(r.stderr, line).toMatch(new RegExp(`cluster "${cluster}": .*context "kind-${cluster}"`));
      } else if (command === 'discover') {
        const primary = args[args.indexOf('--cluster') + 1];
        expect(r.code, line).toBe(1);
        expect(r.stdout, line).toMatch(new RegExp(`^${primary}: no address: context "kind-${primary}" is not in`, 'm'));
      } else {
        expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      }
    }
  }
  expect([...seen].sort()).toEqual(expected.commands ?? ['credentials fetch', 'synth']);
}

describe('the meshgen commands of cluster READMEs', () => {
  it('run from the cluster folder: synth rewrites the same output, credentials fetch fails only for want of the cluster', () => {
    const dir = tmpDir();
    topology(dir, 'examples/mesh.yaml');
    const r = runCli(['synth', '-q', '-f', 'examples/mesh.yaml', '-o', 'dist'], dir);
    expect(r.code, r.stderr).toBe(0);
    const readme = fs.readFileSync(path.join(dir, 'dist', 'cluster1', 'README.md'), 'utf8');
    expect(readme).toContain('meshgen credentials fetch -f ../../examples/mesh.yaml --cluster cluster1\n');
    expect(readme).toContain('meshgen synth -f ../../examples/mesh.yaml -o ..\n');
    runReadmeCommands(dir, path.join(dir, 'dist'), { files: ['../../examples/mesh.yaml'] });
  });

  it("of a primary and of the remote that waits for its address: discover fails only for want of the cluster, synth rewrites the same output", () => {
    const dir = tmpDir();
    copyFixturePki(path.join(dir, 'pki'));
    // cluster2 is a remote of cluster1, whose gateway address the topology does not set.
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), primaryRemoteYaml());
    const r = runCli(['synth', '-q', '-f', 'mesh.yaml', '-o', 'dist'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'dist', 'cluster2', 'README.md'), 'utf8')).toContain('   meshgen discover -f ../../mesh.yaml --cluster cluster1\n');
    runReadmeCommands(dir, path.join(dir, 'dist'), { files: ['../../mesh.yaml'], commands: ['discover', 'synth'] });
  });

  it('carry every -f of the run, for an output folder elsewhere', () => {
    const dir = tmpDir();
    topology(dir, 'topology/mesh.yaml', 'topology/other.yaml');
    const r = runCli(['synth', '-q', '-f', 'topology/mesh.yaml', 'topology/other.yaml', '-o', 'build/out'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'build', 'out')).sort()).toEqual(['cluster1', 'cluster2', 'cluster3']);
    runReadmeCommands(dir, path.join(dir, 'build', 'out'), { files: ['../../../topology/mesh.yaml', '../../../topology/other.yaml'] });
  });
});
