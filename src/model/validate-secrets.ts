/**
 * The `secrets` blocks of Mesh documents: how a cluster's setting is made
 * from the mesh's block and its own (one rule, for the loader and the
 * checks), and the checks that need no file: recipients present and well
 * formed, a certificate named, no SOPS with Argo CD (which cannot decrypt
 * it), no settings that nothing uses. The sealing certificates themselves
 * are read and checked by `secrets/sealing-cert.ts`.
 */
import { bech32 } from '@scure/base';
import { Problem } from '../errors';
import { DocPath, problemAt, SourceDocument } from './source';
import { obj, str } from './validate';
import type { SecretsValue } from './documents';

/** One key of a cluster's merged `secrets` setting, with where it was set. */
export interface SecretsKey<T> {
  readonly value: T;
  /** Document path of the key that set it. */
  readonly at: DocPath;
}

/** A cluster's `secrets` setting: its own block over the mesh's, key by key. */
export interface MergedSecrets {
  readonly encryption: SecretsKey<'none' | 'sops' | 'sealed-secrets'>;
  readonly age?: SecretsKey<readonly string[]>;
  readonly decryptionSecret?: SecretsKey<string>;
  readonly cert?: SecretsKey<string>;
  readonly scope?: SecretsKey<'strict' | 'namespace-wide' | 'cluster-wide'>;
}

/**
 * Merges the mesh's `secrets` block (at `spec.secrets`) and cluster `index`'s
 * own (at `spec.clusters[index].secrets`): each key the cluster sets wins.
 */
export function mergeSecrets(mesh: SecretsValue | undefined, cluster: SecretsValue | undefined, index: number): MergedSecrets {
  const meshAt = ['spec', 'secrets'];
  const clusterAt = ['spec', 'clusters', index, 'secrets'];
  function pick<T>(get: (v: SecretsValue) => T | undefined, key: DocPath): SecretsKey<T> | undefined {
    const own = cluster ? get(cluster) : undefined;
    if (own !== undefined) return { value: own, at: [...clusterAt, ...key] };
    const inherited = mesh ? get(mesh) : undefined;
    return inherited !== undefined ? { value: inherited, at: [...meshAt, ...key] } : undefined;
  }
  return {
    encryption: pick((v) => v.encryption, ['encryption']) ?? { value: 'none', at: cluster ? clusterAt : meshAt },
    age: pick((v) => v.sops?.age, ['sops', 'age']),
    decryptionSecret: pick((v) => v.sops?.decryptionSecret, ['sops', 'decryptionSecret']),
    cert: pick((v) => v.sealedSecrets?.cert, ['sealedSecrets', 'cert']),
    scope: pick((v) => v.sealedSecrets?.scope, ['sealedSecrets', 'scope']),
  };
}

/** Why `recipient` is not an age X25519 recipient, or undefined when it is one. */
export function ageRecipientProblem(recipient: string): string | undefined {
  if (/^AGE-SECRET-KEY-/i.test(recipient)) return 'is an age identity, a private key: it must never be in the topology file';
  if (!recipient.startsWith('age1')) return 'does not start with "age1"';
  try {
    const { prefix, bytes } = bech32.decodeToBytes(recipient as `${string}1${string}`);
    if (prefix !== 'age') return `has the prefix "${prefix}", not "age" (meshgen writes for X25519 recipients only)`;
    if (bytes.length !== 32) return `holds ${bytes.length} bytes, not the 32 of an X25519 key (meshgen writes for X25519 recipients only)`;
  } catch (err) {
    return `is not valid Bech32 (${(err as Error).message.replace(/^Invalid checksum in .*$/, 'wrong checksum')})`;
  }
  return undefined;
}

const AGE_FIX = 'give the public key that `age-keygen` prints ("Public key: age1…"); keep the AGE-SECRET-KEY identity out of the topology';

/** Every problem of the `secrets` blocks of one Mesh document. */
export function checkSecrets(doc: SourceDocument): Problem[] {
  const spec = obj(obj(doc.value).spec);
  const meshBlock = spec.secrets === undefined ? undefined : (obj(spec.secrets) as SecretsValue);
  const clusters = Array.isArray(spec.clusters) ? spec.clusters : [];
  const engine = str(obj(spec.gitops).engine);
  const problems: Problem[] = [];
  // A setting shared by several clusters is reported once, at the key that set it.
  const reported = new Set<string>();
  const report = (at: DocPath, message: string, fix: string) => {
    const key = `${at.join('\0')}\n${message}`;
    if (reported.has(key)) return;
    reported.add(key);
    problems.push(problemAt(doc, at, message, fix));
  };

  const blocks: { block: SecretsValue; at: DocPath }[] = meshBlock ? [{ block: meshBlock, at: ['spec', 'secrets'] }] : [];
  clusters.forEach((raw, i) => {
    const own = obj(raw).secrets;
    if (own !== undefined) blocks.push({ block: obj(own) as SecretsValue, at: ['spec', 'clusters', i, 'secrets'] });
  });
  for (const { block, at } of blocks) {
    const age = obj(block.sops).age;
    if (!Array.isArray(age)) continue;
    age.forEach((r, j) => {
      if (typeof r !== 'string') return;
      const why = ageRecipientProblem(r.trim());
      // An identity is never echoed: it is a private key.
      const shown = /^AGE-SECRET-KEY-/i.test(r.trim()) ? 'this value' : `"${r}"`;
      if (why) report([...at, 'sops', 'age', j], `${shown} is not an age recipient: it ${why}`, AGE_FIX);
    });
  }

  const used = { sops: new Set<string>(), sealed: new Set<string>() };
  clusters.forEach((raw, i) => {
    const name = str(obj(raw).name) ?? `#${i}`;
    const own = obj(raw).secrets === undefined ? undefined : (obj(obj(raw).secrets) as SecretsValue);
    const merged = mergeSecrets(meshBlock, own, i);
    const encryption = merged.encryption;
    if (encryption.value === 'sops') {
      if (merged.age) used.sops.add(merged.age.at.slice(0, -1).join('\0'));
      if (merged.decryptionSecret) used.sops.add(merged.decryptionSecret.at.slice(0, -1).join('\0'));
      if (!merged.age) {
        report(encryption.at, `${clusterWord(encryption.at, name)} encrypts its Secrets with SOPS but names no age recipient`, 'add secrets.sops.age: [age1…], the public keys of whoever (and whichever Flux) must decrypt them');
      }
      if (engine === 'argocd') {
        report(
          encryption.at,
          `${clusterWord(encryption.at, name)} is installed by Argo CD, which cannot decrypt SOPS files (they would reach the cluster encrypted)`,
          'use encryption: sealed-secrets, which the cluster itself decrypts (as Argo CD\'s secret-management docs recommend), or gitops.engine: flux',
        );
      }
    } else if (encryption.value === 'sealed-secrets') {
      if (merged.cert) used.sealed.add(merged.cert.at.slice(0, -1).join('\0'));
      if (merged.scope) used.sealed.add(merged.scope.at.slice(0, -1).join('\0'));
      if (!merged.cert) {
        report(
          encryption.at,
          `${clusterWord(encryption.at, name)} seals its Secrets for Sealed Secrets but names no controller certificate`,
          'add secrets.sealedSecrets.cert: the file `kubeseal --fetch-cert` prints, e.g. sealed/{cluster}.pem ({cluster} is the cluster name)',
        );
      }
    }
  });
  // Settings that no cluster uses mean the encryption the user wanted is not on: say so rather than write plaintext.
  for (const { block, at } of blocks) {
    for (const [key, kind, value] of [
      ['sops', 'sops', used.sops],
      ['sealedSecrets', 'sealed-secrets', used.sealed],
    ] as const) {
      if (block[key] === undefined || value.has([...at, key].join('\0'))) continue;
      report(
        [...at, key],
        `${key} is set, but no cluster it applies to has encryption: ${kind}, so it is not used`,
        `add encryption: ${kind} beside it, or remove ${key}`,
      );
    }
  }
  return problems;
}

/** "cluster "x"" for a cluster's own key, "the mesh" for the mesh's. */
function clusterWord(at: DocPath, name: string): string {
  return at[1] === 'clusters' ? `cluster "${name}"` : 'the mesh';
}
