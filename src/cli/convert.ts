/**
 * `meshgen convert`: turn a peer tool's topology file (ristioctl's
 * `mesh.yaml`, Istio setup-mesh's `topology.yaml`) into a commented
 * meshgen `mesh.yaml`, on stdout or into a new file.
 */
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { OutputError, TopologyError } from '../errors';
import { readSource } from '../model/source';
import { convertPeer, DEFAULT_PEER_ISTIO_VERSION, istioVersionProblem, PEER_FORMAT_TITLES } from '../model/peers';
import { displayPath, writeFileAtomically } from '../paths';
import { plural } from '../text';
import type { Io } from './main';
import { checkOutputFile } from './options';

/** Options of `meshgen convert`. */
interface ConvertOptions {
  readonly output?: string;
  readonly force?: boolean;
  readonly istioVersion: string;
}

/** The `convert` subcommand. */
export function convertCommand(io: Io): Command {
  return new Command('convert')
    .description('convert a ristioctl mesh.yaml or an Istio setup-mesh topology.yaml into a meshgen mesh.yaml (on stdout unless -o)')
    .argument('<file>', 'the peer topology file')
    .option('-o, --output <file>', 'write the converted topology to this new file instead of stdout')
    .option('--force', 'overwrite the -o file if it exists')
    .option('--istio-version <version>', 'Istio release for setup-mesh files, which name none', parseIstioVersion, DEFAULT_PEER_ISTIO_VERSION)
    .action(function (this: Command, file: string, opts: ConvertOptions) {
      if (opts.output !== undefined && opts.output.trim() === '') this.error("error: option '-o, --output <file>' needs a file name", { exitCode: 2 });
      const out = opts.output;
      if (out !== undefined) checkOutputFile(out, opts.force === true, file);
      const result = convertPeer(file, readPeerFile(file), { istioVersion: opts.istioVersion, outputFile: out });
      if (out === undefined) {
        io.out(result.yaml);
        return;
      }
      writeFileAtomically(out, result.yaml, 0o644, OutputError);
      const { topology } = result;
      const clusters = topology.meshes.reduce((n, m) => n + m.clusters.length, 0);
      io.out(
        `converted ${file} (${PEER_FORMAT_TITLES[result.format]}) to ${displayPath(path.resolve(out))}: ` +
          `${topology.meshes.length} ${topology.meshes.length === 1 ? 'mesh' : 'meshes'}, ${plural(clusters, 'cluster')}\n`,
      );
    });
}

/** Commander parser of `--istio-version`: a bad release is a usage error. */
function parseIstioVersion(value: string): string {
  const problem = istioVersionProblem(value, 'pass the release with --istio-version');
  if (problem) throw new InvalidArgumentError(`${problem.message}; ${problem.fix}.`);
  return value;
}

/** The text of the peer file; an unreadable file is a TopologyError naming it. */
function readPeerFile(file: string): string {
  const { text, problem } = readSource(file, 'the file');
  if (problem) throw new TopologyError(`cannot convert ${file}`, [{ ...problem, fix: 'pass the path of a readable ristioctl mesh.yaml or setup-mesh topology.yaml' }]);
  return text as string;
}

