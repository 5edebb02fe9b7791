/**
 * Cluster names made from kube context names, which may hold any character
 * (`gke_acme_us-east1_c1`, `arn:aws:eks:…:cluster/c2`, `kind-c3`).
 *
 * The rule: lowercase; every run of characters other than a-z, 0-9 and "-"
 * becomes one "-"; leading and trailing "-" are dropped; the result is cut
 * to 63 characters (and trailing "-" dropped again). An empty result becomes
 * `cluster`. When two contexts give the same name, the later ones (in the
 * order given) get `-2`, `-3`, … (cut so the whole stays within 63).
 */

/** A DNS-1123 label made from a kube context name. */
export function clusterNameFromContext(context: string): string {
  const name = context
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name || 'cluster';
}

/** Cluster names for `contexts`, in the same order, made unique with numeric suffixes. */
export function clusterNamesFromContexts(contexts: readonly string[]): string[] {
  const used = new Set<string>();
  return contexts.map((context) => {
    const base = clusterNameFromContext(context);
    let name = base;
    for (let n = 2; used.has(name); n++) {
      const suffix = `-${n}`;
      name = `${base.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
    }
    used.add(name);
    return name;
  });
}
