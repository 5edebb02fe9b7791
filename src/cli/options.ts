/**
 * Options shared by several subcommands.
 */
import { Command } from 'commander';

/** Default topology file, in the working folder. */
export const DEFAULT_TOPOLOGY = 'mesh.yaml';

/** Adds `-f, --file <path...>`: one or more topology files. */
export function withTopologyFiles(cmd: Command): Command {
  return cmd.option('-f, --file <path...>', 'topology file(s); repeat or list several', [DEFAULT_TOPOLOGY]);
}

/** Adds `-o, --output <dir>`: the output folder. */
export function outputOption(cmd: Command): Command {
  return cmd.option('-o, --output <dir>', 'output folder', 'dist');
}
