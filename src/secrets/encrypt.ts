/**
 * The one encryption step every Secret of a cluster folder goes through
 * when its cluster's `secrets.encryption` is not `none`: the Secret becomes
 * a SOPS file or a SealedSecret, in memory; no plaintext is ever written.
 *
 * Encryption is randomized, so to keep unchanged output byte-identical an
 * encrypted file carries a keyed fingerprint on its second line:
 * HMAC-SHA256, under the key store's output fingerprint key, of the
 * Secret's plaintext, how it is encrypted (recipients, or the controller
 * key and scope) and the SHA-256 of the rest of the file. When the file on
 * disk still carries the fingerprint this run computes, it already holds
 * exactly this Secret for exactly these keys, and is kept as it is; any
 * other change (a new value, a recipient, a certificate, or an edit of the
 * file) makes a new encryption. The fingerprint tells nothing about the
 * plaintext without the key.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SealedSecretScope } from '../model/types';
import { GENERATED_HEADER, toYaml } from '../yaml-text';
import { sealSecret } from './sealed-secrets';
import type { SecretManifest } from './secret-manifest';
import type { SealingKey } from './sealing-cert';
import { sopsEncrypt } from './sops';

/** How one Secret is encrypted. */
export type SecretSealing =
  | { readonly method: 'sops'; readonly recipients: readonly string[] }
  | { readonly method: 'sealed-secrets'; readonly key: SealingKey; readonly scope: SealedSecretScope };

/** What encrypting a Secret needs besides the Secret. */
export interface EncryptContext {
  /** The key store's output fingerprint key. */
  readonly fingerprintKey: Buffer;
  /** The file as it is on disk now, if it exists. */
  readonly previous?: string;
  /** Time of a new SOPS file's `lastmodified`. */
  readonly now: Date;
}

/** Start of the line that carries an encrypted file's fingerprint. */
export const FINGERPRINT_PREFIX = '# meshgen-fingerprint: ';

const FINGERPRINT_LINE = /^# meshgen-fingerprint: ([0-9a-f]{64})\n/m;

/**
 * The text of the file that holds `secret` encrypted as `sealing`: the
 * file on disk when it still holds exactly that, else a new encryption.
 */
export async function encryptSecretFile(secret: SecretManifest, sealing: SecretSealing, ctx: EncryptContext): Promise<{ readonly content: string; readonly reused: boolean }> {
  const identity = canonicalJson({ v: 1, secret, sealing: sealingFacts(sealing) });
  const fingerprintOf = (rest: string) => createHmac('sha256', ctx.fingerprintKey).update(identity).update('\n').update(createHash('sha256').update(rest).digest('hex')).digest('hex');
  if (ctx.previous !== undefined) {
    const found = FINGERPRINT_LINE.exec(ctx.previous);
    if (found && found.index === ctx.previous.indexOf('\n') + 1) {
      const rest = ctx.previous.slice(0, found.index) + ctx.previous.slice(found.index + found[0].length);
      if (timingSafeEqual(Buffer.from(found[1], 'hex'), Buffer.from(fingerprintOf(rest), 'hex'))) return { content: ctx.previous, reused: true };
    }
  }
  const body =
    sealing.method === 'sops'
      ? await sopsEncrypt(secret as unknown as Record<string, unknown>, { recipients: sealing.recipients, now: ctx.now, headComments: [GENERATED_HEADER] })
      : `${GENERATED_HEADER}\n${toYaml(sealSecret(secret, sealing.key, sealing.scope))}`;
  const cut = body.indexOf('\n') + 1;
  return { content: `${body.slice(0, cut)}${FINGERPRINT_PREFIX}${fingerprintOf(body)}\n${body.slice(cut)}`, reused: false };
}

/** What about an encryption makes a different file: never the key material itself, only what identifies it. */
function sealingFacts(sealing: SecretSealing): Record<string, unknown> {
  return sealing.method === 'sops'
    ? { method: 'sops', recipients: sealing.recipients }
    : { method: 'sealed-secrets', key: sealing.key.fingerprint, scope: sealing.scope };
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
