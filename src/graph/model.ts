/**
 * The topology as a graph: meshes and their networks as nested groups,
 * clusters as nodes, and who depends on whom as edges. A neutral model that
 * the Mermaid and Graphviz renderers draw; it follows the same rules as
 * synthesis (plan.ts, federation-plan.ts), so the picture shows what the
 * manifests do. Pure functions, deterministic order.
 */
import { EAST_WEST_GATEWAY_CLASS, HBONE_PORT } from '../model/istio-names';
import { compareStrings } from '../order';
import { needsEastWestGateway, planFederation } from '../model/federation-plan';
import { planCluster } from '../model/plan';
import { ClusterRole, Dataplane, DEFAULT_ISTIO_HUB, DEFAULT_TRUST_DOMAIN, meshNetworks, MeshModel, Topology } from '../model/types';

/** What a group of the graph stands for. */
export type GraphGroupKind = 'mesh' | 'network';

/** A mesh, or a network inside a mesh: drawn as a box around its members. */
export interface GraphGroup {
  /** Unique id: `mesh:<mesh>` or `network:<mesh>/<network>`. */
  readonly id: string;
  readonly kind: GraphGroupKind;
  /** Mesh or network name. */
  readonly name: string;
  /** For a network: the id of its mesh group. */
  readonly parent?: string;
  /** Further lines about the group (mesh ID, Istio release, data plane and waypoints if ambient, trust domain); empty for a network. */
  readonly details: readonly string[];
}

/** A cluster: a primary runs istiod, a remote is served by a primary's. */
export interface GraphNode {
  /** Unique id: `cluster:<cluster>`. */
  readonly id: string;
  readonly kind: ClusterRole;
  /** Cluster name. */
  readonly name: string;
  /** Id of the network group the cluster is in. */
  readonly group: string;
  /** The cluster gets an east-west gateway (several networks, remotes served, or a federation export). */
  readonly eastWestGateway: boolean;
  /** Where other clusters reach that gateway, when the topology says. */
  readonly gatewayAddress?: string;
  /** Istio locality of the cluster, when set. */
  readonly locality?: string;
  /**
   * Data plane of the cluster's mesh. Ambient runs ztunnel on every node, and
   * its east-west gateway is a Gateway of class `istio-east-west` taking HBONE
   * instead of the sidecar mesh's gateway on 15443.
   * @default 'sidecar'
   */
  readonly dataplane?: Dataplane;
}

/**
 * What an edge stands for:
 * - `controlPlane`: a remote → the primary whose istiod serves it;
 * - `reads`: a primary → a cluster whose API server its istiod reads (remote secrets);
 * - `exports`: the exporting mesh, or the exporting clusters when only some run the
 *   service → a mesh that imports it.
 */
export type GraphEdgeKind = 'controlPlane' | 'reads' | 'exports';

/** A dependency between two nodes or groups. */
export interface GraphEdge {
  readonly kind: GraphEdgeKind;
  /** Id of a node or group. */
  readonly from: string;
  /** Id of a node or group. */
  readonly to: string;
  /** The relation also holds from `to` to `from` (two primaries that read each other's API). */
  readonly bidirectional: boolean;
  /** Lines of the edge's label: the exported hosts for `exports`. */
  readonly labels: readonly string[];
}

/** The whole topology as groups, nodes and edges, each in a stable order. */
export interface TopologyGraph {
  /** Each mesh group followed by its network groups; meshes and networks by name. */
  readonly groups: readonly GraphGroup[];
  /** Clusters in group order, by name within a network. */
  readonly nodes: readonly GraphNode[];
  /** Control-plane edges, then reads, then exports; by `from`, then `to` within a kind. */
  readonly edges: readonly GraphEdge[];
}

/** Label of every `controlPlane` edge. */
export const CONTROL_PLANE_LABEL = 'control plane';
/** Label of every `reads` edge. */
export const READS_LABEL = 'reads API';
/** Line of an ambient mesh's label that names its data plane. */
export const AMBIENT_DATAPLANE_LINE = 'ambient data plane';
/** Line of an ambient cluster's node: its node proxy. */
export const ZTUNNEL_LINE = 'ztunnel';
/** Line of an ambient cluster's node under its east-west gateway: what kind of gateway it is. */
export const AMBIENT_GATEWAY_LINE = `class ${EAST_WEST_GATEWAY_CLASS}, HBONE ${HBONE_PORT}`;

/** Id of a mesh's group. */
export function meshGroupId(mesh: string): string {
  return `mesh:${mesh}`;
}

/** Id of a network's group. */
export function networkGroupId(mesh: string, network: string): string {
  return `network:${mesh}/${network}`;
}

/** Id of a cluster's node. */
export function clusterNodeId(cluster: string): string {
  return `cluster:${cluster}`;
}

const EDGE_ORDER: Record<GraphEdgeKind, number> = { controlPlane: 0, reads: 1, exports: 2 };

function meshDetails(mesh: MeshModel): string[] {
  const istio = [`Istio ${mesh.istio.version}`];
  if (mesh.istio.revision) istio.push(`revision ${mesh.istio.revision}`);
  if (mesh.istio.hub !== DEFAULT_ISTIO_HUB) istio.push(`from ${mesh.istio.hub}`);
  const details = [istio.join(', ')];
  if (mesh.meshID !== mesh.name) details.unshift(`mesh ID ${mesh.meshID}`);
  // Waypoints are written identically into every cluster: once on the mesh, not on each node.
  if (mesh.dataplane === 'ambient') details.push(AMBIENT_DATAPLANE_LINE, ...mesh.ambient.waypoints.map((w) => `waypoint ${w.namespace}/${w.name} for ${w.for}`));
  if (mesh.trustDomain !== DEFAULT_TRUST_DOMAIN) details.push(`trust domain ${mesh.trustDomain}`);
  return details;
}

/** The graph of a topology: what `meshgen graph` draws. */
export function topologyGraph(topology: Topology): TopologyGraph {
  const meshes = [...topology.meshes].sort((a, b) => compareStrings(a.name, b.name));
  const groups: GraphGroup[] = [];
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const mesh of meshes) {
    const meshId = meshGroupId(mesh.name);
    groups.push({ id: meshId, kind: 'mesh', name: mesh.name, details: meshDetails(mesh) });
    for (const network of meshNetworks(mesh)) {
      const group = networkGroupId(mesh.name, network);
      groups.push({ id: group, kind: 'network', name: network, parent: meshId, details: [] });
      const members = mesh.clusters.filter((c) => c.network === network).sort((a, b) => compareStrings(a.name, b.name));
      for (const cluster of members) {
        const plan = planCluster(mesh, cluster);
        const gateway = needsEastWestGateway(plan, planFederation(topology, mesh, cluster));
        nodes.push({
          id: clusterNodeId(cluster.name),
          kind: cluster.role,
          name: cluster.name,
          group,
          eastWestGateway: gateway,
          gatewayAddress: gateway ? cluster.eastWestGateway.address : undefined,
          locality: cluster.locality,
          dataplane: mesh.dataplane,
        });
        if (plan.servedBy) {
          edges.push({ kind: 'controlPlane', from: clusterNodeId(cluster.name), to: clusterNodeId(plan.servedBy.name), bidirectional: false, labels: [CONTROL_PLANE_LABEL] });
        }
        for (const target of plan.reads) {
          // Two primaries read each other: one edge per pair, from the one first by name.
          const mutual = target.role === 'primary';
          if (mutual && compareStrings(target.name, cluster.name) < 0) continue;
          edges.push({ kind: 'reads', from: clusterNodeId(cluster.name), to: clusterNodeId(target.name), bidirectional: mutual, labels: [READS_LABEL] });
        }
      }
    }
  }
  edges.push(...exportEdges(topology));
  const known = new Set([...groups.map((g) => g.id), ...nodes.map((n) => n.id)]);
  return {
    groups,
    nodes,
    edges: edges
      .filter((e) => known.has(e.from) && known.has(e.to))
      .sort((a, b) => EDGE_ORDER[a.kind] - EDGE_ORDER[b.kind] || compareStrings(a.from, b.from) || compareStrings(a.to, b.to)),
  };
}

/**
 * One edge per exporter and importing mesh, labelled with every host it
 * carries. The exporter is the whole mesh when all of its clusters run the
 * service, so a mesh-wide export draws one arrow instead of one per cluster.
 */
function exportEdges(topology: Topology): GraphEdge[] {
  const meshByName = new Map(topology.meshes.map((m) => [m.name, m]));
  const hostsByEdge = new Map<string, { from: string; to: string; hosts: Set<string> }>();
  for (const federation of topology.federations) {
    for (const e of federation.exports) {
      const from = meshByName.get(e.from);
      if (!from) continue;
      const running = from.clusters.filter((c) => e.clusters.includes(c.name));
      const sources = running.length === from.clusters.length ? [meshGroupId(from.name)] : running.map((c) => clusterNodeId(c.name));
      for (const to of e.to) {
        for (const source of sources) {
          const key = `${source}\n${to}`;
          const entry = hostsByEdge.get(key) ?? { from: source, to: meshGroupId(to), hosts: new Set<string>() };
          entry.hosts.add(e.host);
          hostsByEdge.set(key, entry);
        }
      }
    }
  }
  return [...hostsByEdge.values()].map((e) => ({
    kind: 'exports' as const,
    from: e.from,
    to: e.to,
    bidirectional: false,
    labels: [...e.hosts].sort(compareStrings),
  }));
}

/** Lines that describe a cluster node: name, role, ztunnel if ambient, and its gateway where it has one. */
export function clusterLines(node: GraphNode): string[] {
  const ambient = node.dataplane === 'ambient';
  const lines = [node.name, node.kind];
  if (ambient) lines.push(ZTUNNEL_LINE);
  if (node.eastWestGateway && node.gatewayAddress) lines.push('east-west gateway at', node.gatewayAddress);
  else if (node.eastWestGateway) lines.push('east-west gateway');
  if (node.eastWestGateway && ambient) lines.push(AMBIENT_GATEWAY_LINE);
  if (node.locality) lines.push(`locality ${node.locality}`);
  return lines;
}

/** Title of a group: `mesh <name>` or `network <name>`. */
export function groupTitle(group: GraphGroup): string {
  return `${group.kind} ${group.name}`;
}
