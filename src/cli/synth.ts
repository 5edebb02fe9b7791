/**
 * `meshgen synth`: write one folder of manifests per cluster.
 */
import { Command } from 'commander';
import { loadTopology } from '../model/load';
import { displayPath } from '../paths';
import { synthesize } from '../synth/synthesize';
import type { Io } from './main';
import { plural } from '../text';
import { withTopologyFiles } from './options';

/** The `synth` subcommand. */
export function synthCommand(io: Io): Command {
  return withTopologyFiles(new Command('synth'))
    .description('write dist/<cluster>/ for every cluster: manifests, kustomization.yaml and README.md')
    .option('-o, --output <dir>', 'output folder', 'dist')
    .option('--new-root', 'accept a new root CA although the output was made under another one (replaces the mesh CA: roll out every cluster)')
    .action(async function (this: Command, opts: { file: string[]; output: string; newRoot?: boolean }) {
      if (opts.output.trim() === '') this.error("error: option '-o, --output <dir>' needs a folder name", { exitCode: 2 });
      const topology = loadTopology(opts.file);
      const result = await synthesize(topology, { outdir: opts.output, allowNewRoot: opts.newRoot });
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
      for (const p of result.pending) {
        io.out(`pending: remote secrets of cluster "${p.cluster}" (mesh "${p.mesh}"): ${p.reason}\n    next: ${p.fix}\n`);
      }
      for (const name of result.foreign) io.out(`kept ${out}/${name}/: made for a mesh that is not in this topology\n`);
    });
}
