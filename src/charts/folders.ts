/**
 * The sub-folders of a cluster folder: part of the output's layout, which
 * the chart fills and the writer, the README and the SOPS config name.
 * Kept apart from the chart so that readers of the output load no constructs.
 */

/** Sub-folder of objects that need Istio's CRDs or istiod (with every install method but istioctl). */
export const CONFIG_FOLDER = 'istio-config';
/** Sub-folder of the Flux HelmReleases. */
export const ISTIO_FOLDER = 'istio';
/** Sub-folder of what precedes istiod, with Argo CD (and, with Flux, a CA that must exist before istiod). */
export const PREREQS_FOLDER = 'prereqs';
/**
 * Sub-folder of SOPS-encrypted Secrets. kubectl never reads it (it has no
 * kustomization.yaml, so nothing applies ciphertext as a Secret); Flux
 * decrypts it, and the README decrypts each file with sops.
 */
export const SECRETS_FOLDER = 'secrets';
