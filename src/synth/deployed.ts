/**
 * What earlier output holds: what each cluster folder a mesh owns trusts,
 * from the fingerprints in its marker (or, for output of an older meshgen,
 * its `cacerts` Secret). The root guard of synth and the stage checks of a
 * root rotation read it; it is the state users committed and rolled out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CACERTS_SECRET_NAME } from '../constructs/cacerts-secret';
import { ISTIO_SYSTEM } from '../constructs/names';
import { compareStrings } from '../order';
import { displayPath } from '../paths';
import type { DeployedCacerts } from '../pki/rotate';
import { fingerprintsOf, trustFactsOf } from '../pki/trust-facts';
import { manifestFileName } from './files';
import { MARKER_FILE, markerTrust } from './render';
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

/** Per cluster folder of `mesh` in `outdir`: what it trusts. Folders that say nothing readable are left out. */
export function readDeployedCacerts(outdir: string, mesh: string): Map<string, DeployedCacerts> {
  const found = new Map<string, DeployedCacerts>();
  if (!fs.existsSync(outdir) || !fs.statSync(outdir).isDirectory()) return found;
  for (const entry of fs.readdirSync(outdir).sort(compareStrings)) {
    const dir = path.join(outdir, entry);
    if (ownerOf(dir) !== mesh) continue;
    const marker = path.join(dir, MARKER_FILE);
    const facts = markerTrust(fs.readFileSync(marker, 'utf8'));
    if (facts) {
      found.set(entry, { source: displayPath(marker), ...facts });
      continue;
    }
    try {
      const file = secretFileIn(dir);
      if (!file) continue;
      const data = (parse(fs.readFileSync(file, 'utf8')) as { data?: Record<string, string> })?.data;
      const text = (key: string) => Buffer.from(data?.[key] ?? '', 'base64').toString('utf8');
      const roots = fingerprintsOf(text('root-cert.pem'));
      // An encrypted Secret (SOPS) decodes to no certificate: nothing to compare with.
      if (roots.length > 0) found.set(entry, { source: displayPath(file), ...trustFactsOf(text('root-cert.pem'), text('cert-chain.pem'), []) });
    } catch {
      // Unreadable: nothing to compare with.
    }
  }
  return found;
}

/** The roots the first cluster folder of `mesh` trusts, for synth's root guard. */
export function readDeployedRoot(outdir: string, mesh: string): { source: string; fingerprints: readonly string[] } | undefined {
  const first = [...readDeployedCacerts(outdir, mesh).values()].find((d) => d.roots.length > 0);
  return first ? { source: path.dirname(first.source), fingerprints: first.roots } : undefined;
}
