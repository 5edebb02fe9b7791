/**
 * `meshgen discover`: reads the external address of each east-west gateway
 * the topology leaves without `eastWestGateway.address`, through the user's
 * kube contexts (the client layer of `meshgen status`), and stores it in the
 * mesh's key store (`<keyStore>/discovered.json`), never in the topology.
 */
import { discoveredPath, discoveredText, DiscoveredAddress, readDiscoveredOrProblem } from '../model/discovered';
import { needsEastWestGateway, planFederation } from '../model/federation-plan';
import { EASTWEST_RELEASE as EASTWEST_GATEWAY } from '../model/install-values';
import { ISTIO_SYSTEM } from '../model/istio-names';
import { planCluster } from '../model/plan';
import type { ClusterModel, MeshModel, Topology } from '../model/types';
import { displayPath } from '../paths';
import { LockOptions } from '../lock';
import { withStoreLock, writeFileDurably } from '../pki/store-io';
import { ClusterAccessError, ClusterReader, NodeView, readEastWestGateway, ServiceView } from './reader';
import { sortBy } from '../order';
import { selectClusters } from './status';

/** Namespace of the east-west gateway. */
const NAMESPACE = ISTIO_SYSTEM;

/** What discover found for one cluster. */
export interface DiscoverFinding {
  readonly mesh: string;
  readonly cluster: string;
  /**
   * `discovered`: a new or changed address, stored; `unchanged`: the stored address is still the gateway's;
   * `set`: the topology sets the address (skipped); `no-gateway`: a cluster asked for by name has no
   * east-west gateway (skipped); `none`: the gateway has no external address yet; `unreachable`: the
   * cluster could not be read.
   */
  readonly kind: 'discovered' | 'unchanged' | 'set' | 'no-gateway' | 'none' | 'unreachable';
  readonly address?: string;
  /** The port of the gateway's passthrough at that address, when not 15443 (a NodePort gateway's node port). */
  readonly port?: number;
  /** What the address was read from. */
  readonly from?: string;
  /** When the stored address was read (ISO 8601). */
  readonly discovered?: string;
  /** What was found, for a human. */
  readonly message: string;
  /** What to do, when the address is not known. */
  readonly fix?: string;
}

/** Options of discoverAddresses(). */
export interface DiscoverOptions {
  /** Only these clusters (by name); default: every cluster with an east-west gateway. */
  readonly clusters?: readonly string[];
  /** The reader of a cluster. */
  readonly readerFor: (mesh: MeshModel, cluster: ClusterModel) => ClusterReader;
  /** The time stored with a new address. @default new Date() */
  readonly now?: Date;
  /** The key store lock. */
  readonly lock?: LockOptions;
}

/** The result of a discover run. */
export interface DiscoverReport {
  readonly findings: readonly DiscoverFinding[];
  /** The files written. */
  readonly written: readonly string[];
  /** True when every selected cluster's address is known (discovered, unchanged or set in the topology). */
  readonly ok: boolean;
}

/** The clusters of the topology that have an east-west gateway (remotes' primaries, multi-network, federation exporters). */
function gatewayClusters(topology: Topology): { mesh: MeshModel; cluster: ClusterModel }[] {
  return topology.meshes.flatMap((mesh) =>
    mesh.clusters.filter((cluster) => needsEastWestGateway(planCluster(mesh, cluster), planFederation(topology, mesh, cluster))).map((cluster) => ({ mesh, cluster })),
  );
}

/** `address` or `address:port`, for messages. */
function where(f: { readonly address?: string; readonly port?: number }): string {
  return f.port !== undefined ? `${f.address}:${f.port}` : (f.address ?? '');
}

const NODE_FIX = 'set eastWestGateway.address (and eastWestGateway.port) to an address and port of a node the other networks reach';

/**
 * A NodePort gateway's address: a ready node's ExternalIP (nodes by name), else its InternalIP, with the node
 * port of the gateway's `tls` port (15443). Not for a primary serving remotes: they reach istiod on port 15012 of
 * the address, and remotePilotAddress takes no port.
 */
async function nodePortAddress(mesh: MeshModel, cluster: ClusterModel, svc: ServiceView, reader: ClusterReader, from: string): Promise<Omit<DiscoverFinding, 'mesh' | 'cluster'>> {
  if (planCluster(mesh, cluster).remotes.length > 0) {
    return {
      kind: 'none',
      message: `${from} is a NodePort Service: remotes reach istiod on port 15012 of the gateway address, which a NodePort Service serves on a node port only`,
      fix: 'make it a LoadBalancer Service (eastWestGateway.serviceType), or set eastWestGateway.address to an address that serves port 15012 (a load balancer of your own)',
    };
  }
  const port = svc.nodePorts.tls;
  if (port === undefined) return { kind: 'none', message: `${from} is a NodePort Service without a node port for its "tls" port`, fix: `install "${cluster.name}" by its README again, then run meshgen discover again` };
  let all: readonly NodeView[];
  try {
    all = await reader.nodes();
  } catch (err) {
    // Nodes are cluster-wide: a context that may read istio-system may still not list them.
    if (!(err instanceof ClusterAccessError) || err.unreachable) throw err;
    return { kind: 'none', message: `${from} is a NodePort Service, and the context may not list the cluster's nodes to find an address (${err.message})`, fix: `use a context that may list nodes, or ${NODE_FIX}` };
  }
  const nodes = sortBy(all.filter((n) => n.ready), (n) => n.name);
  const external = nodes.find((n) => n.externalIPs.length > 0);
  const internal = nodes.find((n) => n.internalIPs.length > 0);
  if (external) return { kind: 'discovered', address: external.externalIPs[0], port, from: `${from} (node port of "tls") on Node ${external.name} (ExternalIP)`, message: '' };
  if (internal) {
    return { kind: 'discovered', address: internal.internalIPs[0], port, from: `${from} (node port of "tls") on Node ${internal.name} (InternalIP: no node has an ExternalIP, so the other networks must reach this one)`, message: '' };
  }
  return { kind: 'none', message: `${from} is a NodePort Service, and no ready node has an address`, fix: NODE_FIX };
}

/** Reads one cluster's gateway; never throws for the cluster's own failures. */
async function readGateway(mesh: MeshModel, cluster: ClusterModel, reader: ClusterReader): Promise<Omit<DiscoverFinding, 'mesh' | 'cluster'>> {
  const waitFix = 'wait for the load balancer, then run meshgen discover again';
  const missing = { kind: 'none' as const, fix: `install "${cluster.name}" by its README first, then run meshgen discover again` };
  try {
    // Ambient's east-west gateway is a Gateway API Gateway; the Service is read when there is none.
    const gw = await readEastWestGateway(reader, mesh.dataplane === 'ambient');
    if (!gw) return { ...missing, message: `Service ${NAMESPACE}/${EASTWEST_GATEWAY} does not exist` };
    const { from } = gw;
    if (gw.kind === 'Gateway') {
      if (gw.gateway.addresses[0]) return { kind: 'discovered', address: gw.gateway.addresses[0], from, message: '' };
      return { kind: 'none', message: `${from} has no address yet`, fix: waitFix };
    }
    const svc = gw.service;
    const address = svc.ingress[0];
    if (address) return { kind: 'discovered', address, from, message: '' };
    if (svc.type === 'NodePort') return await nodePortAddress(mesh, cluster, svc, reader, from);
    if (svc.type === 'LoadBalancer') return { kind: 'none', message: `${from} has no load-balancer ingress yet`, fix: waitFix };
    return { kind: 'none', message: `${from} is of type ${svc.type}, which other networks cannot reach`, fix: `make it a LoadBalancer Service (eastWestGateway.serviceType), or ${NODE_FIX}` };
  } catch (err) {
    if (!(err instanceof ClusterAccessError)) throw err;
    return { kind: 'unreachable', message: err.message, fix: err.fix };
  }
}

/**
 * Reads the gateway address of every selected cluster the topology leaves
 * without one, in parallel, and stores the addresses found in each mesh's
 * key store under its lock. Entries of other clusters are kept; an address
 * that did not change keeps the time it was first read.
 */
export async function discoverAddresses(topology: Topology, opts: DiscoverOptions): Promise<DiscoverReport> {
  const gateways = gatewayClusters(topology);
  const withGateway = new Set(gateways.map(({ cluster }) => cluster));
  // Named clusters are reported whether or not they have a gateway; by default, only those that have one.
  const selected = opts.clusters && opts.clusters.length > 0 ? selectClusters(topology, opts.clusters) : gateways;
  const now = (opts.now ?? new Date()).toISOString();
  const findings: DiscoverFinding[] = await Promise.all(
    selected.map(async ({ mesh, cluster }): Promise<DiscoverFinding> => {
      const base = { mesh: mesh.name, cluster: cluster.name };
      if (!withGateway.has(cluster)) {
        const servedBy = planCluster(mesh, cluster).servedBy;
        return { ...base, kind: 'no-gateway', message: `has no east-west gateway${servedBy ? ` (a remote reaches its primary "${servedBy.name}" through the primary's gateway)` : ''}; skipped` };
      }
      if (cluster.eastWestGateway.addressSource === 'topology') {
        return { ...base, kind: 'set', address: cluster.eastWestGateway.address, message: `set in the topology (${cluster.eastWestGateway.address}); skipped` };
      }
      return { ...base, ...(await readGateway(mesh, cluster, opts.readerFor(mesh, cluster))) };
    }),
  );
  // Store what was found, one key store at a time.
  const written: string[] = [];
  const stores = new Map<string, DiscoverFinding[]>();
  for (const f of findings) {
    if (f.kind !== 'discovered') continue;
    const mesh = topology.meshes.find((m) => m.name === f.mesh)!;
    stores.set(mesh.trust.keyStore, [...(stores.get(mesh.trust.keyStore) ?? []), f]);
  }
  const final = new Map<DiscoverFinding, DiscoverFinding>();
  for (const [store, found] of stores) {
    await withStoreLock(
      store,
      async () => {
        // A damaged file is replaced: what was just read from the clusters is what it should hold.
        const read = readDiscoveredOrProblem(store);
        const entries = new Map<string, DiscoveredAddress>(read.addresses);
        let changed = false;
        for (const f of found) {
          const before = entries.get(f.cluster);
          if (before && before.address === f.address && before.port === f.port) {
            final.set(f, { ...f, kind: 'unchanged', discovered: before.discovered, message: `${where(f)} from ${f.from}, unchanged since ${before.discovered.slice(0, 10)}` });
            continue;
          }
          entries.set(f.cluster, { address: f.address!, ...(f.port !== undefined ? { port: f.port } : {}), from: f.from!, discovered: now });
          changed = true;
          final.set(f, { ...f, discovered: now, message: `${where(f)} from ${f.from}${before ? ` (was ${where(before)})` : ''}, stored in ${displayPath(discoveredPath(store))}` });
        }
        const file = discoveredPath(store);
        const text = discoveredText(entries);
        if (changed || read.problem) {
          writeFileDurably(file, text, 0o644);
          written.push(file);
        }
      },
      opts.lock,
    );
  }
  const result = findings.map((f) => final.get(f) ?? f);
  return { findings: result, written, ok: result.every((f) => f.kind === 'discovered' || f.kind === 'unchanged' || f.kind === 'set' || f.kind === 'no-gateway') };
}

/** The human report: one line per cluster, a fix line under each address not known. */
export function formatDiscoverReport(report: DiscoverReport, topology: Topology): string {
  const lines: string[] = [];
  const multiMesh = topology.meshes.length > 1;
  for (const f of report.findings) {
    const name = multiMesh ? `${f.mesh}/${f.cluster}` : f.cluster;
    lines.push(`${name}: ${f.kind === 'unreachable' || f.kind === 'none' ? 'no address: ' : ''}${f.message}`);
    if (f.fix && (f.kind === 'none' || f.kind === 'unreachable')) lines.push(`    fix: ${f.fix}`);
  }
  if (report.findings.length === 0) lines.push('no cluster of the topology has an east-west gateway: nothing to discover');
  else if (report.findings.every((f) => f.kind === 'no-gateway')) lines.push('none of these clusters has an east-west gateway: nothing to discover');
  if (report.written.length > 0) lines.push('next: run meshgen synth, then apply the clusters whose output changed (the remotes of these primaries, the importers of these exporters)');
  return `${lines.join('\n')}\n`;
}
