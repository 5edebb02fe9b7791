/**
 * Moving a peer's mesh off an Istio release meshgen does not write for.
 *
 * Peer tools install releases older than meshgen's minimum (ristioctl's
 * examples all run Istio 1.18). Converting such a file keeps everything
 * else it means and moves the mesh to one release meshgen writes for; the
 * converted file then says, above `spec.istio`, which release the peer
 * named and which of Istio's upgrade notes to read before moving clusters
 * that run it. Pure: no disk access.
 */
import { MIN_ISTIO_VERSION } from '../validate';

/** Istio's page of every release, with the upgrade notes of each minor release. */
export const ISTIO_RELEASES_PAGE = 'https://istio.io/latest/news/releases/';

/** The upgrade notes of Istio `<major>.<minor>`: what changes for a mesh that moves to it from the minor release before. */
export function upgradeNotesUrl(major: number, minor: number): string {
  return `${ISTIO_RELEASES_PAGE}${major}.${minor}.x/announcing-${major}.${minor}/upgrade-notes/`;
}

/** `[major, minor]` of a release such as `1.18.0` or `1.30.3-beta.1`. */
function minorOf(version: string): [number, number] {
  const [major, minor] = version.split('.').map(Number);
  return [major, minor];
}

/** True when meshgen does not write for the release (older than MIN_ISTIO_VERSION); `version` is `<major>.<minor>.<patch>`. */
export function isBelowMinimumIstio(version: string): boolean {
  const [major, minor] = minorOf(version);
  const [minMajor, minMinor] = MIN_ISTIO_VERSION;
  return major < minMajor || (major === minMajor && minor < minMinor);
}

/** The oldest release meshgen writes for, as messages name it: `1.22`. */
export function minimumIstio(): string {
  return MIN_ISTIO_VERSION.join('.');
}

/**
 * The upgrade notes between two releases: those of every minor release
 * after `from` up to and including `to`. Across a major release, where the
 * minor releases cannot be listed, Istio's page of all releases.
 */
export function upgradeNotesBetween(from: string, to: string): string[] {
  const [fromMajor, fromMinor] = minorOf(from);
  const [toMajor, toMinor] = minorOf(to);
  if (fromMajor !== toMajor) return [ISTIO_RELEASES_PAGE];
  const urls: string[] = [];
  for (let minor = fromMinor + 1; minor <= toMinor; minor++) urls.push(upgradeNotesUrl(toMajor, minor));
  return urls.length > 0 ? urls : [ISTIO_RELEASES_PAGE];
}

/** One cluster of a peer file whose release meshgen moved. */
export interface MovedCluster {
  /** The cluster's name in the converted file. */
  readonly name: string;
  /** The release the peer file names for it. */
  readonly from: string;
}

/** How the release a mesh was moved to was chosen. */
export interface UpgradeTarget {
  /** The release the mesh gets. */
  readonly version: string;
  /** True when the user chose it (`meshgen convert --istio-version`); false for meshgen's default. */
  readonly given: boolean;
}

/**
 * The comment above `spec.istio` of a mesh moved to `target`: which
 * releases the peer file named, why they changed, and the upgrade notes
 * to read from the oldest of them on. `source` names the peer's setting,
 * e.g. `The ristioctl file's spec.version`.
 */
export function istioUpgradeNotes(source: string, moved: readonly MovedCluster[], target: UpgradeTarget): string[] {
  const releases = [...new Set(moved.map((c) => c.from))].sort(compareReleases);
  const named = releases.map((from) => `Istio ${from} for ${listed(moved.filter((c) => c.from === from).map((c) => c.name))}`).join(' and ');
  const chosen = target.given ? 'chosen with meshgen convert --istio-version' : 'meshgen\'s default; choose another with meshgen convert --istio-version';
  const oldest = releases[0];
  return [
    `${source} names ${named}, older than Istio ${minimumIstio()}, the oldest release meshgen writes for. ` +
      `This mesh gets Istio ${target.version} instead (${chosen}); everything else keeps the meaning it had.`,
    `New clusters need nothing more. Clusters that run Istio ${oldest} now cannot jump to ${target.version} with these manifests: ` +
      'Istio upgrades a running mesh one minor release at a time (two with a canary upgrade). Upgrade them step by step, or ' +
      `reinstall them, and read the upgrade notes of every release from ${oldest} to ${target.version} for what changes:`,
    ...upgradeNotesBetween(oldest, target.version),
  ];
}

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Orders releases by major, minor and patch number. */
export function compareReleases(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) {
    if (pa[i] !== pb[i]) return pa[i] - pb[i];
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
