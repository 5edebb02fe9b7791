/**
 * What earlier output holds: what each cluster folder a mesh owns trusts,
 * from the fingerprints in its marker (or, for output of an older meshgen,
 * its `cacerts` Secret). The root guard of synth and the stage checks of a
 * root rotation read it; it is the state users committed and rolled out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CACERTS_SECRET_NAME, ISTIO_SYSTEM } from '../model/istio-names';
import { compareStrings } from '../order';
import { displayPath } from '../paths';
import type { DeployedCacerts } from '../pki/rotate';
import { fingerprintsOf, trustFactsOf } from '../pki/trust-facts';
import { manifestFileName } from './files';
import { MARKER_FILE, markerDataplane, markerTrust } from './marker';
import { ownerOf } from './write';
import type { Dataplane } from '../model/types';

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
    // Output of an older meshgen: the facts come from the cacerts Secret, if it can be read.
    const file = secretFileIn(dir);
    let raw = '';
    try {
      raw = file ? fs.readFileSync(file, 'utf8') : '';
      const data = (parse(raw) as { data?: Record<string, string> })?.data;
      const text = (key: string) => Buffer.from(data?.[key] ?? '', 'base64').toString('utf8');
      if (file && fingerprintsOf(text('root-cert.pem')).length > 0) {
        found.set(entry, { source: displayPath(file), ...trustFactsOf(text('root-cert.pem'), text('cert-chain.pem'), []) });
        continue;
      }
    } catch {
      // Not YAML: see below.
    }
    // Encrypted (SOPS) or sealed: the folder was made under some root, which cannot be told from here.
    const sealed = fs.readdirSync(dir).some((f) => f.endsWith('.yaml') && /^kind: SealedSecret$/m.test(fs.readFileSync(path.join(dir, f), 'utf8')));
    if (/ENC\[|^sops:/m.test(raw) || sealed) found.set(entry, { source: displayPath(file ?? dir), roots: [], extraRoots: [], unreadable: true });
  }
  return found;
}

/** The roots the first cluster folder of `mesh` trusts, for synth's root guard; `unreadable` when a folder exists but says nothing readable. */
export function readDeployedRoot(outdir: string, mesh: string): { source: string; fingerprints: readonly string[]; unreadable?: boolean } | undefined {
  const all = [...readDeployedCacerts(outdir, mesh).values()];
  const first = all.find((d) => d.roots.length > 0);
  if (first) return { source: path.dirname(first.source), fingerprints: first.roots };
  const hidden = all.find((d) => d.unreadable);
  return hidden ? { source: path.dirname(hidden.source), fingerprints: [], unreadable: true } : undefined;
}

/** Every folder of `outdir` that meshgen made, in name order, with its mesh and its marker's path and text. */
function madeFolders(outdir: string): { folder: string; mesh: string; marker: string; text: string }[] {
  if (!fs.existsSync(outdir) || !fs.statSync(outdir).isDirectory()) return [];
  return fs
    .readdirSync(outdir)
    .sort(compareStrings)
    .flatMap((folder) => {
      const dir = path.join(outdir, folder);
      const mesh = ownerOf(dir);
      if (mesh === undefined) return [];
      const marker = path.join(dir, MARKER_FILE);
      return [{ folder, mesh, marker, text: fs.readFileSync(marker, 'utf8') }];
    });
}

/** Every folder of `outdir` that meshgen made, with its mesh and what its marker says it trusts (folders whose marker says nothing are left out). */
export function readOutputFolders(outdir: string): { folder: string; mesh: string; trust: DeployedCacerts }[] {
  return madeFolders(outdir).flatMap(({ folder, mesh, marker, text }) => {
    const facts = markerTrust(text);
    return facts ? [{ folder, mesh, trust: { source: displayPath(marker), ...facts } }] : [];
  });
}

/** The data plane each folder of `outdir` that meshgen made for `mesh` was made for, as its marker records it. */
export function readOutputDataplanes(outdir: string, mesh: string): { folder: string; dataplane: Dataplane }[] {
  return madeFolders(outdir)
    .filter((f) => f.mesh === mesh)
    .map(({ folder, text }) => ({ folder, dataplane: markerDataplane(text) }));
}
