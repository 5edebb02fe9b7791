/**
 * `meshgen credentials fetch`: store the reader tokens of reader-token
 * clusters, for the next synth's remote secrets. The Kubernetes client is
 * loaded only here, so other commands start fast.
 */
import { Command } from 'commander';
import { CredentialsError } from '../errors';
import { loadTopology } from '../model/load';
import { plural } from '../text';
import type { Io } from './main';
import { LOCK_TIMEOUT_OPTION, lockOptions, parseSeconds, withTopologyFiles } from './options';

/** The `credentials` command group. */
export function credentialsCommand(io: Io): Command {
  const group = new Command('credentials').description('manage the API credentials that remote secrets carry');
  group.addCommand(
    withTopologyFiles(new Command('fetch'))
      .description(
        'read the token of istio-reader-service-account from every reader-token cluster (with your kube contexts) into the key store; then run synth again',
      )
      .option('--cluster <name...>', 'only these clusters')
      .option('--timeout <seconds>', 'give up on a cluster that has not answered within this time', parseSeconds, 15)
      .option(...LOCK_TIMEOUT_OPTION)
      .action(async (opts: { file: string[]; cluster?: string[]; timeout: number; lockTimeout?: number }) => {
        const topology = loadTopology(opts.file);
        const { fetchReaderTokens, readerTokenClusters } = await import('../credentials/fetch');
        const selected = readerTokenClusters(topology, opts.cluster);
        const unknown = (opts.cluster ?? []).filter((name) => !selected.some((s) => s.cluster.name === name));
        if (unknown.length > 0 || selected.length === 0) {
          throw new CredentialsError(
            unknown.length > 0
              ? `not clusters with credentials.source: reader-token: ${unknown.join(', ')}`
              : 'no cluster of the topology has credentials.source: reader-token',
          );
        }
        const outcomes = await fetchReaderTokens(topology, { clusters: opts.cluster, timeoutMs: opts.timeout * 1000, lock: lockOptions(io, opts) });
        const failed = outcomes.flatMap((o) => (o.status === 'failed' ? [o.problem] : []));
        for (const o of outcomes) {
          if (o.status !== 'failed') io.out(`${o.cluster}: reader token ${o.status} (mesh "${o.mesh}")\n`);
        }
        const stored = outcomes.filter((o) => o.status === 'new' || o.status === 'updated').length;
        if (stored > 0) io.out(`run \`meshgen synth\` to write the remote secrets that carry ${stored === 1 ? 'it' : 'them'}\n`);
        if (failed.length > 0) {
          throw new CredentialsError(`${plural(failed.length, 'cluster')} failed`, failed);
        }
      }),
  );
  return group;
}
