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
import { awaitingOf, incompleteOutputError, MeshAwaiting, pendingOf, resolveTopologyCredentials } from '../synth/pending';
import { awaitingLines, pendingLines } from './synth';

/** The `validate` subcommand. */
export function validateCommand(io: Io): Command {
  return withTopologyFiles(new Command('validate'))
    .description('check the topology file(s) and the credentials they name, and report every problem; writes nothing')
    .option('--strict', 'also fail when remote secrets would be pending or output would wait for an east-west gateway address (for CI)')
    .action((opts: { file: string[]; strict?: boolean }) => {
      const topology = loadTopology(opts.file);
      // The certificates Secrets are sealed for, and the credentials remote secrets carry, are read as synth reads them: validate catches what synth would.
      readTopologySealingKeys(topology);
      const credentials = resolveTopologyCredentials(topology);
      const pending = pendingOf(topology, credentials);
      const awaiting = awaitingOf(topology);
      if (opts.strict) {
        const err = incompleteOutputError(topology, pending, awaiting);
        if (err) throw err;
      }
      for (const p of pending) io.err(`${pendingLines(p).join('\n')}\n`);
      for (const a of awaiting) io.err(`${awaitingLines(a).join('\n')}\n`);
      for (const mesh of topology.meshes) {
        io.out(
          `mesh "${mesh.name}" (mesh ID ${mesh.meshID}, Istio ${mesh.istio.version}): ` +
            `${plural(mesh.clusters.length, 'cluster')} on ${plural(meshNetworks(mesh).length, 'network')}\n`,
        );
      }
      const notes = [
        ...(pending.length > 0 ? [`the remote secrets of ${plural(pending.length, 'cluster')} pending`] : []),
        ...waitingNotes(awaiting),
      ];
      io.out(`${topology.files.join(', ')}: valid${notes.length > 0 ? `, with ${notes.join(' and ')} (validate --strict fails on it)` : ''}\n`);
    });
}

/** What validate's summary says waits for an east-west gateway address: remotes' control planes, imported services. */
function waitingNotes(awaiting: readonly MeshAwaiting[]): string[] {
  const remotes = awaiting.filter((a) => a.kind === 'control-plane').length;
  const imports = awaiting.filter((a) => a.kind === 'import').length;
  return [
    ...(remotes > 0 ? [`${plural(remotes, 'remote')} waiting for ${remotes === 1 ? 'its' : 'their'} primary's address`] : []),
    ...(imports > 0 ? [`${plural(imports, 'imported service endpoint')} waiting for ${imports === 1 ? 'its' : 'their'} exporting cluster's address`] : []),
  ];
}
