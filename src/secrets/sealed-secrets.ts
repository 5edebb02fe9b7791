/**
 * SealedSecrets made offline from a controller's certificate, as
 * `kubeseal --cert` makes them (bitnami-labs/sealed-secrets v0.36):
 *
 * - each value is sealed on its own (`pkg/crypto` HybridEncrypt): a random
 *   32-byte session key, wrapped with RSA-OAEP (SHA-256) under the
 *   controller's key with the scope's label, then the value sealed with
 *   AES-256-GCM under the session key, a zero nonce and no additional
 *   data; stored as the 2-byte big-endian length of the wrapped key, the
 *   wrapped key, and the sealed value, in base64;
 * - the label binds the value to where it may be unsealed: `<namespace>/<name>`
 *   (strict), `<namespace>` (namespace-wide) or nothing (cluster-wide);
 * - the object's own metadata holds the name, the namespace and the scope
 *   annotation of wider scopes; `spec.template` carries the Secret's
 *   metadata (scope annotation included) and type (`NewSealedSecret`).
 */
import { constants, createCipheriv, publicEncrypt, randomBytes } from 'node:crypto';
import type { SealedSecretScope } from '../model/types';
import type { SealingKey } from './sealing-cert';
import type { SecretManifest } from './secret-manifest';

/** API version of SealedSecret objects. */
export const SEALED_SECRET_API_VERSION = 'bitnami.com/v1alpha1';

/** The annotation that marks a wider scope, by scope. */
export const SCOPE_ANNOTATIONS: Readonly<Record<SealedSecretScope, string | undefined>> = {
  strict: undefined,
  'namespace-wide': 'sealedsecrets.bitnami.com/namespace-wide',
  'cluster-wide': 'sealedsecrets.bitnami.com/cluster-wide',
};

/** The label a value is sealed with in `scope`. */
export function sealingLabel(scope: SealedSecretScope, namespace: string, name: string): string {
  if (scope === 'cluster-wide') return '';
  return scope === 'namespace-wide' ? namespace : `${namespace}/${name}`;
}

/** One value sealed for `key` with `label` (HybridEncrypt). */
export function hybridEncrypt(key: SealingKey['publicKey'], plaintext: Buffer, label: string, random: (size: number) => Buffer = randomBytes): Buffer {
  const sessionKey = random(32);
  const wrapped = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(label, 'utf8') }, sessionKey);
  const cipher = createCipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  return Buffer.concat([length, wrapped, sealed]);
}

/** The SealedSecret (as plain data, keys sorted) that the controller of `key` unseals into `secret`. */
export function sealSecret(secret: SecretManifest, key: SealingKey, scope: SealedSecretScope): Record<string, unknown> {
  const { name, namespace } = secret.metadata;
  if (scope !== 'cluster-wide' && !namespace) throw new Error(`Secret "${name}" has no namespace, which a ${scope} SealedSecret needs`);
  const annotation = SCOPE_ANNOTATIONS[scope];
  const scopeAnnotations = annotation ? { [annotation]: 'true' } : {};
  const label = sealingLabel(scope, namespace ?? '', name);
  const encryptedData: Record<string, string> = {};
  const seal = (k: string, bytes: Buffer) => (encryptedData[k] = hybridEncrypt(key.publicKey, bytes, label).toString('base64'));
  for (const [k, v] of Object.entries(secret.data ?? {})) seal(k, Buffer.from(v, 'base64'));
  // As kubeseal does: stringData is sealed after data, and wins for a key in both.
  for (const [k, v] of Object.entries(secret.stringData ?? {})) seal(k, Buffer.from(v, 'utf8'));
  const annotations = { ...secret.metadata.annotations, ...scopeAnnotations };
  return {
    apiVersion: SEALED_SECRET_API_VERSION,
    kind: 'SealedSecret',
    metadata: sorted({ ...(annotation ? { annotations: scopeAnnotations } : {}), name, ...(namespace ? { namespace } : {}) }),
    spec: {
      encryptedData: sorted(encryptedData),
      template: sorted({
        ...(secret.immutable !== undefined ? { immutable: secret.immutable } : {}),
        metadata: sorted({
          ...(Object.keys(annotations).length > 0 ? { annotations: sorted(annotations) } : {}),
          ...(secret.metadata.labels ? { labels: sorted(secret.metadata.labels) } : {}),
          name,
          ...(namespace ? { namespace } : {}),
        }),
        ...(secret.type ? { type: secret.type } : {}),
      }),
    },
  };
}

function sorted<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
