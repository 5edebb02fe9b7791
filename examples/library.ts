/**
 * meshgen as a library: the same output as `meshgen synth`, built inside
 * your own cdk8s code, with one object of your own added to a cluster.
 *
 *   import { … } from 'meshgen';   // in your project
 */
import { k8s } from 'cdk8s-plus-27';
import { App } from 'cdk8s';
import { encryptFolders, ensureMeshPki, loadTopology, Mesh, renderCluster, resolveMeshCredentials, writeOutput } from 'meshgen';

/** Synthesizes `topologyFile` into `outdir`, adding a ConfigMap to every cluster. */
export async function synthWithExtras(topologyFile: string, outdir: string): Promise<void> {
  const topology = loadTopology(topologyFile);
  const app = new App();
  const folders = [];
  for (const model of topology.meshes) {
    const credentials = resolveMeshCredentials(model); // API credentials for the remote secrets
    const pki = await ensureMeshPki(model); // makes or reuses the CA keys in spec.trust.keyStore
    const mesh = new Mesh(app, model.name, { mesh: model, pki, credentials });
    for (const chart of mesh.clusters) {
      new k8s.KubeConfigMap(chart, 'MeshInfo', {
        metadata: { name: 'mesh-info', namespace: 'istio-system' },
        data: { meshID: model.meshID, cluster: chart.cluster.name, network: chart.cluster.network },
      });
      // One file per object, kustomization.yaml, and a README whose meshgen commands carry this -f and -o.
      folders.push(renderCluster(chart, { run: { files: [topologyFile], outdir } }));
    }
  }
  // Encrypts every Secret as spec.secrets says (SOPS, Sealed Secrets), keeping unchanged files as they are on disk.
  const encrypted = await encryptFolders(outdir, folders, topology.meshes);
  await writeOutput(outdir, encrypted.folders); // swaps the cluster folders into place, as one change
}
