/**
 * `meshgen synth`: write one folder of manifests per cluster.
 */
import { Command } from 'commander';
import { loadTopology } from '../model/load';
import { displayPath } from '../pki/key-store';
import { synthesize } from '../synth/synthesize';
import type { Io } from './main';
import { plural, withTopologyFiles } from './options';

/** The `synth` subcommand. */
export function synthCommand(io: Io): Command {
  return withTopologyFiles(new Command('synth'))
    .description('write dist/<cluster>/ for every cluster: manifests, kustomization.yaml and README.md')
    .option('-o, --output <dir>', 'output folder', 'dist')
    .action(async (opts: { file: string[]; output: string }) => {
      const topology = loadTopology(opts.file);
      const result = await synthesize(topology, { outdir: opts.output });
      const out = displayPath(result.outdir);
      for (const mesh of result.meshes) {
        io.out(`mesh "${mesh.name}": ${plural(mesh.clusters.length, 'cluster')} written to ${out}/\n`);
        const width = Math.max(...mesh.clusters.map((c) => c.name.length));
        for (const c of mesh.clusters) {
          io.out(`  ${c.name.padEnd(width)}  ${plural(c.files, 'file')}, intermediate CA ${c.intermediate}\n`);
        }
        io.out(`  root CA ${mesh.root}, key store ${displayPath(mesh.keyStore)}\n`);
      }
      for (const name of result.removed) io.out(`removed ${out}/${name}/: its cluster is no longer in the topology\n`);
    });
}
