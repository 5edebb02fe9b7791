/**
 * Where the passphrase of an encrypted root key comes from: the environment
 * variable or the file named in `spec.trust.passphrase`, else whoever asks
 * (the CLI asks on a terminal). Never from the topology file itself, and
 * never written anywhere.
 */
import * as fs from 'node:fs';
import { KeyStoreError } from '../errors';
import { MeshModel } from '../model/types';
import { displayPath } from '../paths';

/** What to do when a root key needs a passphrase and none was given. */
export const PASSPHRASE_FIX = 'set the environment variable named in trust.passphrase.env, or a file in trust.passphrase.file, or run on a terminal to be asked';

/** The passphrase of `mesh`'s root key, or undefined when none is configured or given. */
export async function rootKeyPassphrase(
  mesh: MeshModel,
  env: NodeJS.ProcessEnv,
  ask?: (mesh: MeshModel) => Promise<string | undefined>,
): Promise<string | undefined> {
  const { env: variable, file } = mesh.trust.passphrase;
  if (variable !== undefined && env[variable]) return env[variable];
  if (file !== undefined) {
    try {
      return fs.readFileSync(file, 'utf8').split(/\r?\n/)[0];
    } catch (err) {
      throw new KeyStoreError(`cannot read the passphrase file of mesh "${mesh.name}"`, [
        { file: displayPath(file), message: `cannot be read (${(err as NodeJS.ErrnoException).code})`, fix: 'fix trust.passphrase.file' },
      ]);
    }
  }
  return ask?.(mesh);
}
