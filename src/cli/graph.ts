/**
 * `meshgen graph`: the topology as a picture, in Mermaid, Graphviz DOT or
 * SVG, to stdout or to a file.
 */
import { Command, Option } from 'commander';
import { OutputError } from '../errors';
import { toDot } from '../graph/dot';
import { toMermaid } from '../graph/mermaid';
import { topologyGraph } from '../graph/model';
import { loadTopology } from '../model/load';
import { clusterCount } from '../model/types';
import { displayPath, writeFileAtomically } from '../paths';
import { plural } from '../text';
import type { Io } from './main';
import { withTopologyFiles } from './options';

/** Output formats of `meshgen graph`. */
export const GRAPH_FORMATS = ['mermaid', 'svg', 'dot'] as const;

/** One of GRAPH_FORMATS. */
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** The `graph` subcommand. */
export function graphCommand(io: Io): Command {
  return withTopologyFiles(new Command('graph'))
    .description('draw the topology: meshes, networks, clusters, control planes, who reads whose API, and exported services')
    .addOption(new Option('--format <format>', 'output format').choices(GRAPH_FORMATS).default('mermaid'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async function (this: Command, opts: { file: string[]; format: GraphFormat; output?: string }) {
      if (opts.output !== undefined && opts.output.trim() === '') this.error("error: option '-o, --output <file>' needs a file name", { exitCode: 2 });
      const topology = loadTopology(opts.file);
      const graph = topologyGraph(topology);
      let text: string;
      if (opts.format === 'svg') {
        // Loaded here so that the WebAssembly Graphviz costs nothing to the other formats and commands.
        const { toSvg } = await import('../graph/svg');
        text = await toSvg(graph);
      } else {
        text = opts.format === 'dot' ? toDot(graph) : toMermaid(graph);
      }
      if (opts.output === undefined) {
        io.out(text);
        return;
      }
      writeFileAtomically(opts.output, text, 0o644, OutputError);
      const clusters = clusterCount(topology);
      const meshes = topology.meshes.length === 1 ? '1 mesh' : `${topology.meshes.length} meshes`;
      io.out(`graph of ${meshes}, ${plural(clusters, 'cluster')} written to ${displayPath(opts.output)} (${opts.format})\n`);
    });
}
