/**
 * The Secrets that the encryption step takes: Kubernetes Secrets that
 * hold values. A Secret without values (a service account token Secret
 * that Kubernetes fills in) holds nothing to hide and is written as it is.
 */

/** A Kubernetes Secret as meshgen renders it. */
export interface SecretManifest {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly type?: string;
  readonly immutable?: boolean;
  /** Values in base64. */
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
}

/** True for a Secret manifest that holds at least one value under `data` or `stringData`. */
export function holdsSecretValues(manifest: unknown): manifest is SecretManifest {
  const m = manifest as Partial<SecretManifest> | null;
  if (!m || m.kind !== 'Secret' || m.apiVersion !== 'v1') return false;
  return Object.keys(m.data ?? {}).length > 0 || Object.keys(m.stringData ?? {}).length > 0;
}
