/**
 * Options shared by several subcommands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { OutputError } from '../errors';
import { DEFAULT_LOCK_TIMEOUT_MS, LockOptions } from '../lock';
import type { Topology } from '../model/types';
import type { Io } from './main';

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

/**
 * Refuses a file output (`-o`) that is a folder, that would replace the input file, or (without --force) that exists.
 * `input` names the file being read, when there is one.
 */
export function checkOutputFile(out: string, force: boolean, input?: string): void {
  if (input !== undefined && path.resolve(out) === path.resolve(input)) {
    throw new OutputError(`cannot write ${out}`, [
      { file: out, message: 'it is the file being converted', fix: 'write the converted topology to another file, e.g. -o meshgen.yaml' },
    ]);
  }
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(out);
  } catch {
    return;
  }
  if (stat.isDirectory() || (stat.isSymbolicLink() && fs.statSync(out, { throwIfNoEntry: false })?.isDirectory())) {
    throw new OutputError(`cannot write ${out}`, [{ file: out, message: 'it is a folder', fix: 'give -o the path of a file, e.g. -o mesh.yaml' }]);
  }
  if (!force) {
    throw new OutputError(`cannot write ${out}`, [
      { file: out, message: 'the file already exists', fix: 'pass --force to overwrite it, or choose another -o' },
    ]);
  }
}

/** `--lock-timeout <seconds>`: how long to wait for another run's lock. */
export const LOCK_TIMEOUT_OPTION = [
  '--lock-timeout <seconds>',
  'how long to wait for another meshgen run that holds the key store or the output folder',
  (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('give a number of seconds, 0 or more');
    return n;
  },
  DEFAULT_LOCK_TIMEOUT_MS / 1000,
] as const;

/** Lock options from the command line: notes about waiting and recovery go to stderr. */
export function lockOptions(io: Io, opts: { lockTimeout?: number }): LockOptions {
  return { timeoutMs: (opts.lockTimeout ?? DEFAULT_LOCK_TIMEOUT_MS / 1000) * 1000, onNote: (line) => io.err(`meshgen: ${line}\n`) };
}

/** Parses `--timeout <seconds>`: a number of seconds above 0. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('give a number of seconds above 0, e.g. --timeout 30');
  return n;
}

/** Stops `cmd` with a usage error (exit 2) when `--cluster` names clusters the topology does not have. */
export function checkClusterNames(cmd: Command, topology: Topology, names: readonly string[] | undefined): void {
  const known = topology.meshes.flatMap((m) => m.clusters.map((c) => c.name));
  const unknown = (names ?? []).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    cmd.error(`meshgen: not clusters of the topology: ${unknown.join(', ')} (it has ${known.join(', ')})`, { exitCode: 2, code: 'meshgen.unknownCluster' });
  }
}
