/**
 * `meshgen diff`: what `meshgen synth` would change in the output folder,
 * as unified diffs with Secret values masked; writes nothing. Exit 0 when
 * nothing would change and 1 otherwise, so CI can check that committed
 * manifests are up to date.
 */
import { Command } from 'commander';
import { loadTopology } from '../model/load';
import { clusterCount } from '../model/types';
import { warmUpReadAhead } from '../synth/disk-compare';
import { displayPath } from '../paths';
import { OutputDiff } from '../synth/diff';
import { OutputPlanner } from '../synth/write';
import * as path from 'node:path';
import { plural } from '../text';
import { awaitingLines, pendingLines } from './synth';
import type { Io } from './main';
import { LOCK_TIMEOUT_OPTION, lockOptions, outputOption, withTopologyFiles } from './options';

/** Exit code when the output would change. */
export const EXIT_DIFFERS = 1;

/** The `diff` subcommand; its action resolves to the exit code. */
export function diffCommand(io: Io, setExitCode: (code: number) => void): Command {
  return outputOption(withTopologyFiles(new Command('diff')))
    .description('show what synth would change in the output folder (Secret values masked); exit 1 if anything would change')
    .option('--stat', 'list the changed files only')
    .option('--strict', 'also exit 1 when remote secrets would be pending or output would wait for an east-west gateway address (for CI)')
    .option(...LOCK_TIMEOUT_OPTION)
    .action(async (opts: { file: string[]; output: string; stat?: boolean; strict?: boolean; lockTimeout?: number }) => {
      const topology = loadTopology(opts.file);
      warmUpReadAhead(opts.output, clusterCount(topology));
      const synthOpts = { outdir: opts.output, keyStore: { dryRun: true }, lock: lockOptions(io, opts) };
      const { prepareSynthesis, withTopologyLocks } = await import('../synth/synthesize');
      // Under the same locks as synth: a run writing meanwhile, or a write a killed run left half done, is waited for or finished first.
      const { prepared, changes } = await withTopologyLocks(topology, path.resolve(opts.output), synthOpts, async () => {
        const p = await prepareSynthesis(topology, synthOpts);
        try {
          const diff = new OutputDiff(p.outdir, new OutputPlanner(p.outdir, p.names, p.readAhead));
          for await (const folder of p.folders()) diff.add(folder);
          return { prepared: { outdir: p.outdir, summary: p.summary() }, changes: diff.changes() };
        } finally {
          p.readAhead?.close();
        }
      });
      for (const c of changes) {
        if (opts.stat) io.out(`${c.status.padEnd(7)} ${c.path}\n`);
        else io.out(c.patch);
      }
      const newKeys = prepared.summary.meshes.some((m) => m.root === 'new' || m.clusters.some((c) => c.intermediate === 'new'));
      if (newKeys) io.err('meshgen: note: synth would make new CA keys, so the cacerts Secrets shown here would differ again\n');
      io.err(
        changes.length === 0
          ? `${displayPath(prepared.outdir)} is up to date\n`
          : `${plural(changes.length, 'file')} would change in ${displayPath(prepared.outdir)}: run meshgen synth\n`,
      );
      const { pending, awaiting } = prepared.summary;
      for (const p of pending) io.err(`${pendingLines(p, `${displayPath(prepared.outdir)}/${p.cluster}/README.md`).join('\n')}\n`);
      for (const a of awaiting) io.err(`${awaitingLines(a, `${displayPath(prepared.outdir)}/${a.cluster}/README.md`).join('\n')}\n`);
      setExitCode(changes.length === 0 && !(opts.strict && pending.length + awaiting.length > 0) ? 0 : EXIT_DIFFERS);
    });
}
