/**
 * Peer topology formats: recognising them, and what every converter shares.
 *
 * Two other tools describe multicluster meshes in files of their own:
 * ristioctl (`mesh.yaml`, Kubernetes-style documents) and Istio's old
 * `setup-mesh` (`topology.yaml`). This module tells them apart, reads them
 * with problems that name file, path, line and fix, derives DNS-1123 names
 * from theirs, and defines the converted form that `index.ts` writes as
 * native Mesh documents. Pure: no disk access.
 */
import * as path from 'node:path';
import { Problem, TopologyError } from '../../errors';
import { plural } from '../../text';
import { ISTIO_VERSION_PATTERN } from '../schema';
import { nearest } from '../schema-check';
import { toDnsLabel, uniqueLabels } from '../names';
import { describeValue, DocPath, formatPath, parseSource, problemAt, SourceDocument } from '../source';

export { describeValue } from '../source';
import { isBelowMinimumIstio, minimumIstio } from './istio-upgrade';

/** The peer formats meshgen converts. */
export type PeerFormat = 'ristioctl' | 'setup-mesh';

/** How each format is named in messages and comments. */
export const PEER_FORMAT_TITLES: Readonly<Record<PeerFormat, string>> = {
  ristioctl: 'ristioctl mesh.yaml',
  'setup-mesh': 'Istio setup-mesh topology.yaml',
};

/** API group of ristioctl's documents; any version of it marks a ristioctl file. */
export const RISTIOCTL_API_GROUP = 'ristioctl.k8smgmt.io';

/**
 * The peer format of a topology text, or undefined when it is neither (a
 * native meshgen file, another YAML file, or no YAML at all).
 *
 * A ristioctl file has a document whose `apiVersion` is
 * `ristioctl.k8smgmt.io/<version>`; a setup-mesh file is one mapping with a
 * top-level `mesh_id` and `contexts` (or, in its older form, `clusters`)
 * as its first document.
 * Documents with YAML errors are skipped, so that a peer file with a typo
 * is still recognised and its converter can report the error.
 */
export function detectPeerFormat(text: string): PeerFormat | undefined {
  return peerFormatOf(parseValues(text));
}

/** detectPeerFormat() of documents parsed already: the values of those without YAML errors, as parseSource() gives them. */
export function peerFormatOf(values: readonly unknown[]): PeerFormat | undefined {
  const maps = values.filter(isRecord);
  if (maps.some((m) => typeof m.apiVersion === 'string' && m.apiVersion.startsWith(`${RISTIOCTL_API_GROUP}/`))) return 'ristioctl';
  const first = values[0];
  if (isRecord(first) && first.apiVersion === undefined && 'mesh_id' in first && ('contexts' in first || 'clusters' in first)) {
    return 'setup-mesh';
  }
  return undefined;
}

/** The plain values of the documents of `text` that parse without errors, read exactly as the loader reads them (merge keys, unique keys). */
function parseValues(text: string): unknown[] {
  return parseSource('', text).docs.map((d) => d.value);
}

/** True for a plain mapping (not a list, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A path as a peer file's user reads it: `documents[1].spec.context`,
 * `contexts["arn:aws:eks:…:cluster/c2"].network`.
 */
export function formatPeerPath(p: DocPath): string {
  return formatPath(p, { quoteKeys: true });
}

/** Parses every document of a peer file; YAML errors throw at once, as nothing can be converted around them. */
export function parsePeerDocuments(file: string, text: string, format: PeerFormat): SourceDocument[] {
  const parsed = parseSource(file, text);
  if (parsed.problems.length > 0) throw conversionError(file, format, parsed.problems);
  return parsed.docs;
}

/** The error listing every problem of one peer file. */
export function conversionError(file: string, format: PeerFormat, problems: readonly Problem[]): TopologyError {
  return new TopologyError(`cannot convert ${file} (${PEER_FORMAT_TITLES[format]}): ${plural(problems.length, 'problem')}`, problems);
}

/**
 * Reads the values of one peer file, collecting a located problem for each
 * one that is missing or of the wrong type. The getters return undefined
 * for a bad value, so reading goes on and every problem is reported.
 */
export class PeerReader {
  /** Every problem found so far. */
  public readonly problems: Problem[] = [];

  /**
   * @param file the peer file as the user named it
   * @param documentPaths prefix paths with `documents[<index>]`, for files of several documents
   */
  constructor(
    public readonly file: string,
    private readonly documentPaths: boolean,
  ) {}

  /** The path of `p` in `doc` as shown to the user. */
  public pathOf(doc: SourceDocument, p: DocPath): string {
    return formatPeerPath(this.documentPaths ? ['documents', doc.index, ...p] : p);
  }

  /** Adds a problem at `p` in `doc` (at the key itself with `key: true`). */
  public add(doc: SourceDocument, p: DocPath, message: string, fix: string, opts?: { key?: boolean }): void {
    this.problems.push(problemAt(doc, p, message, fix, { key: opts?.key, file: this.file, shownPath: this.pathOf(doc, p) }));
  }

  /**
   * The mapping at `p`, or undefined (with a problem) when it is something
   * else. Keys outside `keys` are problems too, with the nearest valid key.
   */
  public map(
    doc: SourceDocument,
    p: DocPath,
    value: unknown,
    keys: readonly string[],
    what: string,
    requiredFix?: string,
  ): Record<string, unknown> | undefined {
    if (value === undefined && requiredFix) {
      this.add(doc, p, `${what} is missing`, requiredFix);
      return undefined;
    }
    if (!isRecord(value)) {
      this.add(doc, p, `${what} is ${describeValue(value)}, not a mapping`, `write ${what} as a mapping with the keys ${keys.join(', ')}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (keys.includes(key)) continue;
      // A longer form of a key (`folderPath` for `folder`) is too far from it for nearest().
      const near = nearest(key, keys) ?? keys.find((k) => key.toLowerCase().startsWith(k.toLowerCase()));
      this.add(
        doc,
        [...p, key],
        `unknown key ${JSON.stringify(key)}`,
        `${near ? `did you mean "${near}"? ` : ''}valid keys here: ${keys.join(', ')}`,
        { key: true },
      );
    }
    return value;
  }

  /** A string at `p`; a number becomes its string. Missing: a problem when `requiredFix` (how to add it) is given. */
  public string(doc: SourceDocument, p: DocPath, value: unknown, requiredFix?: string): string | undefined {
    if (value === undefined || value === null) {
      if (requiredFix) this.add(doc, p, `${this.lastKey(p)} is missing`, requiredFix);
      return undefined;
    }
    if (typeof value === 'number') return String(value);
    if (typeof value !== 'string' || value.trim() === '') {
      this.add(doc, p, `${this.lastKey(p)} is ${describeValue(value)}, not a non-empty string`, `write ${this.lastKey(p)} as a string`);
      return undefined;
    }
    return value;
  }

  /** A true or false at `p`, if set. */
  public boolean(doc: SourceDocument, p: DocPath, value: unknown): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    this.add(doc, p, `${this.lastKey(p)} is ${describeValue(value)}, not true or false`, `write ${this.lastKey(p)}: true or ${this.lastKey(p)}: false`);
    return undefined;
  }

  /** A whole number above zero at `p`, if set. */
  public positiveInteger(doc: SourceDocument, p: DocPath, value: unknown): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
    this.add(doc, p, `${this.lastKey(p)} is ${describeValue(value)}, not a whole number above 0`, `write ${this.lastKey(p)} as a number, e.g. 87600`);
    return undefined;
  }

  private lastKey(p: DocPath): string {
    const last = p[p.length - 1];
    return typeof last === 'string' ? last : formatPeerPath(p);
  }
}

/** True when a document of the text is a native meshgen one (`apiVersion: meshgen.dev/…`). */
export function isMeshgenTopology(text: string): boolean {
  return parseValues(text).some((v) => isRecord(v) && typeof v.apiVersion === 'string' && v.apiVersion.startsWith('meshgen.dev/'));
}

/**
 * Re-expresses a path of a peer file for the converted file: `~/…` and
 * absolute paths stay as they are; a relative path, which the peer tool
 * resolves against its file's folder, becomes relative to `toDir` (with `/`).
 */
export function rebasePath(p: string, fromDir: string, toDir: string): string {
  if (!isRelativePath(p)) return p;
  const rel = path.relative(path.resolve(toDir), path.resolve(fromDir, p));
  return (rel === '' ? '.' : rel).split(path.sep).join('/');
}

/** True for a relative path: neither absolute nor under the home folder (`~/…`). */
export function isRelativePath(p: string): boolean {
  return !(p === '~' || p.startsWith('~/') || path.isAbsolute(p));
}

/** Credentials of a converted cluster: only what the peer formats can say. */
export interface ConvertedCredentials {
  /** `reader-token` when the peer read the cluster with Istio's reader service account. */
  readonly source?: 'reader-token';
  /** Kubeconfig file, relative to the converted file's folder where possible. */
  readonly kubeconfig?: string;
}

/** One cluster of a converted mesh: always a primary. */
export interface ConvertedCluster {
  readonly name: string;
  readonly context: string;
  readonly network: string;
  readonly credentials: ConvertedCredentials;
  /** Sample apps to deploy. */
  readonly samples?: readonly ('helloworld' | 'sleep')[];
  /** Comment lines written above the cluster's list item. */
  readonly notes: readonly string[];
}

/** One mesh of a converted file, written as one native Mesh document. */
export interface ConvertedMesh {
  /** `metadata.name`, which is also the mesh ID. */
  readonly name: string;
  readonly istioVersion: string;
  /** `spec.trust.keyStore`, relative to the converted file's folder where possible. */
  readonly keyStore: string;
  /**
   * Other `spec.trust` keys the peer file asks for (validity, subject names, an encrypted root key).
   * @default - none
   */
  readonly trust?: Readonly<Record<string, unknown>>;
  /** Comment lines above the document. */
  readonly notes: readonly string[];
  /**
   * The releases the peer file named for this mesh's clusters when meshgen
   * does not write for them, and `istioVersion` became the release instead.
   * @default - none: the mesh runs the release the peer file names
   */
  readonly istioMovedFrom?: readonly string[];
  /** Comment lines above `spec.istio`. */
  readonly istioNotes: readonly string[];
  /** Comment lines above `spec.trust`. */
  readonly trustNotes: readonly string[];
  /** Comment lines above `spec.clusters`. */
  readonly clusterNotes: readonly string[];
  readonly clusters: readonly ConvertedCluster[];
}

/** A converted peer file, before it is written as text. */
export interface ConvertedTopology {
  /** Comment lines of the file header, after the line naming the source. */
  readonly notes: readonly string[];
  /** At least one mesh. */
  readonly meshes: readonly ConvertedMesh[];
}

/** What every converter is given. */
export interface ConverterInput {
  /** The peer file as the user named it. */
  readonly file: string;
  /** Its text. */
  readonly text: string;
  /** Folder the converted file will be in, which its relative paths are resolved against. */
  readonly outDir: string;
  /** Istio release for formats that name none, and for meshes moved off a release meshgen does not write for. */
  readonly istioVersion: string;
  /** True when the caller chose `istioVersion`; false when it is meshgen's default. */
  readonly istioVersionGiven: boolean;
  /**
   * A release older than meshgen supports becomes `istioVersion`, with a
   * comment naming it and the upgrade notes to read (true), or is a problem
   * of the file (false).
   */
  readonly upgradeOldIstio: boolean;
}

/** A note on a name the peer file gave that meshgen had to change, or nothing when it is kept. */
export function renameNote(what: string, raw: string, label: string, fallback: string, rule: string): string[] {
  if (raw === label) return [];
  const base = toDnsLabel(raw, fallback);
  const why = base === label ? rule : `${rule}, and "${base}" is already taken`;
  return [`${what} ${JSON.stringify(raw)} is named ${label} here: ${why}.`];
}

/**
 * A note on where the converted file's relative paths resolve, when it has
 * any from the peer file.
 */
export function relativePathNote(file: string, outDir: string, anyRelative: boolean): string[] {
  if (!anyRelative) return [];
  const peerDir = path.dirname(path.resolve(file));
  return path.resolve(outDir) === peerDir
    ? [`Relative paths below resolve against this file's folder, as they did against the folder of ${file}: keep this file there.`]
    : [`Relative paths of ${file} were rewritten to resolve against this file's folder.`];
}

/**
 * What is wrong with an Istio release meshgen is asked to write for, or
 * undefined when it is usable. `setIt` says where to give the release, e.g.
 * `set spec.version to the release`.
 */
export function istioVersionProblem(version: string, setIt: string): { message: string; fix: string } | undefined {
  if (!new RegExp(ISTIO_VERSION_PATTERN).test(version)) {
    return { message: `${JSON.stringify(version)} is not an Istio release`, fix: `${setIt}: <major>.<minor>.<patch>, e.g. 1.30.3` };
  }
  if (isBelowMinimumIstio(version)) {
    return {
      message: `Istio ${version} is too old: meshgen writes for Istio ${minimumIstio()} and later`,
      fix: `upgrade to Istio ${minimumIstio()}.0 or later and ${setIt}`,
    };
  }
  return undefined;
}

export { toDnsLabel, uniqueLabels };
