/**
 * The `meshgen` command: parse → load → validate → build → write.
 * The only place that catches errors, prints them and picks exit codes:
 * 0 success, 1 invalid topology or failed synth, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { MeshgenError } from '../errors';
import { certsCommand } from './certs';
import { convertCommand } from './convert';
import { credentialsCommand } from './credentials';
import { diffCommand } from './diff';
import { discoverCommand } from './discover';
import { graphCommand } from './graph';
import { initCommand } from './init';
import { statusCommand } from './status';
import { synthCommand } from './synth';
import { validateCommand } from './validate';

/** Exit code of an invalid topology or a failed synth. */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error. */
export const EXIT_USAGE = 2;

/** Where the command writes; replaced in tests. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Streams whose reader went away (`meshgen certs status | head -1`): nothing more is written to them. */
const closed = new Set<NodeJS.WriteStream>();

/** Writes `text` to `stream` unless its reader is gone. */
function write(stream: NodeJS.WriteStream, text: string): void {
  if (!closed.has(stream)) stream.write(text);
}

const processIo: Io = {
  out: (t) => write(process.stdout, t),
  err: (t) => write(process.stderr, t),
};

/**
 * A reader that closes the pipe early is not an error of ours: the command
 * finishes quietly and exits with its own code. Any other error of a
 * standard stream ends the process with exit 1, without a stack trace.
 */
function guardStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      closed.add(stream);
      if (err.code !== 'EPIPE') process.exit(EXIT_FAILURE);
    });
  }
}

/** Version of the package, read at run time so it never drifts (from lib/src/cli when built, src/cli in tests). */
function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require(rel) as { version: string }).version;
    } catch {
      // Try the next place.
    }
  }
  return 'unknown';
}

/** Builds the command tree; commands that end with a non-zero code on success (diff) report it through `setExitCode`. */
export function buildProgram(io: Io, setExitCode: (code: number) => void = () => undefined): Command {
  const program = new Command('meshgen')
    .description('Generate per-cluster manifests for a multicluster Istio mesh from one topology file.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  program.addCommand(synthCommand(io));
  program.addCommand(validateCommand(io));
  program.addCommand(credentialsCommand(io));
  program.addCommand(diffCommand(io, setExitCode));
  program.addCommand(initCommand(io));
  program.addCommand(convertCommand(io));
  program.addCommand(graphCommand(io));
  program.addCommand(certsCommand(io, setExitCode));
  program.addCommand(statusCommand(io, setExitCode));
  program.addCommand(discoverCommand(io, setExitCode));
  const configure = (cmd: Command) => {
    cmd.configureOutput({ writeOut: io.out, writeErr: io.err }).exitOverride();
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs the command line `argv` (as process.argv) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return EXIT_USAGE;
    }
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    if (err instanceof MeshgenError) {
      io.err(`meshgen: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    const e = err as Error;
    io.err(`meshgen: unexpected error: ${e.message}\n`);
    if (process.env.MESHGEN_DEBUG) io.err(`${e.stack}\n`);
    return EXIT_FAILURE;
  }
}

/** Entry point of bin/meshgen. main() reports every error itself and never rejects. */
export function run(): void {
  guardStreams();
  void main(process.argv).then((code) => {
    process.exitCode = code;
    // Exit once the output is flushed: a request abandoned at its time limit (a silent API
    // server, an exec credential plugin waiting for a login) must not keep the process alive.
    const flush = (stream: NodeJS.WriteStream, then: () => void) => (closed.has(stream) ? then() : stream.write('', () => then()));
    flush(process.stdout, () => flush(process.stderr, () => process.exit(code)));
  });
}
