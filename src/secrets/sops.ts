/**
 * Writes SOPS files in-process, as the Go `sops` tool (v3.13) writes them
 * and Flux's kustomize-controller decrypts them:
 *
 * - every leaf under a key matching `encrypted_regex` becomes
 *   `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]`: AES-256-GCM under the
 *   file's data key, a random 32-byte IV, and the path of mapping keys to
 *   the leaf, each followed by `:`, as additional data (getsops/sops
 *   `aes/cipher.go`, `sops.go` walkBranch); empty strings stay empty;
 * - the MAC is SHA-512 over every leaf's plaintext in document order,
 *   hex upper case, encrypted like a value with `lastmodified` as
 *   additional data (`sops.go` Tree.Encrypt, `stores/stores.go`);
 * - the data key is wrapped for each age recipient as an armored age file
 *   (`age/keysource.go`), through `age-encryption`, the TypeScript age
 *   implementation by age's author.
 *
 * The file is one document, laid out as sops' YAML store (go-yaml v3,
 * indent 4) writes it; the `sops` block follows it, with its keys sorted
 * and empty ones left out, as sops 3.13 writes them (`stores/stores.go`).
 * Comments before the document are kept as they are: sops neither
 * encrypts nor authenticates comments outside the encrypted keys.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { goYaml } from './go-yaml';

/** What Flux encrypts in Kubernetes Secrets, so that names and labels stay reviewable. */
export const SOPS_ENCRYPTED_REGEX = '^(data|stringData)$';

/** The sops release whose file format these files follow: the `version` they carry. */
export const SOPS_FORMAT_VERSION = '3.13.2';

/** Indent of sops' YAML store (`stores/yaml` IndentDefault). */
const SOPS_YAML_INDENT = 4;

/** Size of the IV sops uses for AES-GCM. */
const IV_BYTES = 32;

/** Options of sopsEncrypt(). */
export interface SopsEncryptOptions {
  /** age recipients (`age1…`) that can decrypt the file. */
  readonly recipients: readonly string[];
  /** Time recorded as `lastmodified` (seconds precision, UTC). */
  readonly now: Date;
  /**
   * Keys whose values (at any depth) are encrypted.
   * @default SOPS_ENCRYPTED_REGEX
   */
  readonly encryptedRegex?: string;
  /**
   * Comment lines (each starting with `#`) written before the document.
   * @default - none
   */
  readonly headComments?: readonly string[];
  /**
   * Random bytes, for data keys and IVs.
   * @default node:crypto randomBytes
   */
  readonly random?: (size: number) => Buffer;
}

/** A leaf value sops can hold. */
type Leaf = string | number | boolean;

/** The YAML text of `doc` encrypted as a SOPS file. */
export async function sopsEncrypt(doc: Readonly<Record<string, unknown>>, opts: SopsEncryptOptions): Promise<string> {
  if (opts.recipients.length === 0) throw new Error('a SOPS file needs at least one age recipient');
  const random = opts.random ?? randomBytes;
  const regex = opts.encryptedRegex ?? SOPS_ENCRYPTED_REGEX;
  const matcher = new RegExp(regex);
  const dataKey = random(32);
  const mac = createHash('sha512');
  const encryptLeaf = (value: Leaf, additionalData: string) => encryptValue(value, dataKey, additionalData, random);

  const walk = (value: unknown, keys: readonly string[], encrypted: boolean): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v, keys, encrypted));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...keys, k], encrypted || matcher.test(k))]));
    }
    // Go and JavaScript print floats differently, and a Secret holds none: only strings, integers and booleans are taken.
    if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
      throw new Error(`cannot encrypt the value at ${keys.join('.')}: meshgen's SOPS files hold strings, integers and booleans`);
    }
    mac.update(leafText(value), 'utf8');
    return encrypted ? encryptLeaf(value, keys.map((k) => `${k}:`).join('')) : value;
  };
  const tree = walk(doc, [], false) as Record<string, unknown>;
  if ('sops' in tree) throw new Error('the document already has a top-level "sops" key');

  const lastmodified = opts.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { Encrypter, armor } = await import('age-encryption');
  const age: { recipient: string; enc: string }[] = [];
  for (const recipient of opts.recipients) {
    // One age file per recipient, as sops writes them: each entry opens the data key on its own.
    const e = new Encrypter();
    e.addRecipient(recipient);
    age.push({ enc: armor.encode(await e.encrypt(dataKey)), recipient });
  }
  const sops = {
    age,
    encrypted_regex: regex,
    lastmodified,
    mac: encryptLeaf(mac.digest('hex').toUpperCase(), lastmodified),
    version: SOPS_FORMAT_VERSION,
  };
  return goYaml({ ...tree, sops }, SOPS_YAML_INDENT, opts.headComments);
}

/** The bytes sops hashes and encrypts for a leaf (`sops.go` ToBytes: Go prints booleans as True and False). */
function leafText(value: Leaf): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'string' ? value : String(value);
}

/** sops' type word of a leaf. */
function leafType(value: Leaf): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  return 'int';
}

/** `ENC[AES256_GCM,…]` of one value; empty strings stay empty, as sops leaves them. */
function encryptValue(value: Leaf, key: Buffer, additionalData: string, random: (size: number) => Buffer): string {
  if (value === '') return '';
  const iv = random(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(additionalData, 'utf8'));
  const data = Buffer.concat([cipher.update(leafText(value), 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${leafType(value)}]`;
}
