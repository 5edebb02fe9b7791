/**
 * The "Root rotation" section of a cluster README: what the stage in this
 * output changes, and what to check on the cluster before the next stage.
 * Follows Istio's multi-root trust (`ISTIO_MULTIROOT_MESH`,
 * `PROXY_CONFIG_XDS_AGENT`) with plugged-in CA certificates.
 */
import { ClusterPlan } from '../model/plan';
import type { PeerRotation } from '../charts/cluster-chart';
import { RootRotation } from '../pki/manifest';
import { fingerprintsOf, TrustFacts } from '../pki/trust-facts';
import { shellQuote } from '../shell';
import type { MeshgenCommand } from './readme';

/** How the README's `meshgen` commands are written, and where they run. */
export interface RotationCommands {
  readonly command: MeshgenCommand;
  /** Where they run, as the README says it ("this folder"). */
  readonly where: string;
}

const ROOTS_IN_CONFIGMAP = (ctx: string) =>
  `kubectl --context=${ctx} get configmap istio-ca-root-cert -n istio-system -o jsonpath='{.data.root-cert\\.pem}' | grep -c 'BEGIN CERTIFICATE'`;
const ROOTS_IN_PROXY = (ctx: string) =>
  `istioctl --context=${ctx} proxy-config secret deploy/<name> -n <namespace> -o json | jq -r '.dynamicActiveSecrets[] | select(.name=="ROOTCA") | .secret.validationContext.trustedCa.inlineBytes' | base64 -d | grep -c 'BEGIN CERTIFICATE'`;
const ROOT_OF_PROXY = (ctx: string) =>
  `istioctl --context=${ctx} proxy-config secret deploy/<name> -n <namespace> -o json | jq -r '.dynamicActiveSecrets[] | select(.name=="default") | .secret.tlsCertificate.certificateChain.inlineBytes' | base64 -d | awk '/BEGIN/{c=""} {c=c $0 "\\n"} END{printf "%s", c}' | openssl x509 -noout -fingerprint -sha256`;

/**
 * Whether the README of a cluster whose intermediate was issued at `issued`
 * still carries the steps of `rotation`. Stages 1 and 2 are under way. Of
 * stage 3 the key store records only that it began, and when: not that its
 * output was rolled out and istiod restarted, which happen on the clusters.
 * So its steps stay wherever they may still be needed: in each cluster whose
 * intermediate was issued before stage 3 began (at stage 2, all of them), as
 * its istiod held both roots. A cluster that joined later never trusted the
 * old root; one whose intermediate was issued again since has had istiod
 * restarted for it, which is what stage 3 asks. An unknown issue date counts
 * as before.
 */
export function showsRotation(rotation: RootRotation | undefined, issued: Date | undefined): rotation is RootRotation {
  if (!rotation) return false;
  return rotation.stage < 3 || issued === undefined || issued.getTime() <= Date.parse(rotation.stageStarted);
}

/**
 * Markdown lines of the section, or none when no root rotation was ever made
 * in the key store, or when its last stage no longer concerns the cluster
 * (showsRotation).
 */
export function rootRotationSection(plan: ClusterPlan, rotation: RootRotation | undefined, meshgen: RotationCommands, intermediateIssued?: Date): string[] {
  if (!showsRotation(rotation, intermediateIssued)) return [];
  const { cluster, servedBy: primary } = plan;
  const ctx = shellQuote(cluster.context);
  const istiodCtx = shellQuote((primary ?? cluster).context);
  const restart = [
    `kubectl --context=${istiodCtx} rollout restart deployment -l app=istiod -n istio-system`,
    `kubectl --context=${istiodCtx} rollout status deployment -l app=istiod -n istio-system`,
  ];
  const istiod = primary ? `the istiod of \`${primary.name}\` (which serves this cluster)` : 'istiod';
  const next = (stage: string) =>
    `Then, from ${meshgen.where}: \`${meshgen.command('certs rotate', ['--root', '--continue', '--mesh', shellQuote(plan.mesh.name)])}\` (${stage}).`;
  const out: string[] = [`## Root rotation: stage ${rotation.stage} of 3`, ''];
  const code = (...cmds: string[]) => out.push('```sh', ...cmds, '```', '');
  if (rotation.stage === 1) {
    out.push(
      `The key store is replacing its root CA (started ${rotation.started.slice(0, 10)}). In this stage the cluster trusts both roots: \`root-cert.pem\` in \`cacerts\` holds the current root, then the new one (SHA-256 \`${rotation.nextRoot?.sha256}\`). The intermediate is unchanged. istiod runs with \`ISTIO_MULTIROOT_MESH=true\` and proxies take their roots from istiod (\`PROXY_CONFIG_XDS_AGENT=true\`), Istio's multi-root trust.`,
      '',
      `After applying, restart ${istiod} so that it reads both roots:`,
      '',
    );
    code(...restart);
    out.push('Check before moving on, on every cluster of the key store:', '', '1. The root ConfigMap carries both roots (prints `2`):', '');
    code(ROOTS_IN_CONFIGMAP(ctx));
    out.push('2. A proxy trusts both roots (prints `2`; restart workloads whose proxies still print `1`):', '');
    code(ROOTS_IN_PROXY(ctx));
    out.push(next('stage 2 re-issues the intermediates'));
  } else if (rotation.stage === 2) {
    out.push(
      `The intermediate in \`cacerts\` is now issued by the new root (SHA-256 \`${rotation.nextRoot?.sha256}\`). \`root-cert.pem\` still holds both roots, the new one first, so workloads with certificates from either root keep trusting each other while they move over.`,
      '',
      `After applying, restart ${istiod} so that it signs with the new intermediate:`,
      '',
    );
    code(...restart);
    out.push(
      'Check before moving on, on every cluster of the key store:',
      '',
      `1. Every workload holds a certificate from the new intermediate. Certificates renew within 24 hours by default; restart workloads to move them at once. The last certificate of a workload's chain is its root, and must print the new root's fingerprint, \`${rotation.nextRoot?.sha256}\`:`,
      '',
    );
    code(ROOT_OF_PROXY(ctx));
    out.push('2. Calls between clusters still succeed.', '', next('stage 3 removes the old root'));
  } else {
    out.push(
      `The new root is the root: \`root-cert.pem\` holds it alone, and the old one (SHA-256 \`${rotation.retiredRoot?.sha256}\`) is retired to the key store's \`_history/root/\`. A workload still holding a certificate from the old root would now fail; the checks of stage 2 rule that out.`,
      '',
      `After applying, restart ${istiod}:`,
      '',
    );
    code(...restart);
    out.push('Check that the root ConfigMap carries one root (prints `1`):', '');
    code(ROOTS_IN_CONFIGMAP(ctx));
    out.push(
      `The rotation is then complete; \`${meshgen.command('certs status')}\` (from ${meshgen.where}) shows the new root. The multi-root settings stay, so a later rotation needs no extra rollout.`,
    );
  }
  out.push('');
  return out;
}

/** Markdown lines for the root rotations of other meshes this cluster trusts (trust bundles), or none. */
export function peerRotationSection(plan: ClusterPlan, peers: readonly PeerRotation[], facts: TrustFacts, meshgen: RotationCommands): string[] {
  if (peers.length === 0) return [];
  const ctx = shellQuote((plan.servedBy ?? plan.cluster).context);
  const configMap = plan.mesh.istio.revision ? `istio-${plan.mesh.istio.revision}` : 'istio';
  const out: string[] = ['## Root rotation of a trusted mesh', ''];
  for (const p of peers) {
    const fps = p.roots.flatMap((pem) => fingerprintsOf(pem));
    out.push(
      `Mesh \`${p.mesh}\` is at stage ${p.rotation.stage} of 3 of a root rotation. This output trusts its ${fps.length === 1 ? 'root' : 'roots'} through \`meshConfig.caCertificates\`: ${fps.map((f) => `\`${f}\``).join(', ')}.`,
      '',
    );
  }
  out.push(
    `After applying, check that istiod serves them: the mesh config holds every root of other meshes this cluster trusts (prints \`${facts.extraRoots.length}\`):`,
    '',
    '```sh',
    `kubectl --context=${ctx} get configmap ${configMap} -n istio-system -o jsonpath='{.data.mesh}' | grep -c 'BEGIN CERTIFICATE'`,
    '```',
    '',
    `And that a proxy has them through \`PROXY_CONFIG_XDS_AGENT\`: its own ${facts.roots.length === 1 ? 'root' : 'roots'} and the other meshes' (prints \`${facts.roots.length + facts.extraRoots.length}\`; restart workloads whose proxies print less):`,
    '',
    '```sh',
    ROOTS_IN_PROXY(shellQuote(plan.cluster.context)),
    '```',
    '',
  );
  const running = peers.filter((p) => p.rotation.stage < 3);
  if (running.length > 0) {
    out.push(
      `${running.map((p) => `\`${meshgen.command('certs rotate', ['--root', '--continue', '--mesh', shellQuote(p.mesh)])}\``).join(', ')} ${running.length === 1 ? 'waits' : 'wait'} until this folder, rolled out, holds the current stage.`,
      '',
    );
  }
  return out;
}
