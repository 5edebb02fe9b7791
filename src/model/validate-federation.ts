/**
 * Checks of MeshFederation documents against the meshes they name, and of
 * key stores, which federations may share. Pure: every problem is
 * collected, nothing is thrown. Values of the wrong shape are skipped (the
 * schema check names them).
 */
import { Problem } from '../errors';
import { nearest } from './schema-check';
import { problemAt, SourceDocument } from './source';
import { keyStorePath } from './types';
import { DiscoveredLookup, gatewayAddressOf } from './discovered';
import { FirstUses, obj, str } from './validate';

interface MeshInfo {
  doc: SourceDocument;
  clusters: Map<string, ClusterInfo>;
  keyStore: string;
}

/** What the federation rules read of a cluster: its gateway address (the topology's, else a discovered one) and how it is served. */
interface ClusterInfo {
  index: number;
  address?: string;
  /** The gateway's port is known: set in the topology, or stored by discover with the address. */
  port: boolean;
  /** The topology sets the address (not discover). */
  addressInTopology: boolean;
  serviceType: string;
}

function meshInfos(meshDocs: readonly SourceDocument[], discovered: DiscoveredLookup): Map<string, MeshInfo> {
  const out = new Map<string, MeshInfo>();
  for (const doc of meshDocs) {
    const name = str(obj(obj(doc.value).metadata).name);
    if (name === undefined || out.has(name)) continue;
    const spec = obj(obj(doc.value).spec);
    const clusters = new Map<string, ClusterInfo>();
    const found = discovered(doc);
    (Array.isArray(spec.clusters) ? spec.clusters : []).forEach((raw, index) => {
      const c = obj(raw);
      const cname = str(c.name);
      const gw = obj(c.eastWestGateway);
      if (cname === undefined) return;
      const port = typeof gw.port === 'number' ? gw.port : undefined;
      const g = gatewayAddressOf({ address: str(gw.address), port }, found, cname);
      clusters.set(cname, { index, address: g.address, port: g.port !== undefined, addressInTopology: g.addressSource === 'topology', serviceType: str(gw.serviceType) ?? 'LoadBalancer' });
    });
    const keyStore = keyStorePath(doc.file, str(obj(spec.trust).keyStore));
    out.set(name, { doc, clusters, keyStore });
  }
  return out;
}

/** What the checks of one federation share with the others: the problems found, the meshes, and the names and hosts claimed so far. */
interface FederationContext {
  problems: Problem[];
  meshes: Map<string, MeshInfo>;
  /** Federation names, each claimed by the first federation that uses it. */
  names: FirstUses;
  /** host → importing mesh → where first imported */
  imported: Map<string, FirstUses>;
  /** Pairs of meshes joined by a shared-root federation, as "a\nb" with a < b. */
  sharedRootPairs: Set<string>;
}

/** Builds the path of a field of one export, under spec.exports. */
type ExportPath = (...rest: (string | number)[]) => (string | number)[];

/** Every problem of the federations, and of key stores shared between meshes. */
export function validateFederations(fedDocs: readonly SourceDocument[], meshDocs: readonly SourceDocument[], discovered: DiscoveredLookup = () => new Map()): Problem[] {
  const problems: Problem[] = [];
  const ctx: FederationContext = {
    problems,
    meshes: meshInfos(meshDocs, discovered),
    names: new FirstUses(problems),
    imported: new Map<string, FirstUses>(),
    sharedRootPairs: new Set<string>(),
  };
  for (const doc of fedDocs) checkFederation(doc, ctx);
  checkSharedKeyStores(ctx.meshes, ctx.sharedRootPairs, problems);
  return problems;
}

/** Checks one MeshFederation document: its name, its meshes, its trust and its exports. */
function checkFederation(doc: SourceDocument, ctx: FederationContext): void {
  const spec = obj(obj(doc.value).spec);
  const fedName = str(obj(obj(doc.value).metadata).name);
  ctx.names.claim(fedName, doc, ['metadata', 'name'], (at) => `federation "${fedName}" is already defined at ${at}`, 'give each MeshFederation its own name');
  const members = (Array.isArray(spec.meshes) ? spec.meshes : []).map(str);
  const present = checkMembers(doc, members, ctx);
  const trust = str(spec.trust) ?? 'shared-root';
  if (trust === 'shared-root') checkSharedRoot(doc, spec, present, ctx);

  const suffix = str(spec.hostSuffix) ?? 'global';
  const exports = Array.isArray(spec.exports) ? spec.exports : [];
  exports.forEach((raw, i) => checkExport(doc, obj(raw), i, fedName, present, suffix, ctx));
}

/** Reports members that are not meshes of the topology, or are ambient meshes, and returns the members that are defined. */
function checkMembers(doc: SourceDocument, members: (string | undefined)[], ctx: FederationContext): string[] {
  const { problems, meshes } = ctx;
  const known = [...meshes.keys()];
  members.forEach((m, i) => {
    if (m !== undefined && !meshes.has(m)) {
      const near = nearest(m, known);
      problems.push(
        problemAt(doc, ['spec', 'meshes', i], `mesh "${m}" is not defined in the topology`, near ? `did you mean "${near}"?` : `define a Mesh named "${m}", or remove it`),
      );
    }
  });
  const present = members.filter((m): m is string => m !== undefined && meshes.has(m));
  // Federation carries calls through sidecar east-west gateways (AUTO_PASSTHROUGH on 15443), which ambient meshes do not run.
  members.forEach((m, i) => {
    if (m !== undefined && meshes.has(m) && str(obj(obj(meshes.get(m)!.doc.value).spec).dataplane) === 'ambient') {
      problems.push(
        problemAt(doc, ['spec', 'meshes', i], `mesh "${m}" is an ambient mesh, and meshgen federates sidecar meshes only (through their sidecar east-west gateways)`, `leave "${m}" out of the federation, or make it a sidecar mesh`),
      );
    }
  });
  return present;
}

/** Records the meshes of a shared-root federation as joined, and reports members whose key stores differ from the first one's. */
function checkSharedRoot(doc: SourceDocument, spec: Record<string, unknown>, present: string[], ctx: FederationContext): void {
  const { problems, meshes } = ctx;
  for (const m of present) for (const n of present) if (m < n) ctx.sharedRootPairs.add(`${m}\n${n}`);
  const stores = new Map(present.map((m) => [m, meshes.get(m)!.keyStore]));
  const first = present[0];
  for (const m of present.slice(1)) {
    if (stores.get(m) !== stores.get(first)) {
      problems.push(
        problemAt(
          doc,
          spec.trust === undefined ? ['spec', 'meshes'] : ['spec', 'trust'],
          `meshes "${first}" and "${m}" have different key stores, so different root CAs, but trust shared-root needs one root`,
          'give the federated meshes the same spec.trust.keyStore, or set trust: trust-bundles to keep separate roots',
        ),
      );
    }
  }
}

/** Checks one export of a federation: its meshes, the hosts it imports, its clusters, its split and its ports. */
function checkExport(doc: SourceDocument, e: Record<string, unknown>, i: number, fedName: string | undefined, present: string[], suffix: string, ctx: FederationContext): void {
  const { problems } = ctx;
  const at: ExportPath = (...rest) => ['spec', 'exports', i, ...rest];
  const from = str(e.from);
  const to = (Array.isArray(e.to) ? e.to : []).map(str);
  checkExportMeshes(doc, at, from, to, fedName, present, problems);
  const service = str(e.service);
  const namespace = str(e.namespace);
  const host = service && namespace ? `${service}.${namespace}.${suffix}` : undefined;
  claimImportedHosts(doc, at, to, host, ctx);
  const mesh = from !== undefined ? ctx.meshes.get(from) : undefined;
  if (from !== undefined && mesh) checkExportClusters(doc, at, e, from, mesh, host, ctx);
  const split = obj(e.split);
  if (typeof split.local === 'number' && typeof split.remote === 'number' && split.local + split.remote !== 100) {
    problems.push(problemAt(doc, at('split'), `split weights add up to ${split.local + split.remote}, not 100`, 'make local + remote equal 100'));
  }
  const ports = Array.isArray(e.ports) ? e.ports : [];
  const portNames = new FirstUses(problems);
  ports.forEach((p, j) => {
    const pname = str(obj(p).name);
    portNames.claim(pname, doc, at('ports', j, 'name'), (first) => `port name "${pname}" is already used at ${first}`, 'give each port its own name');
  });
}

/** Reports an export whose from or to names a mesh outside the federation, or whose to names the exporting mesh itself. */
function checkExportMeshes(doc: SourceDocument, at: ExportPath, from: string | undefined, to: (string | undefined)[], fedName: string | undefined, present: string[], problems: Problem[]): void {
  if (from !== undefined && !present.includes(from)) {
    problems.push(problemAt(doc, at('from'), `mesh "${from}" is not a mesh of federation "${fedName}"`, `use one of: ${present.join(', ')}`));
  }
  to.forEach((t, j) => {
    if (t === undefined) return;
    if (t === from) problems.push(problemAt(doc, at('to', j), `mesh "${t}" exports the service to itself`, 'list only other meshes in to'));
    else if (!present.includes(t)) problems.push(problemAt(doc, at('to', j), `mesh "${t}" is not a mesh of federation "${fedName}"`, `use one of: ${present.join(', ')}`));
  });
}

/** Claims the exported host in every importing mesh, reporting a mesh that would import the same host twice. */
function claimImportedHosts(doc: SourceDocument, at: ExportPath, to: (string | undefined)[], host: string | undefined, ctx: FederationContext): void {
  for (const t of to) {
    if (t === undefined || host === undefined) continue;
    if (!ctx.imported.has(t)) ctx.imported.set(t, new FirstUses(ctx.problems));
    ctx.imported.get(t)!.claim(
      host,
      doc,
      at('service'),
      (first) => `mesh "${t}" would import host ${host} twice: it is already exported to it at ${first}`,
      'export each service to a mesh once, or use another hostSuffix',
    );
  }
}

/** Reports listed clusters that are not clusters of the exporting mesh, and exporting clusters whose gateway others cannot reach. */
function checkExportClusters(doc: SourceDocument, at: ExportPath, e: Record<string, unknown>, from: string, mesh: MeshInfo, host: string | undefined, ctx: FederationContext): void {
  const { problems } = ctx;
  const listed = Array.isArray(e.clusters) ? e.clusters.map(str) : undefined;
  listed?.forEach((c, j) => {
    if (c !== undefined && !mesh.clusters.has(c)) {
      problems.push(problemAt(doc, at('clusters', j), `cluster "${c}" is not a cluster of mesh "${from}"`, `use clusters of "${from}": ${[...mesh.clusters.keys()].join(', ')}`));
    }
  });
  const exporting = (listed ?? [...mesh.clusters.keys()]).filter((c): c is string => c !== undefined && mesh.clusters.has(c));
  for (const c of exporting) {
    const info = mesh.clusters.get(c)!;
    // An exporter without an address yet is no error: its importers wait for it (federation-plan.ts `waiting`).
    if (info.serviceType === 'NodePort' && info.address !== undefined && !info.port) {
      problems.push(
        problemAt(
          mesh.doc,
          ['spec', 'clusters', info.index, 'eastWestGateway', ...(info.addressInTopology ? ['address'] : [])],
          `cluster "${c}" exports ${host ?? 'a service'} to other meshes through a NodePort gateway at ${info.address}, which serves its passthrough port 15443 on a node port, but no port is set, so they would call ${info.address}:15443`,
          `set eastWestGateway.port of "${c}" to the node port of its "tls" port (kubectl -n istio-system get service istio-eastwestgateway -o jsonpath='{.spec.ports[?(@.name=="tls")].nodePort}'), or leave address unset and run \`meshgen discover --cluster ${c}\`, which stores both`,
        ),
      );
    }
  }
}

/** Reports meshes that share a key store (and so a root CA) without a shared-root federation joining them. */
function checkSharedKeyStores(meshes: Map<string, MeshInfo>, sharedRootPairs: Set<string>, problems: Problem[]): void {
  // Meshes may share a key store (and so a root CA) only when shared-root federations join them, directly or through
  // other meshes (a with b, a with c: b and c share that root too). Every pair is checked, so document order does not matter.
  const joined = new Map<string, string>();
  const rootOf = (m: string): string => {
    const up = joined.get(m);
    return up === undefined || up === m ? m : rootOf(up);
  };
  for (const pair of sharedRootPairs) {
    const [a, b] = pair.split('\n');
    joined.set(rootOf(b), rootOf(a));
  }
  const byStore = new Map<string, string[]>();
  for (const [name, info] of meshes) byStore.set(info.keyStore, [...(byStore.get(info.keyStore) ?? []), name]);
  for (const group of byStore.values()) {
    const reported = new Set<string>();
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        if (reported.has(group[j]) || rootOf(group[i]) === rootOf(group[j])) continue;
        reported.add(group[j]);
        const info = meshes.get(group[j])!;
        const keyStoreSet = str(obj(obj(obj(info.doc.value).spec).trust).keyStore) !== undefined;
        problems.push(
          problemAt(
            info.doc,
            keyStoreSet ? ['spec', 'trust', 'keyStore'] : ['metadata', 'name'],
            `the key store of mesh "${group[j]}" is also the key store of mesh "${group[i]}", so both meshes would share one root CA`,
            'give each mesh its own spec.trust.keyStore, e.g. .meshgen/pki/<mesh name>, or federate them with trust: shared-root',
          ),
        );
      }
    }
  }
}
