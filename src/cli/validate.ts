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

/** The `validate` subcommand. */
export function validateCommand(io: Io): Command {
  return withTopologyFiles(new Command('validate'))
    .description('check the topology file(s) and report every problem; writes nothing')
    .action((opts: { file: string[] }) => {
      const topology = loadTopology(opts.file);
      // The certificates Secrets are sealed for are files of their own: read them too, so that validate catches what synth would.
      readTopologySealingKeys(topology);
      for (const mesh of topology.meshes) {
        io.out(
          `mesh "${mesh.name}" (mesh ID ${mesh.meshID}, Istio ${mesh.istio.version}): ` +
            `${plural(mesh.clusters.length, 'cluster')} on ${plural(meshNetworks(mesh).length, 'network')}\n`,
        );
      }
      io.out(`${topology.files.join(', ')}: valid\n`);
    });
}
