/**
 * ClusterChart's own checks, which a library user meets when building a
 * chart from a model the loader did not check: a remote without a primary,
 * and a remote whose primary has no east-west gateway address yet (built
 * with its namespace and CA only).
 */
import * as path from 'node:path';
import { App } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterChart } from '../../src/charts/cluster-chart';
import { resolveMeshCredentials } from '../../src/credentials/resolve';
import { TopologyError } from '../../src/errors';
import { awaitingAddress } from '../../src/model/plan';
import { ClusterModel, MeshModel } from '../../src/model/types';
import { ensureMeshPki } from '../../src/pki/key-store';
import { generatePrivateKey } from '../../src/pki/certificates';
import { meshModel, tmpDir } from '../helpers';

/** mesh1 with primary cluster1 and cluster2 turned into a remote by `remote`. */
function withRemote(remote: Partial<ClusterModel>): MeshModel {
  const base = meshModel(path.join(tmpDir(), 'pki'));
  return { ...base, clusters: base.clusters.map((c) => (c.name === 'cluster2' ? { ...c, role: 'remote', ...remote } : c)) };
}

async function chartOf(mesh: MeshModel, cluster: string): Promise<ClusterChart> {
  const pki = await ensureMeshPki(mesh, { generateKey: () => generatePrivateKey(2048) });
  return new ClusterChart(new App(), cluster, { mesh, cluster: mesh.clusters.find((c) => c.name === cluster)!, pki, credentials: resolveMeshCredentials(mesh, { env: {} }) });
}

describe('ClusterChart', () => {
  it('refuses a remote without a primary of its mesh as its controlPlane', async () => {
    for (const controlPlane of [undefined, 'nowhere']) {
      const err = await chartOf(withRemote({ controlPlane }), 'cluster2').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TopologyError);
      expect((err as Error).message).toBe('remote "cluster2" needs a primary of mesh "mesh1" as its controlPlane');
    }
  });

  it('builds only the namespace and CA of a remote whose primary has no east-west gateway address yet, and names that primary', async () => {
    const chart = await chartOf(withRemote({ controlPlane: 'cluster1' }), 'cluster2');
    expect(awaitingAddress(chart.plan)?.name).toBe('cluster1');
    expect(chart.istioctlInputs).toEqual([]);
    expect(chart.toJson().map((o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`)).toEqual(['Namespace/istio-system', 'Secret/cacerts']);
  });

  it('builds the remote once the primary has its address', async () => {
    const mesh = withRemote({ controlPlane: 'cluster1' });
    const ready = { ...mesh, clusters: mesh.clusters.map((c) => (c.name === 'cluster1' ? { ...c, eastWestGateway: { ...c.eastWestGateway, address: '192.0.2.10' } } : c)) };
    const chart = await chartOf(ready, 'cluster2');
    expect(chart.plan.remotePilotAddress).toBe('192.0.2.10');
  });
});
