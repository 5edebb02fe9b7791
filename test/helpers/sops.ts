/**
 * A reference SOPS decryptor for tests, written from getsops/sops v3.13
 * (`aes/cipher.go`, `sops.go` Tree.Decrypt and the MAC check) and sharing
 * no code with meshgen's writer: the data key is unwrapped by the Go `age`
 * command (Debian's age 1.1), values are opened with AES-256-GCM, and the
 * MAC is recomputed and compared, as `sops --decrypt` does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

const ENC = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$/;

/** The `age` command (test/global-setup.ts installs it when missing). */
export function ageCommand(): string {
  return 'age';
}

/** A new age identity made by `age-keygen`: the identity file's text and its recipient. */
export function ageKeygen(): { identity: string; recipient: string } {
  ageCommand();
  const out = execFileSync('age-keygen', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const recipient = /^# public key: (age1\S+)$/m.exec(out)?.[1];
  if (!recipient) throw new Error('age-keygen printed no public key');
  return { identity: out, recipient };
}

/** Why decryption failed, for tests that expect it to. */
export class SopsDecryptError extends Error {}

/**
 * Decrypts SOPS YAML `text` with the age identity file text `identity`.
 * Throws SopsDecryptError when no entry opens with the identity, a value
 * does not open, or the MAC does not match.
 */
export function sopsDecrypt(text: string, identity: string): Record<string, unknown> {
  const doc = parse(text) as Record<string, unknown> & { sops?: Record<string, unknown> };
  const sops = doc.sops as { age?: { recipient: string; enc: string }[]; lastmodified: string; mac: string; encrypted_regex?: string; version: string };
  if (!sops) throw new SopsDecryptError('no sops metadata');
  if (!/^\d+\.\d+\.\d+$/.test(sops.version)) throw new SopsDecryptError(`version ${sops.version} is not semver`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sops-ref-'));
  let dataKey: Buffer | undefined;
  try {
    const idFile = path.join(dir, 'id.txt');
    fs.writeFileSync(idFile, identity, { mode: 0o600 });
    for (const entry of sops.age ?? []) {
      const r = spawnSync(ageCommand(), ['--decrypt', '-i', idFile], { input: entry.enc });
      if (r.status === 0) {
        dataKey = r.stdout;
        break;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (!dataKey) throw new SopsDecryptError('no age entry opens with this identity');
  if (dataKey.length !== 32) throw new SopsDecryptError(`the data key has ${dataKey.length} bytes`);
  const key = dataKey;
  const open = (value: string, additionalData: string): string => {
    const m = ENC.exec(value);
    if (!m) throw new SopsDecryptError(`not an encrypted value: ${value.slice(0, 20)}`);
    const [data, iv, tag] = [m[1], m[2], m[3]].map((b) => Buffer.from(b, 'base64'));
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(Buffer.from(additionalData, 'utf8'));
    d.setAuthTag(tag);
    try {
      return Buffer.concat([d.update(data), d.final()]).toString('utf8');
    } catch {
      throw new SopsDecryptError(`value under ${additionalData} does not open`);
    }
  };
  const regex = sops.encrypted_regex === undefined ? undefined : new RegExp(sops.encrypted_regex);
  const hash = createHash('sha512');
  const walk = (v: unknown, keys: string[]): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, keys));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...keys, k])]));
    if (v === null) return v;
    const encrypted = regex ? keys.some((k) => regex.test(k)) : true;
    let plain: string;
    if (encrypted && typeof v === 'string' && v !== '') plain = open(v, keys.map((k) => `${k}:`).join(''));
    else plain = typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v);
    hash.update(plain, 'utf8');
    return encrypted && typeof v === 'string' ? plain : v;
  };
  const { sops: _meta, ...body } = doc;
  void _meta;
  const plain = walk(body, []) as Record<string, unknown>;
  const mac = open(sops.mac, sops.lastmodified);
  if (mac !== hash.digest('hex').toUpperCase()) throw new SopsDecryptError('MAC mismatch');
  return plain;
}
