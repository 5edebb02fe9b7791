/**
 * The one way meshgen writes YAML, shared by manifests, values files and
 * kubeconfigs, so that output is deterministic everywhere.
 */
import { stringify } from 'yaml';

/**
 * Deterministic YAML: no line folding (long base64 values stay on one
 * line), no anchors, and strings that YAML 1.1 readers (kubectl, istioctl)
 * would take for booleans, such as a network named `no`, quoted.
 */
export function toYaml(obj: unknown): string {
  return stringify(obj, { version: '1.1', lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
}
