/**
 * The checks of `meshgen status` for one cluster: what the cluster runs,
 * read through a ClusterReader, against what the topology plans and the
 * output folder holds. Each check gives one finding (ok, differs, missing,
 * unreachable) with what to do. Secrets are compared by fingerprint only;
 * no finding carries a value read from a Secret.
 */
import { parse } from 'yaml';
import { EASTWEST_RELEASE as EASTWEST_GATEWAY_NAME } from '../model/install-values';
import { CACERTS_SECRET_NAME, ISTIO_SYSTEM, MULTICLUSTER_LABEL, NETWORK_LABEL, READER_TOKEN_SECRET, remoteSecretName } from '../model/istio-names';
import { awaitingAddress, ClusterPlan, discoverFix } from '../model/plan';
import type { ClusterModel } from '../model/types';
import { displayPath } from '../paths';
import { certFingerprints, ExpectedFolder, sha256 } from './expected';
import { AccessResult, ClusterAccessError, ClusterReader, NamespacedData, readEastWestGateway } from './reader';

/** The state of one check. */
export type CheckState = 'ok' | 'differs' | 'missing' | 'unreachable';

/** The outcome of one check of one cluster. */
export interface Finding {
  /** What was checked, e.g. `cacerts`, `remote-secret/cluster2`. */
  readonly check: string;
  readonly state: CheckState;
  /** What was found; fingerprints and names only. */
  readonly detail: string;
  /** What to do, when the state is not ok. */
  readonly fix?: string;
}

/** One cluster to check: its plan and what its output folder holds. */
export interface StatusTarget {
  readonly plan: ClusterPlan;
  readonly expected: ExpectedFolder;
}

/** Istio's istiod Deployment and mesh config ConfigMap names under a revision. */
function istiodNames(revision: string | undefined): { deployment: string; meshConfig: string } {
  return revision ? { deployment: `istiod-${revision}`, meshConfig: `istio-${revision}` } : { deployment: 'istiod', meshConfig: 'istio' };
}

/** A fingerprint shortened for a table: enough to tell two certificates apart. */
export function shortFingerprint(fp: string): string {
  return fp.length > 17 ? `${fp.slice(0, 17)}…` : fp;
}

const ok = (check: string, detail: string): Finding => ({ check, state: 'ok', detail });
const bad = (check: string, state: Exclude<CheckState, 'ok'>, detail: string, fix: string): Finding => ({ check, state, detail, fix });

/** The control-plane finding of a remote whose primary's address is not known yet: what to run; none for any other cluster. */
function waitingFinding(plan: ClusterPlan): Finding[] {
  const waiting = awaitingAddress(plan);
  if (!waiting) return [];
  return [
    bad(
      'control-plane',
      'missing',
      `the output holds no control plane for this remote yet: it waits for the east-west gateway address of "${waiting.name}"`,
      `${discoverFix(waiting.name)}, then apply this cluster's folder`,
    ),
  ];
}

/** The names of the checks made against a target's cluster, in report order (after waitingFinding's, known from the output). */
function clusterChecks(t: StatusTarget): string[] {
  const { plan } = t;
  const names: string[] = [];
  if (!t.expected.present) names.push('output');
  else names.push('cacerts', 'istio-ca-root-cert');
  if (plan.cluster.role === 'primary') names.push('istiod');
  names.push('network');
  if (plan.eastWestGateway) names.push('east-west-gateway');
  for (const target of plan.reads) names.push(`remote-secret/${target.name}`, `remote-access/${target.name}`);
  if (plan.readerTokenSecret) names.push('reader-token');
  return names;
}

/**
 * Checks one cluster. A cluster that does not answer its first request gets every
 * planned check as unreachable, with the one reason; nothing here throws for a cluster.
 */
export async function checkCluster(t: StatusTarget, reader: ClusterReader): Promise<Finding[]> {
  const { plan } = t;
  // Known from the output alone: a remote whose primary's address is not known yet has no control plane in its folder.
  const waiting = waitingFinding(plan);
  let nsLabels: Readonly<Record<string, string>> | undefined;
  try {
    nsLabels = await reader.namespaceLabels(ISTIO_SYSTEM);
  } catch (err) {
    if (!(err instanceof ClusterAccessError)) throw err;
    return [...waiting, ...clusterChecks(t).map((check) => bad(check, 'unreachable', err.message, err.fix))];
  }
  const guarded = async (check: string, run: () => Promise<Finding | Finding[]>): Promise<Finding[]> => {
    try {
      const r = await run();
      return Array.isArray(r) ? r : [r];
    } catch (err) {
      if (!(err instanceof ClusterAccessError)) throw err;
      return [bad(check, 'unreachable', err.message, err.fix)];
    }
  };
  const parts = await Promise.all([
    Promise.resolve(waiting),
    t.expected.present
      ? guarded('cacerts', () => checkCacerts(t, reader))
      : Promise.resolve([
          bad('output', 'missing', `the output has no folder ${displayPath(t.expected.dir)} for mesh "${plan.mesh.name}"`, 'run meshgen synth with this -o, then apply the folder'),
        ]),
    t.expected.present ? guarded('istio-ca-root-cert', () => checkRootCertConfigMap(t, reader)) : Promise.resolve([]),
    plan.cluster.role === 'primary' ? guarded('istiod', () => checkIstiod(plan, reader)) : Promise.resolve([]),
    Promise.resolve([checkNetwork(plan, nsLabels)]),
    plan.eastWestGateway ? guarded('east-west-gateway', () => checkEastWestGateway(plan, reader)) : Promise.resolve([]),
    plan.reads.length > 0 ? guarded('remote-secrets', () => checkRemoteSecrets(t, reader)) : Promise.resolve([]),
    plan.readerTokenSecret ? guarded('reader-token', () => checkReaderToken(reader)) : Promise.resolve([]),
  ]);
  return parts.flat();
}

function kubectlFor(cluster: ClusterModel): string {
  return `kubectl --context=${cluster.context}`;
}

async function checkCacerts(t: StatusTarget, reader: ClusterReader): Promise<Finding> {
  const check = 'cacerts';
  const folder = displayPath(t.expected.dir);
  const restart = `${kubectlFor(t.plan.cluster)} -n ${ISTIO_SYSTEM} rollout restart deployment -l app=istiod`;
  const expected = t.expected.cacerts;
  const live = await reader.secret(ISTIO_SYSTEM, CACERTS_SECRET_NAME);
  if (!live) {
    return bad(check, 'missing', `no Secret ${ISTIO_SYSTEM}/${CACERTS_SECRET_NAME} in the cluster`, `apply the namespace and cacerts of ${folder} as its README's first step says, before istiod starts`);
  }
  if (!expected) return ok(check, `present; ${folder} holds no cacerts to compare with`);
  const intermediate = certFingerprints(live.data['ca-cert.pem'] ?? live.data['tls.crt'], true)[0];
  const roots = certFingerprints(live.data['root-cert.pem'] ?? live.data['ca.crt'], true);
  const chain = certFingerprints(live.data['cert-chain.pem'], true);
  const issuer = chain[chain.length - 1];
  const differences: string[] = [];
  if (expected.intermediate !== undefined && intermediate !== expected.intermediate) {
    differences.push(`intermediate ${intermediate ? shortFingerprint(intermediate) : '(none)'}, the output has ${shortFingerprint(expected.intermediate)}`);
  }
  if (expected.roots.length > 0 && roots.join(',') !== expected.roots.join(',')) {
    differences.push(`roots ${roots.map(shortFingerprint).join(', ') || '(none)'}, the output has ${expected.roots.map(shortFingerprint).join(', ')}`);
  }
  if (expected.issuer !== undefined && issuer !== undefined && issuer !== expected.issuer) {
    differences.push(`intermediate issued by ${shortFingerprint(issuer)}, the output's by ${shortFingerprint(expected.issuer)}`);
  }
  if (differences.length > 0) {
    return bad(check, 'differs', `the cluster's cacerts has ${differences.join('; ')}`, `apply the cacerts of ${folder}, then restart istiod: ${restart}`);
  }
  const how = expected.form === 'plaintext' ? '' : ` (the output is ${expected.form}: compared with its marker's fingerprints)`;
  if (expected.intermediate === undefined && expected.roots.length === 0) return ok(check, `present; the output records no fingerprints to compare with${how}`);
  const what = expected.intermediate !== undefined ? `intermediate ${shortFingerprint(expected.intermediate)} and ` : '';
  return ok(check, `${what}${expected.roots.length === 1 ? 'root' : 'roots'} ${expected.roots.map(shortFingerprint).join(', ')} match ${folder}${how}`);
}

/** How many namespaces a finding names before it only counts the rest. */
const NAMED_NAMESPACES = 5;

/**
 * istiod copies the mesh's root(s) into a ConfigMap istio-ca-root-cert in every namespace, which the
 * sidecars and ztunnel there trust: istio-system's copy must exist, and no copy may lack a root (all stages
 * of a root rotation). A context that may not list ConfigMaps cluster-wide gets istio-system's checked alone.
 */
async function checkRootCertConfigMap(t: StatusTarget, reader: ClusterReader): Promise<Finding> {
  const check = 'istio-ca-root-cert';
  const expected = t.expected.trust?.roots ?? t.expected.cacerts?.roots ?? [];
  const name = 'istio-ca-root-cert';
  let copies: readonly NamespacedData[];
  let allNamespaces = true;
  try {
    copies = await reader.configMapsNamed(name);
  } catch (err) {
    if (!(err instanceof ClusterAccessError) || err.unreachable) throw err;
    const own = await reader.configMap(ISTIO_SYSTEM, name);
    copies = own ? [{ namespace: ISTIO_SYSTEM, data: own }] : [];
    allNamespaces = false;
  }
  const restart = `${kubectlFor(t.plan.cluster)} -n ${ISTIO_SYSTEM} rollout restart deployment -l app=istiod`;
  const own = copies.find((c) => c.namespace === ISTIO_SYSTEM);
  if (!own) {
    return bad(
      check,
      'missing',
      `no ConfigMap ${ISTIO_SYSTEM}/${name}: istiod has not published the mesh's root here`,
      t.plan.cluster.role === 'primary' ? 'install the control plane as the README says; istiod writes it when it runs' : `check that ${t.plan.servedBy?.name ?? 'the primary'}'s istiod reads this cluster (its remote secret)`,
    );
  }
  const others = copies.filter((c) => c !== own).sort((a, b) => (a.namespace < b.namespace ? -1 : 1));
  const scope = allNamespaces ? ` and in ${others.length} other namespace${others.length === 1 ? '' : 's'}` : ` (the context may not list ConfigMaps cluster-wide: other namespaces not checked)`;
  if (expected.length === 0) return ok(check, `carries ${certFingerprints(own.data['root-cert.pem'], false).length} root(s)${scope}; the output records none to compare with`);
  const lacking = (c: NamespacedData) => expected.filter((fp) => !certFingerprints(c.data['root-cert.pem'], false).includes(fp));
  const absent = lacking(own);
  if (absent.length > 0) {
    const live = certFingerprints(own.data['root-cert.pem'], false);
    return bad(check, 'differs', `${ISTIO_SYSTEM}'s copy lacks root ${absent.map(shortFingerprint).join(', ')} (carries ${live.map(shortFingerprint).join(', ') || 'none'})`, `istiod publishes the roots of cacerts: apply cacerts, then ${restart}`);
  }
  const stale = others.filter((c) => lacking(c).length > 0).map((c) => c.namespace);
  if (stale.length > 0) {
    const named = stale.slice(0, NAMED_NAMESPACES).join(', ') + (stale.length > NAMED_NAMESPACES ? ` and ${stale.length - NAMED_NAMESPACES} more` : '');
    return bad(
      check,
      'differs',
      `${stale.length === 1 ? `the copy in namespace ${named} lacks` : `the copies in ${stale.length} namespaces (${named}) lack`} a root that ${ISTIO_SYSTEM}'s carries, so workloads there do not trust it yet`,
      `istiod rewrites a copy it finds changed: ${restart}; if a copy stays behind, delete it (${kubectlFor(t.plan.cluster)} -n <namespace> delete configmap ${name}) and istiod writes it again`,
    );
  }
  return ok(check, `carries ${expected.length === 1 ? 'the root' : `all ${expected.length} roots`} ${expected.map(shortFingerprint).join(', ')} in ${ISTIO_SYSTEM}${scope}`);
}

async function checkIstiod(plan: ClusterPlan, reader: ClusterReader): Promise<Finding> {
  const check = 'istiod';
  const names = istiodNames(plan.mesh.istio.revision);
  const reinstall = 'install the control plane again from the folder (README step 2)';
  const [env, meshConfig] = await Promise.all([reader.deploymentEnv(ISTIO_SYSTEM, names.deployment), reader.configMap(ISTIO_SYSTEM, names.meshConfig)]);
  if (!env) return bad(check, 'missing', `no Deployment ${ISTIO_SYSTEM}/${names.deployment}`, 'install the control plane as the README says');
  const differences: string[] = [];
  const clusterId = env.CLUSTER_ID ?? env.ISTIO_META_CLUSTER_ID;
  if (clusterId !== plan.cluster.name) differences.push(`clusterName ${clusterId === undefined ? 'unset' : `"${clusterId}"`}, not "${plan.cluster.name}"`);
  let meshId: unknown;
  if (!meshConfig) differences.push(`no mesh config ConfigMap ${names.meshConfig}`);
  else {
    try {
      const mesh = parse(meshConfig.mesh ?? '') as { meshId?: unknown; defaultConfig?: { meshId?: unknown } } | null;
      meshId = mesh?.defaultConfig?.meshId ?? mesh?.meshId;
    } catch {
      meshId = undefined;
    }
    if (meshId !== plan.mesh.meshID) differences.push(`meshID ${meshId === undefined ? 'unset' : `"${String(meshId)}"`}, not "${plan.mesh.meshID}"`);
  }
  if (differences.length > 0) return bad(check, 'differs', `${names.deployment} runs with ${differences.join('; ')}`, reinstall);
  return ok(check, `${names.deployment}: meshID "${plan.mesh.meshID}", clusterName "${plan.cluster.name}"`);
}

function checkNetwork(plan: ClusterPlan, labels: Readonly<Record<string, string>> | undefined): Finding {
  const check = 'network';
  if (!labels) return bad(check, 'missing', `no namespace ${ISTIO_SYSTEM}`, 'apply namespace.istio-system.yaml of the folder (README step 1)');
  const live = labels[NETWORK_LABEL];
  if (plan.networkLabel === undefined) return ok(check, live === undefined ? 'one network: no label needed' : `labelled "${live}" (one network: unused)`);
  if (live !== plan.networkLabel) {
    return bad(
      check,
      'differs',
      `${ISTIO_SYSTEM} is labelled ${NETWORK_LABEL}=${live === undefined ? '(none)' : `"${live}"`}, the topology says "${plan.networkLabel}"`,
      `apply namespace.istio-system.yaml of the folder, then restart istiod and the east-west gateway`,
    );
  }
  return ok(check, `${ISTIO_SYSTEM} labelled ${NETWORK_LABEL}=${live}`);
}

async function checkEastWestGateway(plan: ClusterPlan, reader: ClusterReader): Promise<Finding> {
  const check = 'east-west-gateway';
  const ambient = plan.mesh.dataplane === 'ambient';
  const gw = await readEastWestGateway(reader, ambient);
  if (!gw) {
    return bad(check, 'missing', `no ${ambient ? 'Gateway or ' : ''}Service ${ISTIO_SYSTEM}/${EASTWEST_GATEWAY_NAME}`, 'install the east-west gateway as the README says');
  }
  const { kind } = gw;
  const service = gw.kind === 'Service' ? gw.service : undefined;
  const labels = gw.kind === 'Gateway' ? gw.gateway.labels : gw.service.labels;
  const addresses = gw.kind === 'Gateway' ? gw.gateway.addresses : gw.service.ingress;
  const nodePorts = service && service.type === 'NodePort' ? Object.entries(service.nodePorts) : [];
  const differences: string[] = [];
  const fixes: string[] = [];
  if (addresses.length === 0 && nodePorts.length === 0) {
    differences.push('no external address yet');
    fixes.push(`wait for the load balancer, or see why it has none: ${kubectlFor(plan.cluster)} -n ${ISTIO_SYSTEM} describe ${kind.toLowerCase()} ${EASTWEST_GATEWAY_NAME}`);
  }
  if (plan.networkLabel !== undefined && labels[NETWORK_LABEL] !== plan.networkLabel) {
    differences.push(`label ${NETWORK_LABEL}=${labels[NETWORK_LABEL] ?? '(none)'}, not "${plan.networkLabel}"`);
    fixes.push('install the east-west gateway again from the folder');
  }
  const address = plan.cluster.eastWestGateway.address;
  if (address !== undefined && addresses.length > 0 && !addresses.includes(address)) {
    if (plan.cluster.eastWestGateway.addressSource === 'discovered') {
      differences.push(`address ${addresses.join(', ')}, the address meshgen discover stored is ${address}`);
      fixes.push(`run meshgen discover --cluster ${plan.cluster.name}, then synth and apply the clusters that use it`);
    } else {
      differences.push(`address ${addresses.join(', ')}, the topology's eastWestGateway.address is ${address}`);
      fixes.push(`set eastWestGateway.address of cluster "${plan.cluster.name}" to the gateway's address, then synth and apply the clusters that use it`);
    }
  }
  if (differences.length > 0) return bad(check, 'differs', `${kind} ${EASTWEST_GATEWAY_NAME}: ${differences.join('; ')}`, fixes.join('; '));
  const where = addresses.length > 0 ? `address ${addresses.join(', ')}` : `node ports ${nodePorts.map(([n, p]) => `${n}=${p}`).join(', ')}`;
  return ok(check, `${kind} ${EASTWEST_GATEWAY_NAME}: ${where}${address === undefined ? '' : plan.cluster.eastWestGateway.addressSource === 'discovered' ? ' (as meshgen discover stored it)' : ' (as the topology says)'}`);
}

/** The server a kubeconfig's current context points at, for messages; no credential is read. */
export function kubeconfigServer(text: string): string | undefined {
  try {
    const doc = parse(text) as { clusters?: { cluster?: { server?: unknown } }[] } | null;
    const server = doc?.clusters?.[0]?.cluster?.server;
    return typeof server === 'string' ? server : undefined;
  } catch {
    return undefined;
  }
}

async function checkRemoteSecrets(t: StatusTarget, reader: ClusterReader): Promise<Finding[]> {
  const { plan } = t;
  const live = await reader.secretsLabelled(ISTIO_SYSTEM, MULTICLUSTER_LABEL, 'true');
  const folder = displayPath(t.expected.dir);
  const findings = await Promise.all(
    plan.reads.map(async (target) => {
      const check = `remote-secret/${target.name}`;
      const access = `remote-access/${target.name}`;
      const name = remoteSecretName(target.name);
      const secret = live.find((s) => s.name === name);
      const expected = t.expected.remoteSecrets.get(target.name);
      if (!secret) {
        const fix = expected
          ? `apply the folder: ${kubectlFor(plan.cluster)} apply -k ${folder}`
          : target.credentials.source === 'reader-token'
            ? `the output has none yet: apply ${target.name}'s folder, run meshgen credentials fetch --cluster ${target.name}, then synth and apply ${folder}`
            : `the output has none yet (its credential is pending, see ${folder}/README.md): synth where the kubeconfig has context "${target.context}", then apply ${folder}`;
        return [bad(check, 'missing', `no Secret ${ISTIO_SYSTEM}/${name}: istiod does not read ${target.name}`, fix), bad(access, 'missing', 'no remote secret to try', 'see ' + check)];
      }
      const encoded = secret.data[target.name];
      if (encoded === undefined) {
        return [bad(check, 'differs', `${name} carries no kubeconfig under key "${target.name}"`, `apply the folder: ${kubectlFor(plan.cluster)} apply -k ${folder}`), bad(access, 'missing', 'no kubeconfig to try', 'see ' + check)];
      }
      const kubeconfig = Buffer.from(encoded, 'base64').toString('utf8');
      let first: Finding;
      if (expected?.kubeconfigSha256 !== undefined) {
        first =
          sha256(kubeconfig) === expected.kubeconfigSha256
            ? ok(check, `${name} matches ${folder}`)
            : bad(check, 'differs', `${name} carries another kubeconfig than ${folder}`, `apply the folder: ${kubectlFor(plan.cluster)} apply -k ${folder}`);
      } else {
        first = ok(check, `${name} present (${expected ? `the output is ${expected.form}` : 'the output has none yet'}: not compared)`);
      }
      return [first, describeAccess(access, target, kubeconfigServer(kubeconfig), await reader.remoteAccess(kubeconfig))];
    }),
  );
  const stale = live
    .filter((s) => !plan.reads.some((c) => remoteSecretName(c.name) === s.name))
    .map((s) =>
      bad(
        `remote-secret/${s.name.replace(/^istio-remote-secret-/, '')}`,
        'differs',
        `stale ${s.name}: no cluster of the topology by that name is read by ${plan.cluster.name}, yet istiod still reads it`,
        `${kubectlFor(plan.cluster)} -n ${ISTIO_SYSTEM} delete secret ${s.name}`,
      ),
    );
  return [...findings.flat(), ...stale];
}

function describeAccess(check: string, target: ClusterModel, server: string | undefined, result: AccessResult): Finding {
  const at = server ? ` at ${server}` : '';
  const renew =
    target.credentials.source === 'reader-token'
      ? `delete the token Secret on ${target.name} so Kubernetes mints a new one, run meshgen credentials fetch --cluster ${target.name}, then synth and apply`
      : `renew the credential of context "${target.context}" in the kubeconfig, then synth and apply`;
  switch (result.kind) {
    case 'allowed':
      return ok(check, `authenticates${at} and may list pods and services`);
    case 'denied':
      return bad(check, 'differs', `authenticates${at} but may not ${result.what}: istiod cannot discover ${target.name}'s endpoints`, `give the credential's user read access (Istio's istio-reader-clusterrole) on ${target.name}`);
    case 'unauthenticated':
      return bad(check, 'differs', `the API server${at} refused the credential (HTTP ${result.status}): the token is expired or revoked`, renew);
    case 'unreachable':
      return bad(check, 'unreachable', `no answer from the API server${at} (${result.reason})`, `check that ${target.name}'s API server is up and reachable from this cluster; credentials.server sets the address others use`);
    case 'unusable':
      return bad(check, 'differs', `its kubeconfig cannot be tried: ${result.reason}`, renew);
  }
}

async function checkReaderToken(reader: ClusterReader): Promise<Finding> {
  const check = 'reader-token';
  const secret = await reader.secret(ISTIO_SYSTEM, READER_TOKEN_SECRET);
  if (!secret) return bad(check, 'missing', `no Secret ${ISTIO_SYSTEM}/${READER_TOKEN_SECRET}`, 'apply the folder (kubectl apply -k)');
  if (!secret.data.token) {
    return bad(check, 'differs', `${READER_TOKEN_SECRET} has no token yet: Kubernetes' token controller has not filled it in`, 'check that istio-reader-service-account exists (Istio is installed on this cluster), then look again');
  }
  return ok(check, `${READER_TOKEN_SECRET} filled in`);
}
