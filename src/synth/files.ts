/**
 * File names and text of manifests. A file name comes from the object's
 * kind, namespace and name, so it is stable and never shared: namespaces
 * are DNS labels (no dots) and kinds contain none either.
 */
import { GENERATED_HEADER, toYaml } from '../yaml-text';

export { toYaml };

/** The identifying fields of a Kubernetes manifest. */
export interface ManifestHead {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** First line of every generated file (defined with the YAML writer, which values files share). */
export { GENERATED_HEADER };

/** `<kind>.<namespace>.<name>.yaml`, or `<kind>.<name>.yaml` without a namespace. */
export function manifestFileName(m: ManifestHead): string {
  const parts = [m.kind.toLowerCase(), m.metadata.namespace, m.metadata.name].filter((p) => p !== undefined && p !== '');
  return `${parts.join('.')}.yaml`;
}

/** YAML text of one object with the generated-file header. */
export function manifestText(obj: unknown): string {
  return `${GENERATED_HEADER}\n${toYaml(obj)}`;
}

