/**
 * `meshgen validate`: load and check the topology, write nothing.
 */
import { Command } from 'commander';
import { loadTopology } from '../model/load';
import { readTopologySealingKeys } from '../secrets/sealing-cert';
import { meshNetworks } from '../model/types';
import type { Io } from './main';
import { plural } from '../text';
import { withTopologyFiles } from './options';
import { pendingOf, resolveTopologyCredentials, strictPendingError } from '../synth/synthesize';
import { pendingLines } from './synth';

/** The `validate` subcommand. */
export function validateCommand(io: Io): Command {
  return withTopologyFiles(new Command('validate'))
    .description('check the topology file(s) and the credentials they name, and report every problem; writes nothing')
    .option('--strict', 'also fail when remote secrets would be pending (for CI)')
    .action((opts: { file: string[]; strict?: boolean }) => {
      const topology = loadTopology(opts.file);
      // The certificates Secrets are sealed for, and the credentials remote secrets carry, are read as synth reads them: validate catches what synth would.
      readTopologySealingKeys(topology);
      const credentials = resolveTopologyCredentials(topology);
      if (opts.strict) {
        const err = strictPendingError(topology, credentials);
        if (err) throw err;
      }
      const pending = pendingOf(topology, credentials);
      for (const p of pending) io.err(`${pendingLines(p).join('\n')}\n`);
      for (const mesh of topology.meshes) {
        io.out(
          `mesh "${mesh.name}" (mesh ID ${mesh.meshID}, Istio ${mesh.istio.version}): ` +
            `${plural(mesh.clusters.length, 'cluster')} on ${plural(meshNetworks(mesh).length, 'network')}\n`,
        );
      }
      io.out(`${topology.files.join(', ')}: valid${pending.length > 0 ? `, with the remote secrets of ${plural(pending.length, 'cluster')} pending (validate --strict fails on it)` : ''}\n`);
    });
}
