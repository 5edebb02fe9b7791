/**
 * `meshgen status`: after apply, checks every cluster against the topology
 * and the output folder, read-only, through the user's kube contexts; one
 * line per check (or JSON with --json). Exit 0 when every check is ok,
 * 1 otherwise, 2 on a usage error. The Kubernetes client is loaded only
 * here, so other commands start fast.
 */
import { Command } from 'commander';
import { loadTopology } from '../model/load';
import { checkStatus, formatStatusTable } from '../status/status';
import type { Io } from './main';
import { checkClusterNames, outputOption, parseSeconds, withTopologyFiles } from './options';

/** Exit code when a check is not ok. */
export const EXIT_NOT_OK = 1;

/** Options of statusCommand(), for tests. */
export interface StatusCommandOptions {
  /**
   * Whether to report progress on stderr.
   * @default - when stderr is a terminal
   */
  readonly progress?: boolean;
}

/** The `status` subcommand. */
export function statusCommand(io: Io, setExitCode: (code: number) => void, cmdOpts: StatusCommandOptions = {}): Command {
  const cmd = outputOption(withTopologyFiles(new Command('status')));
  return cmd
    .description('check every cluster against the topology and the output folder (read-only, with your kube contexts); exit 1 if anything is not ok')
    .option('--cluster <name...>', 'only these clusters')
    .option('--json', 'print the report as JSON')
    .option('--timeout <seconds>', 'give up on an API server that has not answered a request within this time', parseSeconds, 10)
    .action(async (opts: { file: string[]; output: string; cluster?: string[]; json?: boolean; timeout: number }) => {
      const topology = loadTopology(opts.file);
      checkClusterNames(cmd, topology, opts.cluster);
      const { contextReader } = await import('../status/kube-client');
      const progress = cmdOpts.progress ?? process.stderr.isTTY === true;
      const report = await checkStatus(topology, {
        outdir: opts.output,
        clusters: opts.cluster,
        readerFor: (_mesh, cluster) => contextReader(cluster, { timeoutMs: opts.timeout * 1000 }),
        onClusterDone: progress ? (cluster, done, total) => io.err(`meshgen: ${cluster} answered (${done}/${total})\n`) : undefined,
      });
      io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatusTable(report));
      setExitCode(report.ok ? 0 : EXIT_NOT_OK);
    });
}
