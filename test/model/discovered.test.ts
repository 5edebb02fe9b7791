/**
 * `<keyStore>/discovered.json`: every way it can be damaged gives one problem
 * that names the file and the fix; a missing file is no problem.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DISCOVERED_FIX, discoveredText, readDiscoveredOrProblem } from '../../src/model/discovered';
import { tmpDir } from '../helpers';

const entry = { address: '192.0.2.10', from: 'Service istio-system/istio-eastwestgateway', discovered: '2026-12-03T00:00:00.000Z' };

describe('discovered.json', () => {
  it('reads nothing from a store without one, and reads back what discoveredText wrote, port included', () => {
    const store = tmpDir();
    expect(readDiscoveredOrProblem(store)).toEqual({ addresses: new Map() });
    fs.writeFileSync(path.join(store, 'discovered.json'), discoveredText(new Map([['cluster1', { ...entry, port: 31443 }]])));
    expect(readDiscoveredOrProblem(store)).toEqual({ addresses: new Map([['cluster1', { ...entry, port: 31443 }]]) });
  });

  it.each([
    ['not JSON', '{"version": 1,', /is damaged: not JSON/],
    ['not an object', '[1]', /is damaged: not a JSON object/],
    ['of another version', '{"version": 2, "clusters": {}}', /is damaged or from another meshgen: version 2, expected 1/],
    ['clusters not an object', '{"version": 1, "clusters": []}', /is damaged: "clusters" is not an object/],
    ['an entry without an address', JSON.stringify({ version: 1, clusters: { c1: { ...entry, address: '' } } }), /the entry of cluster "c1" lacks address, from or discovered/],
    ['a port that is no port', JSON.stringify({ version: 1, clusters: { c1: { ...entry, port: 70000 } } }), /the port of cluster "c1" is not a port number/],
  ])('names the file and the fix when it is %s', (_what, text, message) => {
    const store = tmpDir();
    fs.writeFileSync(path.join(store, 'discovered.json'), text);
    const { addresses, problem } = readDiscoveredOrProblem(store);
    expect(addresses.size).toBe(0);
    expect(problem?.file).toMatch(/discovered\.json$/);
    expect(problem?.message).toMatch(message);
    expect(problem?.fix).toBe(DISCOVERED_FIX);
  });

  it('says it cannot be read when it is a folder', () => {
    const store = tmpDir();
    fs.mkdirSync(path.join(store, 'discovered.json'));
    expect(readDiscoveredOrProblem(store).problem?.message).toBe('cannot be read (EISDIR)');
  });
});

describe('discovered addresses in the loader', () => {
  it('are read for a topology on disk, and not for a topology being written (init, convert)', async () => {
    const { parseTopology } = await import('../../src/model/load');
    const { TopologyError } = await import('../../src/errors');
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'pki'));
    const file = path.join(dir, 'mesh.yaml');
    const text = 'apiVersion: meshgen.dev/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  istio: {version: 1.30.3}\n  trust: {keyStore: pki}\n  clusters:\n    - {name: cluster1, context: c1, network: n1}\n    - {name: cluster2, context: c2, network: n2}\n';
    fs.writeFileSync(path.join(dir, 'pki', 'discovered.json'), discoveredText(new Map([['cluster1', entry]])));
    expect(parseTopology([{ file, text }]).meshes[0].clusters[0].eastWestGateway.address).toBe('192.0.2.10');
    expect(parseTopology([{ file, text }], [], { discovered: 'skip' }).meshes[0].clusters[0].eastWestGateway.address).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'pki', 'discovered.json'), '{"version": 1,');
    expect(() => parseTopology([{ file, text }])).toThrow(TopologyError);
    expect(parseTopology([{ file, text }], [], { discovered: 'skip' }).meshes).toHaveLength(1);
  });
});
