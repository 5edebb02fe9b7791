/**
 * The Kubernetes API objects of cdk8s-plus-27 (`KubeSecret`, `KubeNamespace`,
 * …), loaded without the rest of cdk8s-plus-27. The package's index also
 * loads its high-level constructs, which meshgen does not use; they cost a
 * tenth of a second on every command. The classes are the very same ones
 * `import { k8s } from 'cdk8s-plus-27'` gives.
 */
export * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
