/**
 * `meshgen discover`: reads the external address of each east-west gateway
 * the topology leaves without `eastWestGateway.address` (LoadBalancer
 * ingress IP or hostname) with the user's kube contexts, and stores it in the
 * mesh's key store (`<keyStore>/discovered.json`), for the next synth.
 * Exit 0 when every selected address is known (discovered or set in the
 * topology), 1 when a cluster could not be read or has no address yet,
 * 2 on a usage error. The Kubernetes client is loaded only here.
 */
import { Command } from 'commander';
import { loadTopology } from '../model/load';
import { discoverAddresses, formatDiscoverReport } from '../status/discover';
import type { Io } from './main';
import { checkClusterNames, LOCK_TIMEOUT_OPTION, lockOptions, parseSeconds, withTopologyFiles } from './options';

/** Exit code when an address could not be discovered. */
export const EXIT_NOT_DISCOVERED = 1;

/** Default time limit of one request, in seconds. */
export const DEFAULT_DISCOVER_TIMEOUT_S = 15;

/** The `discover` subcommand. */
export function discoverCommand(io: Io, setExitCode: (code: number) => void): Command {
  const cmd = withTopologyFiles(new Command('discover'));
  return cmd
    .description('read the east-west gateway addresses the topology leaves unset off the clusters (with your kube contexts) and store them in the key store for synth')
    .option('--cluster <name...>', 'only these clusters')
    .option('--timeout <seconds>', 'give up on an API server that has not answered a request within this time', parseSeconds, DEFAULT_DISCOVER_TIMEOUT_S)
    .option(...LOCK_TIMEOUT_OPTION)
    .action(async (opts: { file: string[]; cluster?: string[]; timeout: number; lockTimeout?: number }) => {
      const topology = loadTopology(opts.file, { discovered: 'lenient' });
      checkClusterNames(cmd, topology, opts.cluster);
      const { contextReader } = await import('../status/kube-client');
      const report = await discoverAddresses(topology, {
        clusters: opts.cluster,
        readerFor: (_mesh, cluster) => contextReader(cluster, { timeoutMs: opts.timeout * 1000 }),
        lock: lockOptions(io, opts),
      });
      io.out(formatDiscoverReport(report, topology));
      setExitCode(report.ok ? 0 : EXIT_NOT_DISCOVERED);
    });
}
