/**
 * East-west gateway addresses that `meshgen discover` read off the clusters,
 * kept in the mesh's key store as `<keyStore>/discovered.json` (0644: it holds
 * no secret), never in the topology file. Loading a topology fills an unset
 * `eastWestGateway.address` from here; an address the topology sets always wins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Problem } from '../errors';
import { displayPath } from '../paths';
import type { SourceDocument } from './source';

/** File name of the discovered addresses in a key store. */
export const DISCOVERED_FILE = 'discovered.json';
/** Format version of the file. */
export const DISCOVERED_VERSION = 1;

/** One cluster's discovered east-west gateway address. */
export interface DiscoveredAddress {
  /** IP address or DNS name of the gateway. */
  readonly address: string;
  /** What it was read from, e.g. `Service istio-system/istio-eastwestgateway`. */
  readonly from: string;
  /** When it was read (ISO 8601). */
  readonly discovered: string;
  /** The port of the gateway's passthrough (15443) at that address, when it is another: a NodePort gateway's node port. */
  readonly port?: number;
}

/** Discovered addresses by cluster name. */
export type DiscoveredAddresses = ReadonlyMap<string, DiscoveredAddress>;

/** Where a cluster's east-west gateway is reached, and where that came from (all unset while unknown). */
export interface GatewayAddress {
  readonly address?: string;
  readonly addressSource?: 'topology' | 'discovered';
  readonly discovered?: string;
  readonly port?: number;
}

/** A cluster's gateway address and port: the topology's, else what `meshgen discover` stored, with where they came from; the topology's port wins too. */
export function gatewayAddressOf(gw: { address?: string; port?: number } | undefined, found: DiscoveredAddresses, cluster: string): GatewayAddress {
  const d = gw?.address === undefined ? found.get(cluster) : undefined;
  const port = gw?.port ?? d?.port;
  const withPort = port !== undefined ? { port } : {};
  if (gw?.address !== undefined) return { address: gw.address, addressSource: 'topology' as const, ...withPort };
  return d ? { address: d.address, addressSource: 'discovered' as const, discovered: d.discovered, ...withPort } : {};
}

/** The addresses `meshgen discover` stored for the clusters of a Mesh document (its key store's discovered.json). */
export type DiscoveredLookup = (doc: SourceDocument) => DiscoveredAddresses;

/** Path of the discovered addresses of the key store `keyStore`. */
export function discoveredPath(keyStore: string): string {
  return path.join(keyStore, DISCOVERED_FILE);
}

/** The fix for a damaged file. */
export const DISCOVERED_FIX = 'run meshgen discover again or delete it';

/**
 * The discovered addresses of `keyStore`: none when the file does not exist;
 * a problem naming the file when it cannot be read or is damaged.
 */
export function readDiscoveredOrProblem(keyStore: string): { addresses: DiscoveredAddresses; problem?: Problem } {
  const file = discoveredPath(keyStore);
  const damaged = (message: string) => ({ addresses: new Map<string, DiscoveredAddress>(), problem: { file: displayPath(file), message, fix: DISCOVERED_FIX } });
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { addresses: new Map() };
    return damaged(`cannot be read (${code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return damaged('is damaged: not JSON');
  }
  const doc = value as { version?: unknown; clusters?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return damaged('is damaged: not a JSON object');
  if (doc.version !== DISCOVERED_VERSION) return damaged(`is damaged or from another meshgen: version ${JSON.stringify(doc.version)}, expected ${DISCOVERED_VERSION}`);
  if (typeof doc.clusters !== 'object' || doc.clusters === null || Array.isArray(doc.clusters)) return damaged('is damaged: "clusters" is not an object');
  const addresses = new Map<string, DiscoveredAddress>();
  for (const [name, raw] of Object.entries(doc.clusters as Record<string, unknown>)) {
    const e = raw as Partial<Record<keyof DiscoveredAddress, unknown>> | null;
    if (typeof e !== 'object' || e === null || typeof e.address !== 'string' || e.address === '' || typeof e.from !== 'string' || typeof e.discovered !== 'string') {
      return damaged(`is damaged: the entry of cluster "${name}" lacks address, from or discovered`);
    }
    if (e.port !== undefined && !(Number.isInteger(e.port) && (e.port as number) >= 1 && (e.port as number) <= 65535)) {
      return damaged(`is damaged: the port of cluster "${name}" is not a port number`);
    }
    addresses.set(name, { address: e.address, from: e.from, discovered: e.discovered, ...(e.port !== undefined ? { port: e.port as number } : {}) });
  }
  return { addresses };
}

/** The file's text for `addresses`, clusters sorted by name. */
export function discoveredText(addresses: DiscoveredAddresses): string {
  const clusters = Object.fromEntries(
    [...addresses.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, e]) => [name, { address: e.address, ...(e.port !== undefined ? { port: e.port } : {}), from: e.from, discovered: e.discovered }]),
  );
  return `${JSON.stringify({ version: DISCOVERED_VERSION, clusters }, null, 2)}\n`;
}

/** The date part (YYYY-MM-DD) of a discovered time, for messages. */
export function discoveredDate(discovered: string | undefined): string {
  return (discovered ?? '').slice(0, 10);
}
