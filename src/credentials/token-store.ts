/**
 * Reader tokens fetched from clusters, kept in the mesh's key store beside
 * the cluster's CA (`<keyStore>/<cluster>/reader-credential.json`, 0600).
 * They reach `dist/` only inside the remote secrets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CredentialsError } from '../errors';
import { displayPath } from '../paths';
import { writeFileDurably } from '../pki/store-io';

/** File name of a stored reader credential. */
export const READER_CREDENTIAL_FILE = 'reader-credential.json';

/** What `meshgen credentials fetch` stores for one cluster. */
export interface ReaderCredential {
  /** API server URL from the user's kubeconfig when fetched. */
  readonly server: string;
  /** Base64 PEM of the cluster CA, from the token Secret's `ca.crt`. */
  readonly certificateAuthorityData: string;
  /** The reader service account's token. */
  readonly token: string;
  /** `tls-server-name` of the kubeconfig cluster, when its certificate does not name the server URL's host. */
  readonly tlsServerName?: string;
}

/** Path of the stored reader credential of `cluster`. */
export function readerCredentialPath(keyStore: string, cluster: string): string {
  return path.join(keyStore, cluster, READER_CREDENTIAL_FILE);
}

/** The stored reader credential of `cluster`, if any. A damaged file is an error. */
export function readReaderCredential(keyStore: string, cluster: string): ReaderCredential | undefined {
  const file = readerCredentialPath(keyStore, cluster);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CredentialsError(`cannot read ${displayPath(file)} (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const value = JSON.parse(text) as Partial<ReaderCredential>;
    if (typeof value.server === 'string' && typeof value.certificateAuthorityData === 'string' && typeof value.token === 'string') {
      const tls = typeof value.tlsServerName === 'string' ? { tlsServerName: value.tlsServerName } : {};
      return { server: value.server, certificateAuthorityData: value.certificateAuthorityData, token: value.token, ...tls };
    }
  } catch {
    // fall through
  }
  throw new CredentialsError(`${displayPath(file)} is damaged`, [
    { file: displayPath(file), message: 'is not a reader credential', fix: 'run `meshgen credentials fetch` again, which replaces it' },
  ]);
}

/**
 * Stores a reader credential (0600, atomically) and says whether it is new, updated or unchanged. A damaged
 * old file is replaced: the credential just read from the cluster is what it should hold.
 */
export function writeReaderCredential(keyStore: string, cluster: string, credential: ReaderCredential): 'new' | 'updated' | 'unchanged' {
  let before: ReaderCredential | undefined;
  let damaged = false;
  try {
    before = readReaderCredential(keyStore, cluster);
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    damaged = true;
  }
  const same = (a: ReaderCredential, b: ReaderCredential) =>
    a.server === b.server && a.certificateAuthorityData === b.certificateAuthorityData && a.token === b.token && a.tlsServerName === b.tlsServerName;
  if (before && same(before, credential)) return 'unchanged';
  writeFileDurably(readerCredentialPath(keyStore, cluster), `${JSON.stringify(credential, null, 2)}\n`, 0o600);
  return before || damaged ? 'updated' : 'new';
}
