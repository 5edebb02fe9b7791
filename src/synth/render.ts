/**
 * Turns a cluster chart into the files of its output folder, in memory:
 * one file per object, the kustomization, the README and the marker that
 * tells later runs meshgen owns the folder. Writes nothing.
 *
 * Secrets that hold values are where the cluster's `secrets.encryption`
 * decides (`secretFile`): in plaintext, as SOPS files in `secrets/` that
 * no kustomization lists, or as SealedSecrets; encrypted ones are left to
 * the encryption step (`secrets` of the folder), which makes their text.
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { OutputError } from '../errors';
import { ClusterChart } from '../charts/cluster-chart';
import { sortBy } from '../order';
import { descriptionOf, folderOf } from '../constructs/description';
import { SECRETS_FOLDER } from '../charts/folders';
import type { SecretSettings } from '../model/types';
import { holdsSecretValues, SecretManifest } from '../secrets/secret-manifest';
import { FolderFile } from '../constructs/folder-file';
import { ISTIO_OPERATOR_API_VERSION } from '../constructs/istio-operator';
import { ApplyPlan, clusterReadme, SynthRun } from './readme';
import { CACERTS_SECRET_NAME } from '../constructs/cacerts-secret';
import { RemoteSecretManifests } from '../constructs/remote-secret';
import { ISTIO_SYSTEM } from '../constructs/names';
import { parseCertificate } from '../pki/inspect';
import { ManifestHead, manifestFileName, manifestText } from './files';

import { MARKER_FILE, markerText } from './marker';

/** One file of an output folder. */
export interface RenderedFile {
  /** Path relative to the folder. */
  readonly path: string;
  readonly content: string;
  /** File mode: 0600 for files holding private keys, 0644 otherwise. */
  readonly mode: number;
}

/** A Secret whose file the encryption step makes (see synth/encrypt.ts). */
export interface PendingSecret {
  /** Path of its file, relative to the folder. */
  readonly path: string;
  /** The Secret, in plaintext. */
  readonly manifest: SecretManifest;
  /** How it is encrypted. */
  readonly settings: Exclude<SecretSettings, { encryption: 'none' }>;
}

/** One output folder (`dist/<cluster>`). */
export interface RenderedFolder {
  /** Folder name: the cluster name. */
  readonly name: string;
  /** Name of the mesh the cluster belongs to. */
  readonly mesh: string;
  /** Files, sorted by path. */
  readonly files: readonly RenderedFile[];
  /**
   * Secrets still to be encrypted into files of their own; writeOutput refuses a folder that has any.
   * @default - none
   */
  readonly secrets?: readonly PendingSecret[];
}

/** How a Secret's file is written. */
export type SecretForm = 'plaintext' | 'sops' | 'sealed';

/**
 * Where the Secret `manifest`, placed in `folder`, is written under
 * `settings`, and whether a kustomization lists it: SOPS files go to
 * `secrets/` and are never listed (kubectl must not apply ciphertext);
 * a SealedSecret takes the Secret's place under its own kind.
 */
export function secretFile(manifest: ManifestHead, folder: string, settings: SecretSettings): { path: string; form: SecretForm; listed: boolean } {
  const at = (dir: string, head: ManifestHead) => (dir ? `${dir}/${manifestFileName(head)}` : manifestFileName(head));
  if (settings.encryption === 'sops') return { path: at(SECRETS_FOLDER, manifest), form: 'sops', listed: false };
  if (settings.encryption === 'sealed-secrets') return { path: at(folder, { ...manifest, kind: 'SealedSecret' }), form: 'sealed', listed: true };
  return { path: at(folder, manifest), form: 'plaintext', listed: true };
}

/** Options of renderCluster(). */
export interface RenderOptions {
  /**
   * The synth run that writes the folder: its README's `meshgen` commands carry its `-f` and `-o`, as paths from the cluster folder.
   * @default - the mesh's topology file and output folder `dist`, as `meshgen synth` defaults to
   */
  readonly run?: SynthRun;
}

/** The files of one cluster folder as they are rendered; a path claimed twice is an error naming it. */
class FolderFiles {
  public readonly files = new Map<string, RenderedFile>();
  private readonly taken = new Set<string>();

  constructor(private readonly cluster: string) {}

  /** Reserves `file` for a file written later (an encrypted Secret). */
  public claim(file: string): void {
    if (this.taken.has(file)) {
      throw new OutputError(`two objects of cluster "${this.cluster}" map to the same file`, [
        { file, message: 'is the file of two objects (the same kind, namespace and name, or a name meshgen uses itself)', fix: 'give the object you added another name' },
      ]);
    }
    this.taken.add(file);
  }

  public add(file: RenderedFile): void {
    this.claim(file.path);
    this.files.set(file.path, file);
  }
}

/** Where a chart's Kubernetes objects went: what the README lists, and the kustomizations that apply them. */
interface PlacedObjects {
  readonly byObject: ReadonlyMap<IConstruct, string>;
  readonly kubectl: ApplyPlan['kubectl'][number][];
  readonly preInstall: string[];
  readonly secrets: PendingSecret[];
  /** Sub-folder (or '' for the cluster folder itself) → files kubectl applies there. */
  readonly kustomizations: Map<string, string[]>;
}

/** Writes each object of the chart to its file (a Secret as its encryption says) and notes where it went. */
function placeObjects(chart: ClusterChart, documents: readonly ChartDocument[], files: FolderFiles): PlacedObjects {
  const placed: PlacedObjects = { byObject: new Map(), kubectl: [], preInstall: [], secrets: [], kustomizations: new Map([['', []]]) };
  const byObject = placed.byObject as Map<IConstruct, string>;
  const encryption = chart.cluster.secrets;
  for (const { source, json, description, text } of documents) {
    const folder = folderOf(source) ?? '';
    let file = folder ? `${folder}/${manifestFileName(json)}` : manifestFileName(json);
    let listed = true;
    let secret: SecretForm | undefined;
    if (holdsSecretValues(json)) {
      ({ path: file, listed, form: secret } = secretFile(json, folder, encryption));
      if (encryption.encryption === 'none') files.add({ path: file, content: text(), mode: 0o600 });
      else {
        files.claim(file);
        placed.secrets.push({ path: file, manifest: json, settings: encryption });
      }
    } else {
      files.add({ path: file, content: text(), mode: 0o644 });
    }
    byObject.set(source, file);
    if (json.apiVersion === ISTIO_OPERATOR_API_VERSION) continue;
    placed.kubectl.push({ file, what: describeSecret(description ?? `${json.kind} \`${json.metadata.name}\``, secret), secret });
    if (chart.isBeforeIstiod(source) && !folder) placed.preInstall.push(file);
    if (!listed) continue;
    if (!placed.kustomizations.has(folder)) placed.kustomizations.set(folder, []);
    placed.kustomizations.get(folder)!.push(folder ? file.slice(folder.length + 1) : file);
  }
  return placed;
}

/** Renders one cluster chart. Throws if a construct fails validation. */
export function renderCluster(chart: ClusterChart, opts: RenderOptions = {}): RenderedFolder {
  const constructs = chart.node.findAll();
  const errors = constructs.flatMap((c) => c.node.validate().map((e) => `${c.node.path}: ${e}`));
  if (errors.length > 0) throw new Error(`invalid constructs in ${chart.cluster.name}:\n  ${errors.join('\n  ')}`);

  const files = new FolderFiles(chart.cluster.name);
  const documents = documentsOf(constructs);
  const { byObject, kubectl, preInstall, secrets, kustomizations } = placeObjects(chart, documents, files);
  const istioctl = chart.istioctlInputs.map((op) => ({
    file: byObject.get(op.resource) as string,
    what: descriptionOf(op.resource) ?? `IstioOperator \`${op.name}\``,
  }));
  const other = constructs.filter(FolderFile.isFolderFile);
  for (const f of other) files.add({ path: f.path, content: manifestText(f.document), mode: 0o644 });

  for (const [folder, resources] of kustomizations) {
    files.add({
      path: folder ? `${folder}/kustomization.yaml` : 'kustomization.yaml',
      content: manifestText({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }),
      mode: 0o644,
    });
  }
  const folders = [...kustomizations.keys()].filter((f) => f !== '');
  const otherFiles = other.map((f) => ({ file: f.path, what: f.description, usedBy: f.usedBy, helm: f.helm }));
  // Only the last stage of a root rotation asks when the intermediate was issued.
  const intermediateIssued = chart.readme.rootRotation?.stage === 3 ? intermediateIssuedIn(documents.map((d) => d.json)) : undefined;
  files.add({
    path: 'README.md',
    content: clusterReadme(chart.readme, { preInstall, istioctl, kubectl, folders, other: otherFiles }, { run: opts.run, intermediateIssued }),
    mode: 0o644,
  });
  const encryption = chart.cluster.secrets;
  files.add({ path: MARKER_FILE, content: markerText(chart.mesh.name, chart.trustFacts, encryption, chart.mesh.dataplane), mode: 0o644 });
  return {
    name: chart.cluster.name,
    mesh: chart.mesh.name,
    files: sortBy([...files.files.values()], (f) => f.path),
    ...(secrets.length > 0 ? { secrets: sortBy(secrets, (s) => s.path) } : {}),
  };
}

/** A Kubernetes object of a chart, and where its facts for the folder come from. */
interface ChartDocument {
  /** The construct whose metadata (sub-folder, before istiod) applies: the ApiObject, or the RemoteSecretManifests holding it. */
  readonly source: IConstruct;
  readonly json: ManifestHead;
  /** Its README description, if it has one. */
  readonly description?: string;
  /** Its file's text. */
  readonly text: () => string;
}

/** Texts of manifests shared by many folders (remote secrets), by manifest: made once per run, not once per folder. */
const sharedTexts = new WeakMap<object, string>();

function sharedManifestText(manifest: object): string {
  let text = sharedTexts.get(manifest);
  if (text === undefined) sharedTexts.set(manifest, (text = manifestText(manifest)));
  return text;
}

/** The Kubernetes objects of `constructs` (a chart's, in tree order): each ApiObject, and each manifest of a RemoteSecretManifests in its place. */
function documentsOf(constructs: readonly IConstruct[]): ChartDocument[] {
  const documents: ChartDocument[] = [];
  for (const c of constructs) {
    if (ApiObject.isApiObject(c)) {
      const json = c.toJson() as ManifestHead;
      documents.push({ source: c, json, description: descriptionOf(c), text: () => manifestText(json) });
    } else if (RemoteSecretManifests.isRemoteSecretManifests(c)) {
      for (const e of c.entries) documents.push({ source: c, json: e.manifest, description: e.description, text: () => sharedManifestText(e.manifest) });
    }
  }
  return documents;
}

/** notBefore of the intermediate CA in the folder's `cacerts` Secret, if it has one. */
function intermediateIssuedIn(objects: readonly { kind?: string; metadata?: { name?: string; namespace?: string }; data?: Record<string, string> }[]): Date | undefined {
  const cacerts = objects.find((o) => o.kind === 'Secret' && o.metadata?.name === CACERTS_SECRET_NAME && o.metadata?.namespace === ISTIO_SYSTEM);
  const cert = parseCertificate(Buffer.from(cacerts?.data?.['ca-cert.pem'] ?? '', 'base64').toString('utf8'));
  return cert ? new Date(cert.validFrom) : undefined;
}

/** A Secret's README description, for the form its file takes. */
function describeSecret(what: string, form: SecretForm | undefined): string {
  if (form === 'sealed') return what.replace(/^Secret /, 'SealedSecret of Secret ');
  if (form === 'sops') return what.replace(/^(Secret `[^`]+`)/, '$1, encrypted with SOPS');
  return what;
}
