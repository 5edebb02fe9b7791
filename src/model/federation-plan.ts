/**
 * The federation rules: which ServiceEntries, gateway hosts and mesh
 * settings each cluster gets from the MeshFederations it takes part in.
 * Pure functions over the model, like plan.ts.
 *
 * Importing side: a ServiceEntry per exported host whose endpoints are the
 * exporting clusters' east-west gateways on 15443, reached with Istio
 * mutual TLS and SNI routing; sidecars resolve the host by DNS proxying.
 * Exporting side: the east-west gateway passes 15443 traffic through
 * (AUTO_PASSTHROUGH) for the exported hosts only, and a ServiceEntry for the
 * host with a workloadSelector gives the gateway the service's pods as
 * endpoints (istio/istio#52875).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { compareStrings } from '../order';
import { ClusterModel, FederationModel, MeshModel, ServiceExport, Topology } from './types';

/** An exported service as one importing cluster sees it. */
export interface ImportedService {
  readonly federation: FederationModel;
  readonly export: ServiceExport;
  /** The exporting mesh's clusters that run it, with their gateways. */
  readonly endpoints: readonly ClusterModel[];
  /** STATIC when every gateway address is an IP, DNS otherwise. */
  readonly resolution: 'STATIC' | 'DNS';
  /** Stable address of the host, with addressAllocation: static. */
  readonly address?: string;
}

/** An exported service this cluster's mesh imports, whose exporting clusters' gateway addresses are not all known yet. */
export interface WaitingImport {
  readonly export: ServiceExport;
  /** The exporting clusters whose east-west gateway address is not known yet. */
  readonly clusters: readonly ClusterModel[];
}

/** What one cluster gets from the federations of its mesh. */
export interface FederationPlan {
  /**
   * Exported services this cluster calls (only primaries hold Istio config), with the exporting clusters
   * whose gateway address is known as endpoints; a service none of whose exporters has one yet is in `waiting` only.
   */
  readonly imports: readonly ImportedService[];
  /** Imports that wait for exporting clusters' gateway addresses (set them, or run `meshgen discover` once they are installed). */
  readonly waiting: readonly WaitingImport[];
  /** Services this cluster's mesh exports, configured here (only primaries hold Istio config). */
  readonly exports: readonly ServiceExport[];
  /** The cluster runs an exported service, so others reach it through its east-west gateway. */
  readonly exporting: boolean;
  /** The mesh imports a service: sidecars must proxy DNS. */
  readonly dnsCapture: boolean;
  /** Also ISTIO_META_DNS_AUTO_ALLOCATE: before Istio 1.25, which allocates addresses itself. */
  readonly dnsAutoAllocate: boolean;
  /** Trust domains of the other federated meshes, where they differ from this mesh's. */
  readonly trustDomainAliases: readonly string[];
  /** Meshes whose root CA this mesh must trust (trust: trust-bundles). */
  readonly trustRootsOf: readonly string[];
}

/** An empty plan: a mesh in no federation. */
export const NO_FEDERATION: FederationPlan = {
  imports: [],
  waiting: [],
  exports: [],
  exporting: false,
  dnsCapture: false,
  dnsAutoAllocate: false,
  trustDomainAliases: [],
  trustRootsOf: [],
};

function sorted(items: Iterable<string>): string[] {
  return [...new Set(items)].sort(compareStrings);
}

function versionBefore(version: string, major: number, minor: number): boolean {
  const [ma, mi] = version.split('.').map(Number);
  return ma < major || (ma === major && mi < minor);
}

/**
 * Stable addresses for exported hosts, from Istio's reserved Class E range
 * 240.240.0.0/12 (outside the 240.240.0.0/16 Istio allocates itself):
 * derived from a hash of the host, and bumped past collisions in host order.
 */
export function staticAddresses(topology: Topology): Map<string, string> {
  const hosts = sorted(topology.federations.filter((f) => f.addressAllocation === 'static').flatMap((f) => f.exports.map((e) => e.host)));
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const host of hosts) {
    let n = createHash('sha256').update(host).digest().readUInt16BE(0);
    while (taken.has(n)) n = (n + 1) % 65536;
    taken.add(n);
    out.set(host, `240.241.${n >> 8}.${n & 0xff}`);
  }
  return out;
}

/** Plans the federation part of one cluster. */
export function planFederation(topology: Topology, mesh: MeshModel, cluster: ClusterModel): FederationPlan {
  const feds = topology.federations.filter((f) => f.meshes.includes(mesh.name));
  if (feds.length === 0) return NO_FEDERATION;
  const isPrimary = cluster.role === 'primary';
  const addresses = staticAddresses(topology);
  const meshByName = new Map(topology.meshes.map((m) => [m.name, m]));
  const imports: ImportedService[] = [];
  const waiting: WaitingImport[] = [];
  const exported: ServiceExport[] = [];
  let exporting = false;
  let importsAny = false;
  let autoAllocate = false;
  for (const f of feds) {
    for (const e of f.exports) {
      if (e.to.includes(mesh.name)) {
        importsAny = true;
        autoAllocate ||= f.addressAllocation === 'auto';
        if (isPrimary) {
          const from = meshByName.get(e.from);
          const exporters = (from?.clusters ?? []).filter((c) => e.clusters.includes(c.name));
          const endpoints = exporters.filter((c) => c.eastWestGateway.address !== undefined);
          const unknown = exporters.filter((c) => c.eastWestGateway.address === undefined);
          if (unknown.length > 0) waiting.push({ export: e, clusters: unknown });
          if (endpoints.length > 0) {
            imports.push({
              federation: f,
              export: e,
              endpoints,
              resolution: endpoints.every((c) => isIP(c.eastWestGateway.address as string) !== 0) ? 'STATIC' : 'DNS',
              address: addresses.get(e.host),
            });
          }
        }
      }
      if (e.from === mesh.name) {
        if (isPrimary) exported.push(e);
        if (e.clusters.includes(cluster.name)) exporting = true;
      }
    }
  }
  const others = feds.flatMap((f) => f.meshes).filter((m) => m !== mesh.name);
  return {
    imports,
    waiting,
    // Not named `exports`: CommonJS output would shadow the module's exports object.
    exports: exported,
    exporting,
    dnsCapture: importsAny,
    dnsAutoAllocate: importsAny && autoAllocate && versionBefore(mesh.istio.version, 1, 25),
    trustDomainAliases: sorted(others.map((m) => meshByName.get(m)?.trustDomain ?? '').filter((d) => d !== '' && d !== mesh.trustDomain)),
    trustRootsOf: sorted(feds.filter((f) => f.trust === 'trust-bundles').flatMap((f) => f.meshes).filter((m) => m !== mesh.name)),
  };
}

/**
 * Whether a cluster runs an east-west gateway: its mesh needs one for
 * multi-network traffic or remotes (plan.eastWestGateway), or it runs a
 * service exported to other meshes. Charts, graph and README all ask here.
 */
export function needsEastWestGateway(plan: { readonly eastWestGateway: boolean }, fed: Pick<FederationPlan, 'exporting'>): boolean {
  return plan.eastWestGateway || fed.exporting;
}
