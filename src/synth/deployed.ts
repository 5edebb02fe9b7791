/**
 * What earlier output holds: the `cacerts` Secret of each cluster folder a
 * mesh owns. The root guard of synth and the stage checks of a root
 * rotation read it; it is the state users committed and rolled out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CACERTS_SECRET_NAME } from '../constructs/cacerts-secret';
import { ISTIO_SYSTEM } from '../constructs/names';
import { compareStrings } from '../order';
import { displayPath } from '../paths';
import type { DeployedCacerts } from '../pki/rotate';
import { manifestFileName } from './files';
import { ownerOf } from './write';

const SECRET_FILE = manifestFileName({ apiVersion: 'v1', kind: 'Secret', metadata: { name: CACERTS_SECRET_NAME, namespace: ISTIO_SYSTEM } });

/** The cacerts Secret file of a cluster folder: at its top, or in a sub-folder (an engine's `prereqs/`). */
function secretFileIn(dir: string): string | undefined {
  const top = path.join(dir, SECRET_FILE);
  if (fs.existsSync(top)) return top;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareStrings(a.name, b.name))) {
    const nested = path.join(dir, entry.name, SECRET_FILE);
    if (entry.isDirectory() && fs.existsSync(nested)) return nested;
  }
  return undefined;
}

/** Per cluster folder of `mesh` in `outdir`: its cacerts root-cert.pem and cert-chain.pem. Unreadable folders are left out. */
export function readDeployedCacerts(outdir: string, mesh: string): Map<string, DeployedCacerts> {
  const found = new Map<string, DeployedCacerts>();
  if (!fs.existsSync(outdir) || !fs.statSync(outdir).isDirectory()) return found;
  for (const entry of fs.readdirSync(outdir).sort(compareStrings)) {
    const dir = path.join(outdir, entry);
    if (ownerOf(dir) !== mesh) continue;
    try {
      const file = secretFileIn(dir);
      if (!file) continue;
      const data = (parse(fs.readFileSync(file, 'utf8')) as { data?: Record<string, string> })?.data;
      const text = (key: string) => Buffer.from(data?.[key] ?? '', 'base64').toString('utf8');
      if (data?.['root-cert.pem']) found.set(entry, { source: displayPath(file), 'root-cert.pem': text('root-cert.pem'), 'cert-chain.pem': text('cert-chain.pem') });
    } catch {
      // Missing or unreadable: nothing to compare with.
    }
  }
  return found;
}

/** The roots the first cluster folder of `mesh` trusts, for synth's root guard. */
export function readDeployedRoot(outdir: string, mesh: string): { source: string; certPem: string } | undefined {
  const first = [...readDeployedCacerts(outdir, mesh).values()][0];
  return first ? { source: path.dirname(first.source), certPem: first['root-cert.pem'] } : undefined;
}
