/**
 * `meshgen convert`: turn a peer tool's topology file (ristioctl's
 * `mesh.yaml`, Istio setup-mesh's `topology.yaml`) into a commented
 * meshgen `mesh.yaml`, on stdout or into a new file. A mesh on an Istio
 * release meshgen does not write for moves to `--istio-version`; the
 * converted file says so above `spec.istio`, and the command says so too.
 */
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { OutputError, TopologyError } from '../errors';
import { readSource } from '../model/source';
import { clusterCount } from '../model/types';
import { convertPeer, ConvertPeerResult, DEFAULT_PEER_ISTIO_VERSION, istioVersionProblem, PEER_FORMAT_TITLES } from '../model/peers';
import { displayPath, writeFileAtomically } from '../paths';
import { plural } from '../text';
import type { Io } from './main';
import { checkOutputFile } from './options';

/** Options of `meshgen convert`. */
interface ConvertOptions {
  readonly output?: string;
  readonly force?: boolean;
  /** Unset: meshgen's default release. */
  readonly istioVersion?: string;
}

/** The `convert` subcommand. */
export function convertCommand(io: Io): Command {
  return new Command('convert')
    .description('convert a ristioctl mesh.yaml or an Istio setup-mesh topology.yaml into a meshgen mesh.yaml (on stdout unless -o)')
    .argument('<file>', 'the peer topology file')
    .option('-o, --output <file>', 'write the converted topology to this new file instead of stdout')
    .option('--force', 'overwrite the -o file if it exists')
    .option(
      '--istio-version <version>',
      'Istio release for setup-mesh files, which name none, and for meshes whose file names a release older than meshgen writes for ' +
        `(default: ${DEFAULT_PEER_ISTIO_VERSION})`,
      parseIstioVersion,
    )
    .action(function (this: Command, file: string, opts: ConvertOptions) {
      if (opts.output !== undefined && opts.output.trim() === '') this.error("error: option '-o, --output <file>' needs a file name", { exitCode: 2 });
      const out = opts.output;
      if (out !== undefined) checkOutputFile(out, opts.force === true, file);
      const result = convertPeer(file, readPeerFile(file), { istioVersion: opts.istioVersion, outputFile: out, upgradeOldIstio: true });
      if (out === undefined) {
        io.out(result.yaml);
        for (const line of upgradeLines(result)) io.err(`meshgen: ${line}\n`);
        return;
      }
      writeFileAtomically(out, result.yaml, 0o644, OutputError);
      const { topology } = result;
      const clusters = clusterCount(topology);
      io.out(
        `converted ${file} (${PEER_FORMAT_TITLES[result.format]}) to ${displayPath(path.resolve(out))}: ` +
          `${topology.meshes.length} ${topology.meshes.length === 1 ? 'mesh' : 'meshes'}, ${plural(clusters, 'cluster')}\n` +
          upgradeLines(result).map((line) => `  ${line}\n`).join(''),
      );
    });
}

/** One line per mesh moved to another Istio release, pointing at the comment that explains it. */
function upgradeLines(result: ConvertPeerResult): string[] {
  return result.istioUpgrades.map(
    (u) =>
      `mesh "${u.mesh}": Istio ${u.from.join(', ')} is older than meshgen writes for, so it runs ${u.to}; ` +
      'the comment above its spec.istio lists the upgrade notes to read',
  );
}

/** Commander parser of `--istio-version`: a bad release is a usage error. */
function parseIstioVersion(value: string): string {
  const problem = istioVersionProblem(value, 'pass the release with --istio-version');
  if (problem) throw new InvalidArgumentError(`${problem.message}; ${problem.fix}.`);
  return value;
}

/** The text of the peer file; an unreadable file is a TopologyError naming it. */
function readPeerFile(file: string): string {
  const { text, problem } = readSource(file);
  if (problem) throw new TopologyError(`cannot convert ${file}: cannot read it`, [{ ...problem, fix: `${problem.fix}; convert takes a ristioctl mesh.yaml or a setup-mesh topology.yaml` }]);
  return text as string;
}

