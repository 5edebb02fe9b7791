/**
 * `meshgen init`: a starting mesh.yaml from the contexts of a kubeconfig,
 * with the schema modeline and comments. Never overwrites without --force.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { Document, isMap, isScalar, YAMLMap } from 'yaml';
import { defaultKubeconfigFiles, KubeconfigError, loadKubeconfig, MergedKubeconfig } from '../credentials/kubeconfig';
import { OutputError, TopologyError } from '../errors';
import { parseTopology } from '../model/load';
import { clusterNamesFromContexts, uniqueLabels } from '../model/names';
import { MESH_SCHEMA_ID } from '../model/schema';
import { commentText, noteKey, topologyText } from '../model/topology-text';
import { DEFAULT_ISTIO_VERSION, DEFAULT_KEY_STORE, MESHGEN_API_VERSION } from '../model/types';
import { displayPath, writeFileAtomically } from '../paths';
import { plural } from '../text';
import type { Io } from './main';
import { checkOutputFile } from './options';

/** Options of `meshgen init`. */
export interface InitOptions {
  readonly kubeconfig?: string;
  readonly contexts?: string;
  readonly meshId: string;
  readonly singleNetwork?: boolean;
  /** Writes `dataplane: ambient`; ambient multicluster needs one network per cluster, so not with singleNetwork. */
  readonly ambient?: boolean;
  readonly istioVersion: string;
  readonly output: string;
  readonly force?: boolean;
}

/** The text of a starting topology for `contexts` of the kubeconfig `files`. */
export function initTopology(opts: InitOptions, files: readonly string[], outputFile: string): { text: string; clusters: number } {
  const config = readKubeconfig(opts, files);
  const known = [...config.contexts.keys()];
  const wanted = opts.contexts ? opts.contexts.split(',').map((c) => c.trim()).filter(Boolean) : known;
  const where = config.files.length > 0 ? config.files.map(displayPath).join(', ') : files.map(displayPath).join(', ');
  const missing = wanted.filter((c) => !config.contexts.has(c));
  if (missing.length > 0 || wanted.length === 0) {
    throw new TopologyError(
      wanted.length === 0 ? `no contexts in ${where}` : `${plural(missing.length, 'context')} not in ${where}: ${missing.join(', ')}`,
      [{ message: `the kubeconfig has: ${known.join(', ') || '(none)'}`, fix: 'pass --contexts with names from that list, or another --kubeconfig' }],
    );
  }
  const names = clusterNamesFromContexts(wanted);
  // Network names are labels too (63 characters at most), and stay unique when cut.
  const networks = uniqueLabels(
    names.map((n) => `network-${n}`),
    'network',
  );
  const doc = new Document({
    apiVersion: MESHGEN_API_VERSION,
    kind: 'Mesh',
    metadata: { name: opts.meshId },
    spec: {
      istio: { version: opts.istioVersion },
      ...(opts.ambient ? { dataplane: 'ambient' } : {}),
      trust: { keyStore: DEFAULT_KEY_STORE },
      ...(opts.kubeconfig ? { credentials: { kubeconfig: relativeTo(outputFile, opts.kubeconfig) } } : {}),
      clusters: wanted.map((context, i) => {
        const user = config.users.get(String(config.contexts.get(context)?.value.user ?? ''))?.value ?? {};
        const plugin = user.exec !== undefined || user['auth-provider'] !== undefined;
        return {
          name: names[i],
          context,
          network: opts.singleNetwork ? `${opts.meshId}-network` : networks[i],
          ...(plugin ? { credentials: { source: 'reader-token' } } : {}),
        };
      }),
    },
  });
  commentTopology(doc, opts, where, names, wanted);
  const text = topologyText(doc);
  checkTopology(text, outputFile);
  return { text, clusters: wanted.length };
}

/** The kubeconfig of `files`; a file named with --kubeconfig that is missing, or no file at all, is a TopologyError. */
function readKubeconfig(opts: InitOptions, files: readonly string[]): MergedKubeconfig {
  let config: MergedKubeconfig;
  try {
    config = loadKubeconfig(files);
  } catch (err) {
    if (err instanceof KubeconfigError) throw new TopologyError(err.message, [{ message: err.message, fix: err.fix }]);
    throw err;
  }
  // kubectl passes over a missing file of $KUBECONFIG; a file named with --kubeconfig, or no file at all, is an error here.
  const absent = opts.kubeconfig ? files.filter((f) => !config.files.includes(f)) : config.files.length === 0 ? files : [];
  // A $KUBECONFIG of separators only (`:`) names no file at all, which kubectl reads as no kubeconfig too.
  if (absent.length > 0 || config.files.length === 0) {
    throw new TopologyError(`no kubeconfig at ${absent.map(displayPath).join(', ') || '$KUBECONFIG, which names no file'}`, [
      ...absent.map((f) => ({
        file: displayPath(f),
        message: 'no such file',
        fix: opts.kubeconfig ? `check the path given with --kubeconfig (read as ${path.resolve(f)})` : 'pass --kubeconfig with the kubeconfig of your clusters, or set KUBECONFIG',
      })),
      ...(absent.length === 0 ? [{ message: '$KUBECONFIG names no file', fix: 'pass --kubeconfig with the kubeconfig of your clusters, or set KUBECONFIG to its path' }] : []),
    ]);
  }
  return config;
}

/** Puts the schema modeline, the header and the comments on the keys and clusters into the starting topology. */
function commentTopology(doc: Document, opts: InitOptions, where: string, names: readonly string[], wanted: readonly string[]): void {
  doc.commentBefore =
    ` yaml-language-server: $schema=${MESH_SCHEMA_ID}\n` +
    ` Made by \`meshgen init\` from ${where}. Check it, then run \`meshgen synth\`.\n` +
    ' Cluster names come from the contexts: lowercased, other characters than a-z, 0-9 and "-" replaced by "-".';
  const spec = doc.get('spec') as YAMLMap;
  noteKey(spec, 'istio', ['Istio release of every cluster; add revision: <name> to install a revisioned control plane.']);
  noteKey(spec, 'dataplane', ['Ambient data plane: ztunnel on every node, waypoints for L7, no sidecars. Needs Istio 1.27 or later, primaries only, one network per cluster.']);
  noteKey(spec, 'trust', ['Root and intermediate CA keys live here: never commit this folder.']);
  // The secrets block is a commented-out example whose lines must stay as they are: it goes in verbatim.
  const clustersKey = spec.items.find((p) => isScalar(p.key) && p.key.value === 'clusters')?.key;
  if (isScalar(clustersKey)) {
    clustersKey.commentBefore = `${SECRETS_COMMENT}\n${commentText([
      opts.singleNetwork
        ? 'All clusters share one network: pods reach each other directly, no east-west gateways.'
        : opts.ambient
          ? 'Each cluster on its own network, as ambient multicluster needs: traffic between clusters goes through east-west gateways (HBONE).'
          : 'Each cluster on its own network: traffic between clusters goes through east-west gateways.',
    ])}`;
  }
  const clusters = spec.get('clusters') as unknown as { items: unknown[] };
  clusters.items.forEach((item, i) => {
    if (!isMap(item)) return;
    if (names[i] !== wanted[i]) item.commentBefore = ` from context ${wanted[i]}`;
    const creds = item.items.find((p) => (p.key as { value?: unknown }).value === 'credentials');
    if (creds) (creds.key as { commentBefore?: string }).commentBefore = ' its user runs an exec or auth-provider plugin, which istiod cannot: use the reader token';
  });
}

/** The made file must be one that meshgen accepts; it is not written yet, so its problems say what to change instead of where. */
function checkTopology(text: string, outputFile: string): void {
  try {
    parseTopology([{ file: outputFile, text }], [], { discovered: 'skip' });
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    throw new TopologyError(
      `the topology made from these contexts would not be valid, so ${displayPath(outputFile)} was not written`,
      err.problems.map((p) => ({ message: `${p.path ?? ''}${p.path ? ': ' : ''}${p.message}`, fix: p.fix ?? 'pick other names with --mesh-id or --contexts' })),
    );
  }
}

/** The `secrets` block, commented out: uncomment one form before the output is committed anywhere. */
const SECRETS_COMMENT = [
  ' The output holds CA keys and API tokens: encrypt them before committing it. Uncomment one form:',
  ' SOPS files for age recipients (Flux decrypts them), or SealedSecrets for each cluster\'s controller.',
  ' secrets:',
  '   encryption: sops                # or sealed-secrets',
  '   sops:',
  '     age: [age1...]                # public keys, as age-keygen prints them',
  '   # sealedSecrets:',
  '   #   cert: sealed/{cluster}.pem  # kubeseal --context=<context> --fetch-cert > sealed/<cluster>.pem',
].join('\n');

function relativeTo(file: string, target: string): string {
  const rel = path.relative(path.dirname(path.resolve(file)), path.resolve(target));
  return rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(target) : rel;
}

/** The `init` subcommand. */
export function initCommand(io: Io): Command {
  return new Command('init')
    .description('write a starting mesh.yaml from the contexts of a kubeconfig')
    .option('--kubeconfig <path>', 'kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config)')
    .option('--contexts <names>', 'comma-separated contexts to include (default: all)')
    .option('--mesh-id <id>', 'mesh name and ID', 'mesh1')
    .option('--network-per-cluster', 'put each cluster on its own network (the default)')
    .option('--single-network', 'put all clusters on one network')
    .option('--ambient', 'write dataplane: ambient (Istio 1.27 or later; one network per cluster)')
    .option('--istio-version <version>', 'Istio release', DEFAULT_ISTIO_VERSION)
    .option('-o, --output <file>', 'file to write', 'mesh.yaml')
    .option('--force', 'overwrite an existing file')
    .action(function (this: Command, opts: InitOptions & { networkPerCluster?: boolean }) {
      if (opts.singleNetwork && opts.networkPerCluster) this.error('error: choose --single-network or --network-per-cluster, not both', { exitCode: 2 });
      // Ambient multicluster runs on one network per cluster (meshgen refuses two clusters on one network).
      if (opts.ambient && opts.singleNetwork) {
        this.error('error: --ambient needs one network per cluster: drop --single-network (--ambient puts each cluster on its own network)', { exitCode: 2 });
      }
      if (fs.existsSync(opts.output) && !opts.force) {
        throw new OutputError(`${displayPath(opts.output)} exists`, [
          { file: displayPath(opts.output), message: 'would be overwritten', fix: 'pass --force to replace it, or -o another file' },
        ]);
      }
      // A folder is refused even with --force, before the kubeconfig is read.
      checkOutputFile(opts.output, true);
      const files = opts.kubeconfig ? [opts.kubeconfig] : defaultKubeconfigFiles();
      const { text, clusters } = initTopology(opts, files, opts.output);
      writeFileAtomically(path.resolve(opts.output), text, 0o644, OutputError);
      io.out(`wrote ${displayPath(opts.output)}: mesh "${opts.meshId}" with ${plural(clusters, 'cluster')}; next: meshgen validate -f ${displayPath(opts.output)}\n`);
    });
}
