/**
 * `meshgen certs status`: the CA certificates of every mesh, for people and
 * for scheduled CI jobs (`--warn-days`, `--json`).
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadTopology } from '../model/load';
import { CertificateStatus, meshCertificatesStatus } from '../pki/status';
import type { Io } from './main';
import { withTopologyFiles } from './options';

/** Exit code when a certificate needs attention. */
export const EXIT_ATTENTION = 1;

function days(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('needs a whole number of days');
  return n;
}

/** The `certs` command group. */
export function certsCommand(io: Io, setExitCode: (code: number) => void): Command {
  const group = new Command('certs').description('inspect the CA certificates in the key stores');
  group.addCommand(
    withTopologyFiles(new Command('status'))
      .description('subject, key, serial, validity, days left and chain check of every root and intermediate; exit 1 if any needs attention')
      .option('--warn-days <n>', 'also exit 1 when a certificate expires within n days', days)
      .option('--json', 'print the status as JSON')
      .action((opts: { file: string[]; warnDays?: number; json?: boolean }) => {
        const topology = loadTopology(opts.file);
        const statuses = topology.meshes.map((m) => meshCertificatesStatus(m));
        const all = statuses.flatMap((s) => [s.root, ...s.intermediates]);
        const attention = (c: CertificateStatus) =>
          c.present && (c.verifies === false || (opts.warnDays !== undefined && (c.daysLeft ?? 0) < opts.warnDays));
        if (opts.json) io.out(`${JSON.stringify({ meshes: statuses, attention: all.filter(attention).map((c) => c.file) }, null, 2)}\n`);
        else {
          for (const s of statuses) {
            io.out(`mesh "${s.mesh}", key store ${s.keyStore}\n`);
            for (const c of [s.root, ...s.intermediates]) io.out(`  ${line(c, attention(c))}\n`);
          }
        }
        setExitCode(all.some(attention) ? EXIT_ATTENTION : 0);
      }),
  );
  return group;
}

function line(c: CertificateStatus, flagged: boolean): string {
  if (c.managedBy && c.name === 'root') return `root: held by the cert-manager issuer (${c.file}); give trust.rootCert to check it here`;
  if (c.managedBy) return `${c.name}: made in the cluster by ${c.managedBy} (${c.file}); check it with kubectl get certificate cacerts -n istio-system`;
  if (!c.present) return `${c.name}: not made yet (${c.file}); meshgen synth makes it`;
  const state = c.verifies ? 'chain ok' : `FAILS: ${c.problem}`;
  return (
    `${flagged ? '! ' : ''}${c.name}: ${c.subject}; ${c.key}; serial ${c.serial}; ` +
    `${c.notBefore?.slice(0, 10)} → ${c.notAfter?.slice(0, 10)} (${c.daysLeft} days left); ${state}`
  );
}
