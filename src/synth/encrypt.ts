/**
 * The encryption step of a synth run, between rendering and writing: every
 * Secret a rendered folder still holds in plaintext (its `secrets`) is
 * encrypted into its file, as its cluster's `secrets` setting says. Keeps
 * a file on disk that still holds exactly that Secret (see
 * secrets/encrypt.ts), so unchanged output stays byte-identical.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MeshModel } from '../model/types';
import { outputFingerprintKey } from '../pki/key-store';
import { encryptSecretFile, SecretSealing } from '../secrets/encrypt';
import { readSealingKeys, SealingKey } from '../secrets/sealing-cert';
import { sortBy } from '../order';
import { PendingSecret, RenderedFile, RenderedFolder } from './render';

/** Options of encryptFolders(). */
export interface EncryptFoldersOptions {
  /**
   * Make a missing output fingerprint key in memory only (for `meshgen diff`).
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * Sealing keys by mesh and cluster, when already read.
   * @default - read from the certificates the topology names
   */
  readonly sealingKeys?: ReadonlyMap<string, ReadonlyMap<string, SealingKey>>;
  /**
   * Clock of new SOPS files' `lastmodified`.
   * @default - the current time
   */
  readonly now?: () => Date;
}

/** What the encryption step did. */
export interface EncryptResult {
  /** The folders, every Secret in a file of its own. */
  readonly folders: RenderedFolder[];
  /** Files encrypted anew (their Secret, or how it is encrypted, changed), relative to the output folder. */
  readonly encrypted: readonly string[];
  /** Encrypted files kept as they are on disk. */
  readonly kept: readonly string[];
}

/** Encrypts the pending Secrets of `folders`, reading earlier files from `outdir`. */
export async function encryptFolders(outdir: string, folders: readonly RenderedFolder[], meshes: readonly MeshModel[], opts: EncryptFoldersOptions = {}): Promise<EncryptResult> {
  const encrypt = folderEncryptor(outdir, meshes, opts);
  const done = await Promise.all(folders.map((f) => encrypt(f)));
  return {
    folders: done.map((d) => d.folders[0]),
    encrypted: done.flatMap((d) => d.encrypted).sort(),
    kept: done.flatMap((d) => d.kept).sort(),
  };
}

/**
 * The encryption step for one folder at a time, sharing the fingerprint
 * keys and sealing keys it needs across folders: what a fleet's write
 * streams its folders through.
 */
export function folderEncryptor(outdir: string, meshes: readonly MeshModel[], opts: EncryptFoldersOptions = {}): (folder: RenderedFolder) => Promise<EncryptResult> {
  const now = (opts.now ?? (() => new Date()))();
  const byName = new Map(meshes.map((m) => [m.name, m]));
  const fingerprintKeys = new Map<string, Buffer>();
  const sealingKeys = new Map(opts.sealingKeys ?? []);
  return async (folder) => {
    if (!folder.secrets || folder.secrets.length === 0) return { folders: [folder], encrypted: [], kept: [] };
    const mesh = byName.get(folder.mesh);
    if (!mesh) throw new Error(`folder "${folder.name}" belongs to mesh "${folder.mesh}", which is not in the topology given`);
    const store = mesh.trust.keyStore;
    if (!fingerprintKeys.has(store)) fingerprintKeys.set(store, outputFingerprintKey(store, { dryRun: opts.dryRun }));
    const fingerprintKey = fingerprintKeys.get(store) as Buffer;
    const encrypted: string[] = [];
    const kept: string[] = [];
    const made = await Promise.all(
      folder.secrets.map(async (secret): Promise<RenderedFile> => {
        const file = path.join(outdir, folder.name, secret.path);
        const { content, reused } = await encryptSecretFile(secret.manifest, sealingOf(secret, mesh, folder.name, sealingKeys), {
          fingerprintKey,
          previous: readIfFile(file),
          now,
        });
        (reused ? kept : encrypted).push(`${folder.name}/${secret.path}`);
        return { path: secret.path, content, mode: 0o600 };
      }),
    );
    return { folders: [{ name: folder.name, mesh: folder.mesh, files: sortBy([...folder.files, ...made], (f) => f.path) }], encrypted, kept };
  };
}

/** How `secret` of cluster `cluster` is encrypted. */
function sealingOf(secret: PendingSecret, mesh: MeshModel, cluster: string, keys: Map<string, ReadonlyMap<string, SealingKey>>): SecretSealing {
  const s = secret.settings;
  if (s.encryption === 'sops') return { method: 'sops', recipients: s.age };
  if (!keys.has(mesh.name)) keys.set(mesh.name, readSealingKeys(mesh));
  const key = keys.get(mesh.name)?.get(cluster);
  if (!key) throw new Error(`no sealing key was read for cluster "${cluster}" of mesh "${mesh.name}"`);
  return { method: 'sealed-secrets', key, scope: s.scope };
}

function readIfFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
