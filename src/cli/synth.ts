/**
 * `meshgen synth`: write one folder of manifests per cluster, then say what
 * was written and what to run next.
 */
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { loadTopology } from '../model/load';
import { warmUpReadAhead } from '../synth/disk-compare';
import { discoveredDate } from '../model/discovered';
import { clusterCount, MeshModel, Topology } from '../model/types';
import { displayPath } from '../paths';
import type { KeyStoreOptions } from '../pki/key-store';
import { MeshAwaiting, MeshPending, PLAINTEXT_FIX } from '../synth/pending';
import type { SynthResult } from '../synth/synthesize';
import { plural } from '../text';
import type { Io } from './main';
import { LOCK_TIMEOUT_OPTION, lockOptions, outputOption, withTopologyFiles } from './options';

/** The `synth` subcommand. */
export function synthCommand(io: Io): Command {
  return outputOption(withTopologyFiles(new Command('synth')))
    .description('write dist/<cluster>/ for every cluster: manifests, kustomization.yaml and README.md')
    .option('--new-root', 'accept a new root CA although the output was made under another one (replaces the mesh CA: roll out every cluster)')
    .option('--allow-dataplane-change', 'accept a mesh whose output was made for the other data plane (sidecar to ambient or back), which breaks calls between clusters until every workload has moved')
    .option('--strict', 'fail, writing nothing, when Secrets would be written in plaintext, remote secrets left pending or output left waiting for an east-west gateway address (for CI)')
    .option(...LOCK_TIMEOUT_OPTION)
    .option('-q, --quiet', 'print nothing on success')
    .option('--json', 'print the summary as JSON')
    .action(async function (this: Command, opts: { file: string[]; output: string; newRoot?: boolean; allowDataplaneChange?: boolean; strict?: boolean; quiet?: boolean; json?: boolean; lockTimeout?: number }) {
      if (opts.output.trim() === '') this.error("error: option '-o, --output <dir>' needs a folder name", { exitCode: 2 });
      const topology = loadTopology(opts.file);
      warmUpReadAhead(opts.output, clusterCount(topology));
      // Loaded here: the constructs and the renderer are for the commands that render, not for every start of meshgen.
      const { synthesize } = await import('../synth/synthesize');
      const result = await synthesize(topology, {
        outdir: opts.output,
        allowNewRoot: opts.newRoot,
        allowDataplaneChange: opts.allowDataplaneChange,
        strict: opts.strict,
        lock: lockOptions(io, opts),
        keyStore: progress(io, !opts.quiet && !opts.json),
        askPassphrase: askOnTerminal,
      });
      if (opts.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
      else if (!opts.quiet) io.out(summary(result, discoveredLines(topology)));
      const warning = plaintextWarning(result);
      if (warning) io.err(warning);
    });
}

/** Files a warning names before it counts the rest. */
const WARNING_FILES = 5;

/** The one warning of a synth that wrote private keys or tokens in plaintext, naming the files (the first few, then how many more). */
export function plaintextWarning(result: SynthResult): string | undefined {
  const files = result.plaintextSecrets;
  if (files.length === 0) return undefined;
  const out = displayPath(result.outdir);
  const folders = new Set(files.map((f) => f.split('/')[0])).size;
  const named = files.slice(0, WARNING_FILES).map((f) => `${out}/${f}`);
  const rest = files.length - named.length;
  return (
    `warning: ${plural(files.length, 'file')}${folders > 1 ? ` in ${folders} cluster folders` : ''} hold private keys or tokens in plaintext, so never commit them: ` +
    `${named.join(', ')}${rest > 0 ? `, and ${rest} more (each folder's README lists its own)` : ''}\n` +
    `    fix: ${PLAINTEXT_FIX}; synth --strict makes this an error\n`
  );
}

/** Asks for a root key passphrase on the terminal, without echo; undefined when there is no terminal. */
export async function askOnTerminal(mesh: MeshModel): Promise<string | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const readline = await import('node:readline');
  const output = new Writable({
    write: (_chunk, _enc, done) => done(),
  });
  process.stderr.write(`passphrase of the root key of mesh "${mesh.name}": `);
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** Key-making progress on stderr, only where a person watches (a TTY). */
export function progress(io: Io, enabled: boolean): KeyStoreOptions {
  if (!enabled || !process.stderr.isTTY) return {};
  return { onMakeKeys: (count) => io.err(`making ${plural(count, 'CA key')} in parallel (RSA takes a few seconds each)…\n`) };
}

/** How the command line tells a pending cluster: why, what to do (with the README that says how), and this machine's hint. */
export function pendingLines(p: MeshPending, readme?: string): string[] {
  return [
    `pending: remote secrets of cluster "${p.cluster}" (mesh "${p.mesh}"): ${p.reason}`,
    `    next: ${p.fix}${readme ? ` (${readme})` : ''}`,
    ...(p.hint ? [`    hint: ${p.hint}`] : []),
  ];
}

/** How the command line tells what waits for an east-west gateway address. */
export function awaitingLines(a: MeshAwaiting, readme?: string): string[] {
  return [`waiting: ${a.subject} (mesh "${a.mesh}"): ${a.reason}`, `    next: ${a.fix}${readme ? ` (${readme})` : ''}`];
}

/** One line per cluster whose east-west gateway address came from `meshgen discover` (the topology leaves it unset). */
export function discoveredLines(topology: Topology): string[] {
  return topology.meshes.flatMap((mesh) =>
    mesh.clusters.flatMap((c) =>
      c.eastWestGateway.addressSource === 'discovered'
        ? [`${c.name}: east-west gateway address ${c.eastWestGateway.address}${c.eastWestGateway.port !== undefined ? `:${c.eastWestGateway.port}` : ''} from meshgen discover (${discoveredDate(c.eastWestGateway.discovered)})`]
        : [],
    ),
  );
}

/** The human summary of a synth: per cluster what was written, the discovered addresses used, what is pending, what to run next. */
export function summary(result: SynthResult, discovered: readonly string[] = []): string {
  const out = displayPath(result.outdir);
  const lines: string[] = [];
  for (const mesh of result.meshes) {
    lines.push(`mesh "${mesh.name}": ${plural(mesh.clusters.length, 'cluster')} written to ${out}/`);
    const width = Math.max(...mesh.clusters.map((c) => c.name.length));
    for (const c of mesh.clusters) lines.push(`  ${c.name.padEnd(width)}  ${plural(c.files, 'file')}, intermediate CA ${c.intermediate}`);
    lines.push(`  root CA ${mesh.root}, key store ${displayPath(mesh.keyStore)}`);
    if (mesh.rootRotationStage !== undefined && mesh.rootRotationStage < 3) {
      lines.push(`  root rotation at stage ${mesh.rootRotationStage} of 3: roll this out to every cluster and pass its README checks, then run meshgen certs rotate --root --continue --mesh ${mesh.name}`);
    }
  }
  lines.push(...discovered);
  for (const name of result.removed) lines.push(`removed ${out}/${name}/: its cluster is no longer in the topology`);
  for (const p of result.pending) lines.push(...pendingLines(p, `${out}/${p.cluster}/README.md`));
  for (const a of result.awaiting) lines.push(...awaitingLines(a, `${out}/${a.cluster}/README.md`));
  for (const name of result.foreign) lines.push(`kept ${out}/${name}/: made for a mesh that is not in this topology`);
  const order = result.meshes.flatMap((m) => m.clusters.map((c) => `${out}/${c.name}/README.md`));
  lines.push(`next: apply each cluster by its README, in this order: ${order.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
