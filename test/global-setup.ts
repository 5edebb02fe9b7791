/**
 * Once before any test file: the tools the tests check meshgen's output
 * with and that a fresh machine may lack are installed here, one at a time,
 * rather than by test files running in parallel (apt-get takes a lock).
 */
import { spawnSync } from 'node:child_process';

/** Installs Debian package `pkg` for `command` when the command is missing, as the kube-apiserver kit installs etcd. */
function ensureCommand(command: string, pkg: string): void {
  if (spawnSync(command, ['--version']).status === 0) return;
  const root = process.getuid?.() === 0;
  const install = (args: string[]) => spawnSync(root ? args[0] : 'sudo', root ? args.slice(1) : ['-n', ...args], { stdio: 'ignore' });
  if (install(['apt-get', 'install', '-y', '-q', pkg]).status !== 0) install(['apt-get', 'update', '-q']), install(['apt-get', 'install', '-y', '-q', pkg]);
  if (spawnSync(command, ['--version']).status !== 0) {
    throw new Error(`the tests need the ${command} command (Debian package "${pkg}"), and it could not be installed: apt-get install ${pkg}`);
  }
}

export default function setup(): void {
  // The Go age implementation unwraps SOPS data keys in the reference decryptor (test/helpers/sops.ts).
  ensureCommand('age', 'age');
  // The kube-apiserver kit's start.sh would install etcd itself; done here once, the integration files may start servers side by side.
  ensureCommand('etcd', 'etcd-server');
}
