/**
 * meshgen's library API: load a topology, make its CA material, build the
 * constructs in your own cdk8s app, or synthesize everything at once.
 */
export * from './errors';
export * from './model/types';
export { loadTopology, parseTopology } from './model/load';
export type { TopologySource } from './model/load';
export { meshSchema } from './model/schema';
export * from './model/plan';
export * from './pki/certificates';
export { ensureMeshPki } from './pki/key-store';
export type { MeshPki, CacertsFiles, KeyStoreOptions, Provenance } from './pki/key-store';
export * from './constructs/names';
export * from './constructs/istio-operator';
export * from './constructs/istio-system-namespace';
export * from './constructs/cacerts-secret';
export * from './constructs/control-plane';
export * from './constructs/east-west-gateway';
export * from './constructs/cross-network-gateway';
export * from './constructs/remote-control-plane';
export * from './constructs/expose-istiod';
export * from './constructs/remote-secret';
export * from './constructs/reader-token-secret';
export * from './constructs/external-remote-secret';
export * from './constructs/east-west-gateway-manifests';
export * from './constructs/flux';
export * from './constructs/argocd';
export * from './constructs/sail';
export * from './constructs/folder-file';
export * from './constructs/samples';
export * from './constructs/federated-service';
export * from './model/install-values';
export * from './model/federation-plan';
export * from './credentials/kubeconfig';
export * from './credentials/remote-kubeconfig';
export * from './credentials/resolve';
export * from './credentials/token-store';
export * from './charts/cluster-chart';
export * from './charts/mesh';
export { renderCluster, MARKER_FILE } from './synth/render';
export type { RenderedFile, RenderedFolder } from './synth/render';
export { writeOutput } from './synth/write';
export type { WriteResult } from './synth/write';
export { synthesize, renderTopology } from './synth/synthesize';
export type { SynthOptions, SynthResult, ClusterSummary } from './synth/synthesize';
