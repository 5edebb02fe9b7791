/**
 * `meshgen status` as a library: checks every selected cluster in parallel
 * against the topology and the output folder, and gives a report that the
 * CLI prints as a table or as JSON. The cluster readers are passed in, so
 * the whole of it runs against fake clusters in tests.
 */
import { planCluster } from '../model/plan';
import type { ClusterModel, MeshModel, Topology } from '../model/types';
import { CheckState, checkCluster, Finding, StatusTarget } from './checks';
import { readExpectedFolder } from './expected';
import type { ClusterReader } from './reader';

/** The findings of one cluster. */
export interface ClusterStatus {
  readonly mesh: string;
  readonly cluster: string;
  readonly context: string;
  readonly role: ClusterModel['role'];
  readonly checks: readonly Finding[];
}

/** The whole report; its JSON form is what `--json` prints. */
export interface StatusReport {
  /** Every check is ok. */
  readonly ok: boolean;
  /** How many checks are in each state. */
  readonly counts: Readonly<Record<CheckState, number>>;
  readonly clusters: readonly ClusterStatus[];
}

/** Options of checkStatus(). */
export interface StatusOptions {
  /** The output folder meshgen wrote. */
  readonly outdir: string;
  /**
   * Only these clusters.
   * @default - every cluster of the topology
   */
  readonly clusters?: readonly string[];
  /** The reader of a cluster (contextReader() on the command line). */
  readonly readerFor: (mesh: MeshModel, cluster: ClusterModel) => ClusterReader;
  /**
   * Called as each cluster's checks finish.
   * @default - nothing
   */
  readonly onClusterDone?: (cluster: string, done: number, total: number) => void;
}

/** Every cluster of `topology` (restricted to `names`), with its mesh. */
export function selectClusters(topology: Topology, names?: readonly string[]): { mesh: MeshModel; cluster: ClusterModel }[] {
  const all = topology.meshes.flatMap((mesh) => mesh.clusters.map((cluster) => ({ mesh, cluster })));
  return names ? all.filter(({ cluster }) => names.includes(cluster.name)) : all;
}

/** Checks the selected clusters, all at once; resolves when every cluster has answered or failed. */
export async function checkStatus(topology: Topology, opts: StatusOptions): Promise<StatusReport> {
  const selected = selectClusters(topology, opts.clusters);
  let done = 0;
  const clusters = await Promise.all(
    selected.map(async ({ mesh, cluster }): Promise<ClusterStatus> => {
      const plan = planCluster(mesh, cluster);
      const target: StatusTarget = { plan, expected: readExpectedFolder(opts.outdir, mesh.name, cluster.name, plan.reads.map((c) => c.name)) };
      const checks = await checkCluster(target, opts.readerFor(mesh, cluster));
      opts.onClusterDone?.(cluster.name, ++done, selected.length);
      return { mesh: mesh.name, cluster: cluster.name, context: cluster.context, role: cluster.role, checks };
    }),
  );
  const counts: Record<CheckState, number> = { ok: 0, differs: 0, missing: 0, unreachable: 0 };
  for (const c of clusters) for (const f of c.checks) counts[f.state]++;
  return { ok: counts.differs + counts.missing + counts.unreachable === 0, counts, clusters };
}

/** The report as a table, one line per check; a fix follows its detail. */
export function formatStatusTable(report: StatusReport): string {
  const rows = report.clusters.flatMap((c) => c.checks.map((f) => [c.cluster, f.check, f.state, f.fix ? `${f.detail}; fix: ${f.fix}` : f.detail]));
  const header = ['CLUSTER', 'CHECK', 'STATE', 'DETAIL'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `${r.slice(0, 3).map((cell, i) => cell.padEnd(widths[i])).join('  ')}  ${r[3]}`.trimEnd();
  const { counts } = report;
  const summary = (Object.keys(counts) as CheckState[]).filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return `${[header, ...rows].map(line).join('\n')}\n${report.clusters.length} cluster${report.clusters.length === 1 ? '' : 's'}: ${summary.join(', ') || 'nothing checked'}\n`;
}
