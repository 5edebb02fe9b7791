/**
 * DNS-1123 labels made from names that may hold any character: kube
 * context names (`gke_acme_us-east1_c1`, `arn:aws:eks:…:cluster/c2`), peer
 * tools' mesh IDs and networks. One rule for `init`, `convert` and the
 * loader's rename hints.
 */

/**
 * The name rule: makes a DNS-1123 label of `raw`.
 *
 * 1. lowercase it;
 * 2. turn every character other than `a-z`, `0-9` and `-` into `-`
 *    (`_`, `:`, `/`, `.`, `@`, spaces, letters outside ASCII…);
 * 3. collapse runs of `-` into one;
 * 4. drop `-` at both ends;
 * 5. cut to 63 characters, dropping any `-` the cut leaves at the end.
 *
 * `gke_acme_us-east1_c1` → `gke-acme-us-east1-c1`;
 * `arn:aws:eks:us-west-2:111122223333:cluster/c2` → `arn-aws-eks-us-west-2-111122223333-cluster-c2`.
 * When nothing is left, the result is `fallback`.
 */
export function toDnsLabel(raw: string, fallback: string): string {
  const label = cutLabel(
    raw
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/-{2,}/g, '-')
      .replace(/^-+|-+$/g, ''),
    63,
  );
  return label === '' ? fallback : label;
}

/** Cuts a label to `max` characters without leaving a `-` at its end. */
function cutLabel(label: string, max: number): string {
  return label.slice(0, max).replace(/-+$/, '');
}

/**
 * Distinct labels for distinct items, in their order: each gets
 * `toDnsLabel(raw)`, unless an earlier item already has that label; then it
 * gets the first of `-2`, `-3`, … appended (the label cut so that the whole
 * stays within 63 characters) that no earlier item took and no other item
 * gets by itself.
 */
export function uniqueLabels(raws: readonly string[], fallback: string): string[] {
  const bases = raws.map((r) => toDnsLabel(r, fallback));
  const own = new Set(bases);
  const used = new Set<string>();
  return bases.map((base) => {
    let label = base;
    for (let n = 2; used.has(label); n++) {
      const suffix = `-${n}`;
      const candidate = `${cutLabel(base, 63 - suffix.length)}${suffix}`;
      if (!own.has(candidate)) label = candidate;
    }
    used.add(label);
    return label;
  });
}


/** A DNS-1123 label made from a kube context name (`cluster` when nothing is left). */
export function clusterNameFromContext(context: string): string {
  return toDnsLabel(context, 'cluster');
}

/** Cluster names for `contexts`, in the same order, made unique with numeric suffixes. */
export function clusterNamesFromContexts(contexts: readonly string[]): string[] {
  return uniqueLabels(contexts, 'cluster');
}
