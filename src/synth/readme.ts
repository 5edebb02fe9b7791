/**
 * The README of one cluster folder: what is in it and the exact commands,
 * in order, to apply it to that cluster, following Istio's install guides.
 * Its `meshgen` commands repeat the synth that wrote it, with paths from the
 * cluster folder, so that they run as printed.
 *
 * Long because it writes every section of a cluster README, one short function each.
 */
import * as path from 'node:path';
import { ARGO_APP_OF_APPS_FILE, ARGO_APPLICATION_HEALTH_LUA } from '../constructs/argocd';
import { READER_TOKEN_SECRET } from '../constructs/reader-token-secret';
import { MULTICLUSTER_LABEL, remoteSecretName } from '../constructs/remote-secret';
import { ISTIO_CHART_REPOSITORY } from '../constructs/flux';
import { EASTWEST_GATEWAY_NAME } from '../constructs/names';
import type { ReadmeFacts } from '../charts/cluster-chart';
import { CONFIG_FOLDER, SECRETS_FOLDER } from '../charts/folders';
import { FederationPlan, needsEastWestGateway } from '../model/federation-plan';
import { GLOBAL_SERVICE_LABEL, installMode } from '../model/install-values';
import { GATEWAY_API_RELEASE } from '../constructs/ambient';
import { awaitingAddress, ClusterPlan } from '../model/plan';
import { discoveredDate } from '../model/discovered';
import type { ClusterModel, SecretSettings } from '../model/types';
import type { SecretForm } from './render';
import { peerRotationSection, rootRotationSection } from './readme-rotation';
import { shellQuote } from '../shell';

/** What the README needs to know about the folder's files. */
export interface ApplyPlan {
  /** Files to apply with kubectl before istiod starts (no Istio CRDs needed). */
  readonly preInstall: readonly string[];
  /** IstioOperator files, in `istioctl install` order. */
  readonly istioctl: readonly { readonly file: string; readonly what: string }[];
  /** Files kubectl applies, with a one-line description each, and for Secrets the form of their file. */
  readonly kubectl: readonly { readonly file: string; readonly what: string; readonly secret?: SecretForm }[];
  /** Sub-folders with a kustomization.yaml of their own. */
  readonly folders: readonly string[];
  /** Files that are not Kubernetes objects (Helm values). */
  readonly other: readonly {
    readonly file: string;
    readonly what: string;
    readonly usedBy: string;
    readonly helm?: { readonly release: string; readonly chart: string };
  }[];
}

/** The synth run a README's `meshgen` commands repeat: its topology files and output folder, as the run was given them. */
export interface SynthRun {
  /** Topology files, relative to the folder the run started in, or absolute. */
  readonly files: readonly string[];
  /** Output folder, relative to the folder the run started in, or absolute. */
  readonly outdir: string;
}

/** What a cluster README says beyond the chart's facts and the folder's files. */
export interface ReadmeContext {
  /**
   * The run whose `-f` and `-o` the README's `meshgen` commands carry.
   * @default - the mesh's topology file and output folder `dist`, as `meshgen synth` defaults to
   */
  readonly run?: SynthRun;
  /**
   * When the cluster's intermediate CA was issued (notBefore of `ca-cert.pem`).
   * @default - unknown: the README treats it as issued before any root rotation
   */
  readonly intermediateIssued?: Date;
}

/** Where a README's `meshgen` commands run, and the `-f` and `-o` they pass from there. */
export interface CommandPaths {
  /** True when they run from the cluster folder; false when only the folder the synth ran in reaches a topology file. */
  readonly fromClusterFolder: boolean;
  /** Values of `-f`. */
  readonly files: readonly string[];
  /** Value of `-o`. */
  readonly outdir: string;
}

/** A `meshgen` command line with the run's `-f` (and `-o` unless `output` is false), then `args`. */
export type MeshgenCommand = (command: string, args?: readonly string[], output?: boolean) => string;

/**
 * The `-f` and `-o` that repeat `run` from the folder of `cluster`
 * (`<outdir>/<cluster>`): `-o ..`, and each topology file relative to that
 * folder. Should a file have no path from there that is the same on every
 * machine, the commands run from the folder the synth ran in instead, with
 * the paths as given.
 */
export function commandPaths(run: SynthRun, cluster: string): CommandPaths {
  const here = run.files.map((f) => fromClusterFolder(f, run.outdir, cluster));
  if (here.every((f): f is string => f !== undefined)) return { fromClusterFolder: true, files: here, outdir: '..' };
  return { fromClusterFolder: false, files: run.files, outdir: run.outdir };
}

/**
 * `file` as a path from `<outdir>/<cluster>`, when that path does not depend
 * on the machine: both given relative to one folder, the output not climbing
 * out of it further than the file does (a climb past the folder would need
 * its name), or both absolute and under one top folder. Otherwise an
 * absolute file as given, which works from anywhere; else undefined.
 */
function fromClusterFolder(file: string, outdir: string, cluster: string): string | undefined {
  if (path.isAbsolute(file) && path.isAbsolute(outdir)) {
    const folder = path.resolve(outdir, cluster);
    const rel = path.relative(folder, file);
    return path.isAbsolute(rel) || climbs(rel) >= folder.split(path.sep).filter(Boolean).length ? file : posix(rel);
  }
  if (path.isAbsolute(file)) return file;
  if (path.isAbsolute(outdir) || climbs(file) < climbs(outdir)) return undefined;
  // Any folder deep enough stands for the one the run started in: the result names none of its parts.
  const base = `/${'_/'.repeat(climbs(file))}`;
  return path.posix.relative(path.posix.join(base, posix(outdir), cluster), path.posix.join(base, posix(file)));
}

/** `p` with `/` between its parts. */
function posix(p: string): string {
  return p.split(path.sep).join('/');
}

/** How many `..` a relative path starts with, once normalized. */
function climbs(p: string): number {
  const parts = path.posix.normalize(posix(p)).split('/');
  let n = 0;
  while (parts[n] === '..') n++;
  return n;
}

/** The `meshgen` command lines of a README, and where they run as its text says it. */
function meshgenCommands(paths: CommandPaths): { readonly command: MeshgenCommand; readonly where: string; readonly fromClusterFolder: boolean } {
  const files = paths.files.map((f) => `-f ${shellQuote(f)}`);
  return {
    command: (command, args = [], output = true) => ['meshgen', command, ...files, ...(output ? [`-o ${shellQuote(paths.outdir)}`] : []), ...args].join(' '),
    where: paths.fromClusterFolder ? 'this folder' : 'the folder `meshgen synth` ran in',
    fromClusterFolder: paths.fromClusterFolder,
  };
}

/** `meshgen discover` of `cluster`'s gateway address, with the run's topology files (discover writes no output). */
function discoverCommand(meshgen: ReturnType<typeof meshgenCommands>, cluster: string): string {
  return meshgen.command('discover', ['--cluster', cluster], false);
}

/** The run a README assumes when none is given: `meshgen synth` with its default output, on the mesh's own file. */
function defaultRun(plan: ClusterPlan): SynthRun {
  return { files: [plan.mesh.source.file.replace(/ \(read as .*\)$/, '')], outdir: 'dist' };
}

/** Markdown README for one cluster folder. */
export function clusterReadme(facts: ReadmeFacts, files: ApplyPlan, context: ReadmeContext = {}): string {
  const { plan, federation, rootRotation, peerRotations, trustFacts } = facts;
  const { mesh, cluster } = plan;
  const meshgen = meshgenCommands(commandPaths(context.run ?? defaultRun(plan), cluster.name));
  const out: string[] = [];
  const doc: ReadmeDoc = {
    facts,
    files,
    meshgen,
    out,
    step: counter(),
    code: (...cmds: string[]) => out.push('   ```sh', ...cmds.map((c) => `   ${c}`), '   ```'),
    ctx: shellQuote(cluster.context),
    sopsFiles: files.kubectl.filter((f) => f.secret === 'sops').map((f) => f.file),
    certManager: mesh.trust.byo?.kind === 'cert-manager' ? mesh.trust.byo : undefined,
  };

  out.push(...introLines(facts, files, meshgen));
  const waitingFor = awaitingAddress(plan);
  if (waitingFor) return awaitingText(doc, waitingFor);
  out.push('## Apply, in this order', '');
  const install = installMode(mesh);
  const tool = install === 'istioctl' ? `, with \`istioctl\` ${mesh.istio.version} on your PATH` : install === 'helm' ? ', with `helm` 3 on your PATH' : '';
  out.push(`Run these from this folder${tool}. ${INSTALL_INTRO[install]}`, '');
  orderLines(doc);
  if (mesh.dataplane === 'ambient') {
    out.push(
      `${doc.step()}. The Gateway API CRDs, which ambient needs (its east-west gateway and waypoints are Gateway API Gateways), installed as Istio ${mesh.istio.version}'s ambient guide does when the cluster lacks them:`,
    );
    doc.code(gatewayApiCrdsCommand(doc.ctx), `kubectl --context=${doc.ctx} get crd gateways.gateway.networking.k8s.io  # check: the CRD exists`);
  }
  if (install === 'flux') fluxSteps(doc);
  else if (install === 'argocd') argoSteps(doc);
  else kubectlSteps(doc, install);
  readerTokenStep(doc);
  out.push('');
  endpointDiscoverySection(doc);
  out.push('');

  if (federation.imports.length + federation.exports.length + federation.waiting.length > 0) out.push(...federationSection(plan, federation, meshgen), '');
  out.push(...rootRotationSection(plan, rootRotation, meshgen, context.intermediateIssued));
  out.push(...peerRotationSection(plan, peerRotations, trustFacts, meshgen));
  useAndCheckSections(doc);
  return out.join('\n');
}

/** A README being written: its facts, its lines so far, and the helpers every section uses. */
interface ReadmeDoc {
  readonly facts: ReadmeFacts;
  readonly files: ApplyPlan;
  readonly meshgen: ReturnType<typeof meshgenCommands>;
  readonly out: string[];
  /** The next step number. */
  readonly step: () => number;
  /** Adds a shell code block, indented under a step. */
  readonly code: (...cmds: string[]) => void;
  /** The cluster's kube context, quoted for the shell. */
  readonly ctx: string;
  /** The folder's SOPS files. */
  readonly sopsFiles: readonly string[];
  /** The cert-manager CA, when the mesh's trust comes from one. */
  readonly certManager?: Extract<NonNullable<ReadmeFacts['plan']['mesh']['trust']['byo']>, { kind: 'cert-manager' }>;
}

/** Which clusters go first: a remote's primary; a primary's remotes, and how they get its address. */
function orderLines(doc: ReadmeDoc): void {
  const { out, meshgen } = doc;
  const { plan } = doc.facts;
  const { cluster, servedBy: primary } = plan;
  if (primary) {
    out.push(
      `First install \`${primary.name}\` (\`../${primary.name}/README.md\`), up to its last step: ` +
        `this cluster's sidecars are injected and configured by its istiod, reached at \`${plan.remotePilotAddress}\`${discoveredNote(primary)}.`,
      '',
    );
  } else if (plan.remotes.length > 0) {
    out.push(`Install this cluster before its remotes: ${plan.remotes.map((r) => `\`${r.name}\``).join(', ')}.`, '');
    if (cluster.eastWestGateway.address === undefined) {
      out.push(
        "Their control planes wait for the address of this cluster's east-west gateway, which it gets once installed: after the last step below, " +
          `run \`${discoverCommand(meshgen, cluster.name)}\` and then \`${meshgen.command('synth')}\` from ${meshgen.where}, which write them.`,
        '',
      );
    }
  }
}

/** Flux: apply the folder once, then watch it converge. */
function fluxSteps(doc: ReadmeDoc): void {
  const { out, code, ctx, step, sopsFiles, certManager } = doc;
  const { cluster } = doc.facts.plan;
  const encryption = cluster.secrets;
  const configStep = doc.files.folders.includes(CONFIG_FOLDER);
  out.push(
    `${step()}. On this cluster, which runs Flux: apply this folder once, or point a Flux Kustomization at it. It applies ${fluxCaText(cluster.name, certManager !== undefined, encryption, sopsFiles.length > 0)}, then Kustomization \`${cluster.name}-istio\` installs Istio's charts and waits for them` +
      (configStep ? `, then \`${cluster.name}-${CONFIG_FOLDER}\` applies \`${CONFIG_FOLDER}/\`:` : ':'),
  );
  if (encryption.encryption === 'sops' && sopsFiles.length > 0) {
    code(
      `# once: the age identity Flux decrypts with (one recipient's private key, from a file that is never committed)`,
      `cat age.agekey | kubectl --context=${ctx} create secret generic ${encryption.decryptionSecret} --namespace=flux-system --from-file=age.agekey=/dev/stdin`,
      `kubectl --context=${ctx} apply -k .`,
    );
  } else code(`kubectl --context=${ctx} apply -k .`);
  out.push(`${step()}. Watch it converge:`);
  code(`flux --context=${ctx} get kustomizations; flux --context=${ctx} get helmreleases -n istio-system`);
}

/** Argo CD: the health check it needs once, the parent Application, then watch it converge. */
function argoSteps(doc: ReadmeDoc): void {
  const { out, code, step, certManager } = doc;
  const { cluster } = doc.facts.plan;
  const encryption = cluster.secrets;
  const configStep = doc.files.folders.includes(CONFIG_FOLDER);
  out.push(
    `${step()}. Once per Argo CD: let it wait for the health of child Applications (Argo CD stopped doing so in 1.8). Without this the sync waves below ` +
      'do not wait for each other, and istiod could start before `cacerts` exists. Add to ConfigMap `argocd-cm` in Argo CD\'s namespace:',
  );
  out.push('   ```yaml', '   data:', '     resource.customizations.health.argoproj.io_Application: |', ...ARGO_APPLICATION_HEALTH_LUA.split('\n').map((l) => `       ${l}`), '   ```');
  out.push(
    `${step()}. Commit and push this folder, then create its parent Application on the Argo CD cluster (set ARGOCD_CONTEXT to its kube context). ` +
      `It syncs this folder's Applications in waves: ${certManager ? 'the cert-manager Certificate (waited for until Ready)' : encryption.encryption === 'sealed-secrets' ? 'the sealed CA secret (waited for until the Sealed Secrets controller of the cluster has unsealed it)' : 'the CA secret'}, \`base\`, istiod, the east-west gateway` +
      (configStep ? `, then \`${CONFIG_FOLDER}/\`:` : ':'),
  );
  code(`kubectl --context="$ARGOCD_CONTEXT" apply -f ${ARGO_APP_OF_APPS_FILE}`);
  out.push(`${step()}. Watch it converge:`);
  code(`argocd app list | grep ${cluster.name}-`);
}

/** kubectl, istioctl, helm or Sail by hand: the prereqs, the attachment to a primary, then the install. */
function kubectlSteps(doc: ReadmeDoc, install: ReturnType<typeof installMode>): void {
  const { out, code, ctx, step, sopsFiles, certManager, files } = doc;
  const { plan, credentials } = doc.facts;
  const { cluster, servedBy: primary } = plan;
  const encryption = cluster.secrets;
  if (certManager) {
    out.push(
      `${step()}. The namespace and the cert-manager \`Certificate\` that makes \`cacerts\` from ${certManager.issuerRef.kind} \`${certManager.issuerRef.name}\` ` +
        '(cert-manager must run in the cluster, with that issuer). istiod reads `cacerts` only when it starts, so wait until it is Ready:',
    );
    code(
      `kubectl --context=${ctx} apply ${files.preInstall.map((f) => `-f ${f}`).join(' ')}`,
      `kubectl --context=${ctx} wait --for=condition=Ready certificate/cacerts -n istio-system --timeout=5m`,
    );
  } else {
    out.push(`${step()}. The namespace and the CA certificates. istiod reads \`cacerts\` only when it starts, so this comes first${PRE_INSTALL_NOTE[encryption.encryption]}:`);
    code(...applyCommands(ctx, files.preInstall, sopsFiles, encryption.encryption === 'sealed-secrets'));
  }
  if (primary) {
    const cred = credentials.get(cluster.name);
    out.push(
      `${step()}. Attach this cluster to \`${primary.name}\`: its istiod reads this cluster's API through ` +
        `\`${remoteSecretName(cluster.name)}\`, in \`../${primary.name}\`. ` +
        (cred.kind === 'pending'
          ? `That secret is not written yet: ${cred.reason}. Install this cluster first; then, to finish: ${cred.fix}.`
          : `Apply that folder if it is not applied yet:`),
    );
    if (cred.kind !== 'pending') code(`kubectl --context=${shellQuote(primary.context)} apply -k ../${primary.name}`);
  }
  installCommands(doc, install);
}

/** The install commands of kubectl, istioctl, helm or Sail, then what applies after them. */
function installCommands(doc: ReadmeDoc, install: ReturnType<typeof installMode>): void {
  const { out, code, ctx, step, sopsFiles, files } = doc;
  const { mesh } = doc.facts.plan;
  for (const input of files.istioctl) {
    out.push(`${step()}. ${capitalize(input.what)}:`);
    code(`istioctl install --context=${ctx} -y -f ${input.file}`);
  }
  const helm = files.other.filter((f) => f.helm);
  if (helm.length > 0) {
    out.push(`${step()}. Istio's charts, in this order (\`base\` brings the CRDs):`);
    code(
      `helm repo add istio ${ISTIO_CHART_REPOSITORY} && helm repo update`,
      ...helm.map(
        (f) =>
          `helm upgrade --install ${f.helm!.release} istio/${f.helm!.chart} --kube-context=${ctx} -n istio-system --version ${mesh.istio.version} -f ${f.file} --wait`,
      ),
    );
  }
  const sail = files.kubectl.find((f) => f.file.startsWith('istio.'));
  if (install === 'sail' && sail) {
    out.push(`${step()}. The control plane, through the Sail operator (which must run in the cluster): apply this folder, then wait for it:`);
    // On OpenShift, and in ambient, the Sail operator holds the Istio resource back until its IstioCNI is Ready.
    const cni = files.kubectl.some((f) => f.file === 'istiocni.default.yaml');
    const ztunnel = files.kubectl.some((f) => f.file === 'ztunnel.default.yaml');
    code(
      `kubectl --context=${ctx} apply -k .`,
      ...(cni ? [`kubectl --context=${ctx} wait --for=condition=Ready istiocni/default --timeout=5m`] : []),
      ...(ztunnel ? [`kubectl --context=${ctx} wait --for=condition=Ready ztunnel/default --timeout=5m`] : []),
      `kubectl --context=${ctx} wait --for=condition=Ready istio/${sail.file.split('.')[1]} --timeout=5m`,
    );
  } else {
    const istioObjects = files.kubectl.length > files.preInstall.length;
    out.push(`${step()}. Everything kubectl applies${istioObjects && install === 'istioctl' ? " (Istio's CRDs exist now)" : ''}:`);
    code(`kubectl --context=${ctx} apply -k .`);
  }
  const laterSops = sopsFiles.filter((f) => !files.preInstall.includes(f));
  if (laterSops.length > 0) {
    out.push(`${step()}. The remote secrets, decrypted on the way (they are SOPS files, which \`kubectl apply -k\` never reads):`);
    code(...laterSops.map((f) => `sops --decrypt ${f} | kubectl --context=${ctx} apply -f -`));
  }
  if (files.folders.includes(CONFIG_FOLDER)) {
    out.push(`${step()}. What needs Istio's CRDs and istiod:`);
    code(`kubectl --context=${ctx} apply -k istio-config`);
  }
}

/** A reader-token cluster: fetch the token Kubernetes filled in, then synthesize again. */
function readerTokenStep(doc: ReadmeDoc): void {
  const { out, code, step, meshgen } = doc;
  const { plan } = doc.facts;
  const { cluster } = plan;
  if (!plan.readerTokenSecret) return;
  out.push(
    `${step()}. Kubernetes has now filled in the token of \`${READER_TOKEN_SECRET}\`. From ${meshgen.where}, store it ` +
      `for the other control planes, then synthesize again and apply the folders of ${plan.readBy.map((c) => `\`${c.name}\``).join(', ')}:`,
  );
  code(
    meshgen.command('credentials fetch', ['--cluster', shellQuote(cluster.name)], false),
    meshgen.command('synth'),
    // A shell left in the folder synth replaced sees an empty, removed folder.
    ...(meshgen.fromClusterFolder ? ['cd "$PWD"  # synth replaces this folder when it changes: enter the new one'] : []),
  );
}

/** The remote secrets this cluster's istiod reads, and how to remove one of a cluster that left. */
function endpointDiscoverySection(doc: ReadmeDoc): void {
  const { out, ctx } = doc;
  const { plan, credentials } = doc.facts;
  if (plan.reads.length === 0) return;
  out.push('## Endpoint discovery', '');
  out.push("This cluster's istiod reads the API servers of the other clusters of the mesh through these remote secrets:", '');
  for (const other of plan.reads) {
    const cred = credentials.get(other.name);
    const name = `\`${remoteSecretName(other.name)}\``;
    if (cred.kind === 'static') out.push(`- ${name}: in this folder.`);
    else if (cred.kind === 'external') {
      out.push(`- ${name}: built by the external-secrets operator from ${cred.external.storeKind} \`${cred.external.storeName}\`, key \`${cred.external.key}\`.`);
    } else out.push(`- ${name}: not written yet: ${cred.reason}. To fix: ${cred.fix}.`);
  }
  out.push(
    '',
    '`kubectl apply -k` never deletes. When a cluster leaves the mesh, delete its remote secret here; this deletes every remote secret but the ones above:',
    '',
    '```sh',
    `kubectl --context=${ctx} -n istio-system delete secret -l ${MULTICLUSTER_LABEL}=true --field-selector ${plan.reads
      .map((o) => `metadata.name!=${remoteSecretName(o.name)}`)
      .join(',')}`,
    '```',
  );
}

/** How to use the mesh on this cluster, and how to check it. */
function useAndCheckSections(doc: ReadmeDoc): void {
  const { out, ctx } = doc;
  const { plan, federation } = doc.facts;
  const { mesh, cluster, servedBy: primary } = plan;
  const rev = mesh.istio.revision;
  out.push('## Use', '');
  if (mesh.dataplane === 'ambient') out.push(...ambientUseSection(plan));
  else {
    out.push(`Label a namespace for sidecar injection${primary ? ` (served by \`${primary.name}\`)` : ''}:`, '');
    out.push('```sh', `kubectl --context=${ctx} label namespace <namespace> ${rev ? `istio.io/rev=${rev}` : 'istio-injection=enabled'}`, '```', '');
  }

  if (cluster.samples.length > 0) out.push(...verifySection(plan), '');
  out.push('## Check', '', '```sh');
  out.push(`kubectl --context=${ctx} -n istio-system get pods,services`);
  if (mesh.dataplane === 'ambient') {
    out.push(`kubectl --context=${ctx} get pods -A -l 'app in (ztunnel,istio-cni-node)'  # ztunnel and the CNI agent on every node`);
    if (needsEastWestGateway(plan, federation)) {
      out.push(`kubectl --context=${ctx} -n istio-system get gateway ${EASTWEST_GATEWAY_NAME}  # PROGRAMMED True, with an ADDRESS the other networks reach`);
    }
  } else if (needsEastWestGateway(plan, federation)) {
    out.push(`kubectl --context=${ctx} -n istio-system get service ${EASTWEST_GATEWAY_NAME}  # needs an EXTERNAL-IP (or node ports)`);
  }
  if (plan.reads.length > 0) out.push(`istioctl --context=${ctx} remote-clusters`);
  if (primary) out.push(`istioctl --context=${shellQuote(primary.context)} remote-clusters  # lists ${cluster.name}`);
  out.push('```', '');
}

/** The README's title, what the cluster is, and the table of its files with what applies each. */
function introLines(facts: ReadmeFacts, files: ApplyPlan, meshgen: ReturnType<typeof meshgenCommands>): string[] {
  const { mesh, cluster, servedBy: primary } = facts.plan;
  const rev = mesh.istio.revision;
  const out: string[] = [];
  out.push(`# ${cluster.name}`, '');
  const role = primary ? `a remote served by the istiod of \`${primary.name}\`` : 'a primary (runs its own istiod)';
  out.push(
    `Cluster \`${cluster.name}\` of mesh \`${mesh.name}\` (mesh ID \`${mesh.meshID}\`): ${role}, on network \`${cluster.network}\`, ` +
      `kube context \`${cluster.context}\`. Istio ${mesh.istio.version} from \`${mesh.istio.hub}\`${rev ? `, revision \`${rev}\`` : ''}.`,
    '',
    `Generated by meshgen. Do not edit these files: change the topology file and, from ${meshgen.where}, run \`${meshgen.command('synth')}\` again.`,
    '',
    '## Files',
    '',
    '| file | what | applied with |',
    '| --- | --- | --- |',
  );
  // A remote waiting for its primary's address has no engine objects yet: kubectl applies what it has.
  const engine = awaitingAddress(facts.plan) ? undefined : mesh.gitops?.engine;
  const encryption = cluster.secrets;
  const sopsFiles = files.kubectl.filter((f) => f.secret === 'sops').map((f) => f.file);
  const appliedBy = (file: string): string => {
    const folder = file.includes('/') ? file.slice(0, file.indexOf('/')) : '';
    if (sopsFiles.includes(file)) {
      return engine === 'flux' ? `Flux, decrypting it (Kustomization \`${cluster.name}-istio-secrets\`)` : 'kubectl, after `sops --decrypt` (steps below)';
    }
    if (engine && folder) return `${engine === 'flux' ? 'Flux' : 'Argo CD'} (\`${folder}/kustomization.yaml\`)`;
    if (engine === 'argocd') return 'Argo CD, from the parent Application (`kustomization.yaml`)';
    return 'kubectl (`kustomization.yaml`)';
  };
  for (const f of files.kubectl) out.push(`| \`${f.file}\` | ${f.what} | ${appliedBy(f.file)} |`);
  for (const f of files.istioctl) out.push(`| \`${f.file}\` | ${f.what} | \`istioctl install\` |`);
  for (const f of files.other) out.push(`| \`${f.file}\` | ${f.what} | ${f.usedBy} |`);
  out.push('');
  out.push(...secretsParagraph(files, encryption, engine === 'flux'));
  return out;
}

/**
 * The README of a remote whose primary's east-west gateway address is not known yet: what is here, and how
 * to get the rest (install the primary, `meshgen discover`, synth again).
 */
function awaitingText(doc: ReadmeDoc, primary: ClusterModel): string {
  const { out, meshgen, files, ctx, sopsFiles } = doc;
  const { cluster } = doc.facts.plan;
  out.push(
    `## Waiting for the address of \`${primary.name}\``,
    '',
    `This folder does not hold the control plane yet. This cluster's sidecars are injected and configured by the istiod of \`${primary.name}\`, ` +
      `which they reach through the east-west gateway of \`${primary.name}\`; that gateway gets its address only once \`${primary.name}\` is installed, ` +
      'and the topology does not set it (`eastWestGateway.address`).',
    '',
    `1. Install \`${primary.name}\` by \`../${primary.name}/README.md\`, up to its last step.`,
    `2. From ${meshgen.where}, store the address its east-west gateway got, then synthesize again:`,
    '   ```sh',
    `   ${discoverCommand(meshgen, primary.name)}`,
    `   ${meshgen.command('synth')}`,
    '   ```',
    '   This folder then holds the control plane, and this README the steps to apply it.',
    '',
    `The namespace and the CA certificates above are what istiod reads first; apply them now or with the rest${PRE_INSTALL_NOTE[cluster.secrets.encryption]}:`,
    '',
    '```sh',
    ...applyCommands(ctx, files.preInstall, sopsFiles, cluster.secrets.encryption === 'sealed-secrets'),
    '```',
    '',
  );
  return `${out.join('\n')}\n`;
}

/** The command that installs the Gateway API CRDs where they are missing, as Istio's ambient install guides give it. */
export function gatewayApiCrdsCommand(ctx: string): string {
  return (
    `kubectl --context=${ctx} get crd gateways.gateway.networking.k8s.io >/dev/null 2>&1 || ` +
    `kubectl --context=${ctx} apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_RELEASE}/experimental-install.yaml`
  );
}

/** The README's use section of an ambient mesh: joining the data plane, global services, waypoints. */
function ambientUseSection(plan: ClusterPlan): string[] {
  const { mesh, cluster } = plan;
  const ctx = shellQuote(cluster.context);
  const out = [
    'Add a namespace to the ambient data plane (ztunnel carries its traffic; no sidecars, no restarts):',
    '',
    '```sh',
    `kubectl --context=${ctx} label namespace <namespace> istio.io/dataplane-mode=ambient`,
    '```',
    '',
    'Services are reached from this cluster only, unless global. Make one global in every cluster that runs it:',
    '',
    '```sh',
    `kubectl --context=${ctx} -n <namespace> label service <name> ${GLOBAL_SERVICE_LABEL}=true`,
    '```',
    '',
  ];
  if (mesh.ambient.globalServices.length > 0) {
    out.push(
      'The topology makes these global too (`meshConfig.serviceScopeConfigs` of istiod):',
      '',
      ...mesh.ambient.globalServices.map(
        (g) =>
          `- namespace \`${g.namespace}\`: ${
            Object.keys(g.selector).length > 0
              ? `the Services labelled ${Object.entries(g.selector)
                  .map(([k, v]) => `\`${k}=${v}\``)
                  .join(', ')}`
              : 'every Service'
          }`,
      ),
      '',
    );
  }
  out.push(
    'To prefer endpoints near the caller (same zone, then region, then other networks), set `spec.trafficDistribution: PreferClose` on the Service, or annotate it `networking.istio.io/traffic-distribution=PreferClose`.',
    '',
  );
  if (mesh.ambient.waypoints.length > 0) {
    const namespaces = [...new Set(mesh.ambient.waypoints.map((w) => w.namespace))];
    out.push(
      `This folder holds the waypoints of the topology, the same in every cluster of the mesh, as Istio's ambient multicluster needs them. Their namespaces (${namespaces.map((n) => `\`${n}\``).join(', ')}) must exist before this folder is applied. Traffic uses a waypoint once its namespace or Service is labelled for it:`,
      '',
      '```sh',
      ...mesh.ambient.waypoints.map((w) => `kubectl --context=${ctx} label namespace ${w.namespace} istio.io/use-waypoint=${w.name}`),
      '```',
      '',
    );
  }
  return out;
}

/** The README section that checks the mesh with the sample apps. */
function verifySection(plan: ClusterPlan): string[] {
  const { mesh, cluster } = plan;
  const ctx = shellQuote(cluster.context);
  const hello = mesh.clusters.filter((c) => c.samples.includes('helloworld'));
  const out = ['## Verify', ''];
  out.push(
    `This folder deploys the sample apps ${cluster.samples.map((s) => `\`${s}\``).join(' and ')} in namespace \`sample\` ` +
      `(helloworld runs in ${hello.map((c) => `\`${c.name}\``).join(', ') || 'no cluster'}, v1 and v2 alternating).`,
    '',
  );
  if (cluster.samples.includes('sleep') && hello.length > 0) {
    out.push(
      'Once every cluster is applied, call helloworld from here several times; answers from both `helloworld-v1` and `helloworld-v2` mean traffic crosses clusters:',
      '',
      '```sh',
      `kubectl --context=${ctx} -n sample rollout status deploy/sleep`,
      `for i in 1 2 3 4 5 6 7 8 9 10; do kubectl --context=${ctx} -n sample exec deploy/sleep -c sleep -- curl -sS helloworld.sample:5000/hello; done`,
      '```',
    );
  }
  return out;
}

/** The README section on the services this cluster shares with other meshes. */
function federationSection(plan: ClusterPlan, fed: FederationPlan, meshgen: ReturnType<typeof meshgenCommands>): string[] {
  const ctx = shellQuote(plan.cluster.context);
  const out = ['## Services shared with other meshes', ''];
  if (fed.imports.length > 0) {
    out.push(`Mesh \`${plan.mesh.name}\` calls these services of other meshes, through their east-west gateways with Istio mutual TLS:`, '');
    for (const imp of fed.imports) {
      const e = imp.export;
      const split = e.split ? `; ${e.split.remote}% of calls to \`${e.service}.${e.namespace}.svc.cluster.local\` go there` : '';
      out.push(`- \`${e.host}\`: \`${e.service}\` in \`${e.namespace}\` of mesh \`${e.from}\`, at ${imp.endpoints.map((c) => `\`${c.eastWestGateway.address}\``).join(', ')}${split}.`);
    }
    out.push('');
  }
  if (fed.waiting.length > 0) {
    out.push('These wait for the east-west gateway address of clusters that export them, known once those clusters are installed:', '');
    for (const w of fed.waiting) {
      for (const c of w.clusters) {
        out.push(
          `- \`${w.export.host}\` at \`${c.name}\` of mesh \`${w.export.from}\`: once it is installed, run \`${discoverCommand(meshgen, c.name)}\` ` +
            `and \`${meshgen.command('synth')}\` from ${meshgen.where}, then apply this folder again.`,
        );
      }
    }
    out.push('');
  }
  if (fed.exports.length > 0) {
    out.push(`Mesh \`${plan.mesh.name}\` lets other meshes call these services, and no others:`, '');
    for (const e of fed.exports) {
      const selector = Object.entries(e.selector).map(([k, v]) => `${k}=${v}`).join(',');
      out.push(`- \`${e.host}\`: pods \`${selector}\` in \`${e.namespace}\`, for ${e.to.map((t) => `\`${t}\``).join(', ')}.`);
    }
    const namespaces = [...new Set(fed.exports.map((e) => `\`${e.namespace}\``))];
    out.push('', `The ${namespaces.length === 1 ? 'namespace' : 'namespaces'} ${namespaces.join(', ')} must exist before \`kubectl apply -k\`.`, '');
  }
  if (fed.imports.length > 0) {
    const e = fed.imports[0].export;
    out.push(
      'Check a call across meshes from a pod with a sidecar (here `sleep` in namespace `sample`):',
      '',
      '```sh',
      `istioctl --context=${ctx} proxy-config endpoints deploy/sleep -n sample --cluster "outbound|${e.ports[0].number}||${e.host}"`,
      `kubectl --context=${ctx} -n sample exec deploy/sleep -c sleep -- curl -sS ${e.ports[0].protocol.startsWith('HTTP') ? `http://${e.host}:${e.ports[0].number}/` : `telnet://${e.host}:${e.ports[0].number}`}`,
      '```',
    );
  }
  return out;
}

/** What step 1 adds when `cacerts` is encrypted. */
const PRE_INSTALL_NOTE: Record<SecretSettings['encryption'], string> = {
  none: '',
  sops: ' (`sops` decrypts it on the way, with one of the age identities it was encrypted for, e.g. from `SOPS_AGE_KEY_FILE`)',
  'sealed-secrets': " (the cluster's Sealed Secrets controller unseals it into `cacerts`: wait until it has)",
};

/** Commands that apply `files` before istiod: SOPS files decrypted one by one, a sealed CA waited for. */
function applyCommands(ctx: string, files: readonly string[], sopsFiles: readonly string[], sealed: boolean): string[] {
  const plain = files.filter((f) => !sopsFiles.includes(f));
  const cmds = [`kubectl --context=${ctx} apply ${plain.map((f) => `-f ${f}`).join(' ')}`];
  for (const f of files.filter((f) => sopsFiles.includes(f))) cmds.push(`sops --decrypt ${f} | kubectl --context=${ctx} apply -f -`);
  if (sealed) cmds.push(`kubectl --context=${ctx} -n istio-system wait --for=condition=Synced sealedsecret/cacerts --timeout=2m`);
  return cmds;
}

/** How Flux's first step brings the CA, by how it is made and encrypted. */
function fluxCaText(cluster: string, certManager: boolean, encryption: SecretSettings, hasSops: boolean): string {
  if (certManager) return `the cert-manager Certificate first (Kustomization \`${cluster}-istio-ca\` waits until \`cacerts\` is issued)`;
  if (encryption.encryption === 'sealed-secrets') return `the sealed CA secret first (Kustomization \`${cluster}-istio-ca\` waits until the Sealed Secrets controller has unsealed \`cacerts\`)`;
  if (encryption.encryption === 'sops' && hasSops) {
    return `the CA secret first: Kustomization \`${cluster}-istio-secrets\` decrypts \`${SECRETS_FOLDER}/\` with the age identity in Secret \`${encryption.decryptionSecret}\` of flux-system`;
  }
  return 'the CA secret first';
}

/** The paragraph under the file table on the files that hold keys or tokens. */
function secretsParagraph(files: ApplyPlan, encryption: SecretSettings, flux: boolean): string[] {
  const listed = (form: SecretForm) => files.kubectl.filter((f) => f.secret === form).map((f) => `\`${f.file}\``);
  const [plain, sops, sealed] = [listed('plaintext'), listed('sops'), listed('sealed')];
  const out: string[] = [];
  if (plain.length > 0) {
    out.push(
      `${plain.join(', ')} ${plain.length === 1 ? 'holds' : 'hold'} private keys or credentials in plaintext: never commit ${plain.length === 1 ? 'it' : 'them'}. ` +
        'Set `secrets.encryption` in the topology file (`sops`, or `sealed-secrets`) and synthesize again: meshgen then writes them encrypted.',
      '',
    );
  }
  if (sops.length > 0 && encryption.encryption === 'sops') {
    out.push(
      `${sops.join(', ')} ${sops.length === 1 ? 'is a SOPS file' : 'are SOPS files'}: ${sops.length === 1 ? 'its values are' : 'their values are'} encrypted for the age ` +
        `${encryption.age.length === 1 ? 'recipient' : 'recipients'} ${encryption.age.map((r) => `\`${r}\``).join(', ')}; names and labels stay readable. ` +
        `No kustomization lists ${sops.length === 1 ? 'it' : 'them'}, so kubectl never applies ciphertext` +
        (flux ? `; Flux decrypts ${sops.length === 1 ? 'it' : 'them'}.` : `; the steps below decrypt ${sops.length === 1 ? 'it' : 'them'} with \`sops\`, which needs one of the matching age identities.`),
      '',
    );
  }
  if (sealed.length > 0 && encryption.encryption === 'sealed-secrets') {
    out.push(
      `${sealed.join(', ')} ${sealed.length === 1 ? 'is a SealedSecret' : 'are SealedSecrets'} (scope ${encryption.scope}): only the Sealed Secrets controller of this cluster can unseal ` +
        `${sealed.length === 1 ? 'it' : 'them'}, and it must run in the cluster (namespace kube-system, as its chart installs it).`,
      '',
    );
  }
  return out;
}

const INSTALL_INTRO: Record<string, string> = {
  istioctl: 'istioctl installs the control plane from the IstioOperator files.',
  helm: "Helm installs Istio's charts with the values files in `helm/`.",
  sail: 'The Sail operator installs the control plane from the `Istio` resource; the east-west gateway is plain manifests.',
  flux: "Flux installs everything from the committed folder: Istio's charts as HelmReleases, then the rest. Nothing here needs istioctl.",
  argocd: "Argo CD installs everything from the committed folder: Istio's charts and the rest as Applications. Nothing here needs istioctl.",
};

function counter(): () => number {
  let n = 0;
  return () => ++n;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** ` (discovered by \`meshgen discover\` on <date>)` when the primary's gateway address came from `meshgen discover`; empty when the topology sets it. */
function discoveredNote(primary: ClusterModel): string {
  const gw = primary.eastWestGateway;
  return gw.addressSource === 'discovered' ? ` (discovered by \`meshgen discover\` on ${discoveredDate(gw.discovered)})` : '';
}
