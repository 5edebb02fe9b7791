#!/usr/bin/env node
/*
 * fleet-bench: what fleets run. Meshes of 10, 100 and 300 clusters whose
 * every cluster has credentials (a generated kubeconfig with one context
 * per cluster, static tokens), so every primary writes a remote secret for
 * every other cluster it reads, in two shapes:
 *   - multi-primary: every cluster a primary on its own network (N·(N-1) remote secrets);
 *   - primary-remote: one primary per ten clusters, each serving nine remotes.
 * Keys are ECDSA P-256 so that setting a fleet up takes seconds; RSA key
 * making is what synth-bench measures.
 *
 * Per size and shape, each a child process (`node bin/meshgen …`), wall
 * time end to end and the child's peak RSS:
 *   first synth            an empty output (keys made)
 *   no-change synth        median of --runs; writes nothing
 *   diff                   median of --runs
 *   validate               median of --runs
 *   + one cluster          the topology gains a cluster, three times over (median); files written counted
 *   one setting changed    one cluster's gateway annotations change; files written counted
 * and, measured in the same run on the same output tree, the physical floor:
 *   cp -a                  of the whole output tree (median of three copies)
 *   read all               every file of the tree read by a fresh node process
 *
 * Targets (a report, not a test; missed ones print TARGET MISSED):
 *   100-cluster multi-primary: no-change synth < 1.5 s, diff < 1.5 s, + one cluster <= cp -a
 *   300-cluster multi-primary: no-change synth < 5 s, peak RSS < 400 MB
 *
 * Run (after `npm run build`): node bench/fleet-bench.js [--sizes 10,100,300] [--runs 5] [--shapes multi-primary,primary-remote]
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'bin', 'meshgen');
const RSS_ENV = 'MESHGEN_BENCH_RSS_FILE';

function parseArgs(argv) {
  const opts = { sizes: [10, 100, 300], runs: 5, shapes: ['multi-primary', 'primary-remote'] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=');
    const value = () => inline ?? argv[++i];
    if (flag === '--sizes') opts.sizes = value().split(',').map(Number);
    else if (flag === '--runs') opts.runs = Number(value());
    else if (flag === '--shapes') opts.shapes = value().split(',');
    else if (flag === '-h' || flag === '--help') {
      process.stdout.write('usage: node bench/fleet-bench.js [--sizes 10,100,300] [--runs 5] [--shapes multi-primary,primary-remote]\n');
      process.exit(0);
    } else {
      process.stderr.write(`fleet-bench: unknown argument "${argv[i]}"\n`);
      process.exit(2);
    }
  }
  if (opts.sizes.some((n) => !Number.isInteger(n) || n < 2) || !Number.isInteger(opts.runs) || opts.runs < 1) {
    process.stderr.write('fleet-bench: --sizes wants integers of 2 or more, --runs a positive integer\n');
    process.exit(2);
  }
  return opts;
}

/** A kubeconfig with `n` contexts ctx1…ctxN, each with its own server, CA and static token. */
function kubeconfig(n) {
  const ca = Buffer.from(`-----BEGIN CERTIFICATE-----\n${'MIIC'.repeat(300)}\n-----END CERTIFICATE-----\n`).toString('base64');
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  for (let i = 1; i <= n; i++) lines.push(`  - name: k${i}`, '    cluster:', `      server: https://10.${Math.floor(i / 250)}.${i % 250}.1:6443`, `      certificate-authority-data: ${ca}`);
  lines.push('users:');
  for (let i = 1; i <= n; i++) lines.push(`  - name: k${i}`, '    user:', `      token: eyJhbGciOiJSUzI1NiJ9.${'x'.repeat(900)}${i}`);
  lines.push('contexts:');
  for (let i = 1; i <= n; i++) lines.push(`  - name: ctx${i}`, '    context:', `      cluster: k${i}`, `      user: k${i}`);
  return `${lines.join('\n')}\n`;
}

/** The topology of `n` clusters in `shape`; `annotate` gives cluster c2's gateway an annotation. */
function topology(n, shape, annotate) {
  const lines = [
    'apiVersion: meshgen.dev/v1alpha1',
    'kind: Mesh',
    'metadata: {name: fleet}',
    'spec:',
    '  istio: {version: 1.30.3}',
    '  trust: {keyStore: pki, keyAlgorithm: ECDSA-P256}',
    '  credentials: {kubeconfig: kubeconfig}',
    '  clusters:',
  ];
  const primaries = Math.max(1, Math.ceil(n / 10));
  for (let i = 1; i <= n; i++) {
    const gw = [];
    if (annotate && i === 2) gw.push('annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}');
    if (shape === 'primary-remote' && i <= primaries) gw.push(`address: 192.0.2.${i}`);
    const remote = shape === 'primary-remote' && i > primaries ? `, role: remote, controlPlane: c${((i - 1) % primaries) + 1}` : '';
    lines.push(`    - {name: c${i}, context: ctx${i}, network: n${i}${remote}${gw.length ? `, eastWestGateway: {${gw.join(', ')}}` : ''}}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Clusters added one after the other, each add timed: the table gives the median, and cp -a is the median of as many copies. */
const ADDS = 3;

let tmpRoot;
let preload;

/** Runs `node args` in `cwd`; returns wall seconds and peak RSS (MiB). */
function timed(args, cwd) {
  const rssFile = path.join(tmpRoot, 'rss');
  const began = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', preload, ...args], { cwd, encoding: 'utf8', env: { ...process.env, [RSS_ENV]: rssFile }, maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  if (r.status !== 0 && !(args.includes('diff') && r.status === 1)) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  return { seconds, rss: Number(fs.readFileSync(rssFile, 'utf8')) / 1024 };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Files of `dir` with inode, modification time and mode: a file written anew gets a new inode, a linked one keeps its own. */
function stamps(dir) {
  const out = new Map();
  const visit = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) visit(full);
      else {
        const st = fs.statSync(full, { bigint: true });
        out.set(full.slice(dir.length + 1), `${st.ino}:${st.mtimeNs}:${st.mode}`);
      }
    }
  };
  visit(dir);
  return out;
}

function written(before, after) {
  let n = 0;
  for (const [f, s] of after) if (before.get(f) !== s) n++;
  return n;
}

function benchOne(n, shape, runs) {
  const dir = fs.mkdtempSync(path.join(tmpRoot, `${shape}-${n}-`));
  fs.writeFileSync(path.join(dir, 'kubeconfig'), kubeconfig(n + ADDS), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), topology(n, shape, false));
  const synth = ['synth', '-q', '-o', 'dist'];
  process.stderr.write(`${shape} ${n}: first synth …\n`);
  const first = timed([CLI, ...synth], dir);
  const out = path.join(dir, 'dist');
  const files = stamps(out).size;
  const bytes = Number(spawnSync('du', ['-sb', out], { encoding: 'utf8' }).stdout.split('\t')[0]);
  const noChange = [];
  let rss = first.rss;
  for (let i = 0; i < runs; i++) {
    const before = stamps(out);
    const r = timed([CLI, ...synth], dir);
    if (written(before, stamps(out)) !== 0) throw new Error('a no-change synth wrote files');
    noChange.push(r.seconds);
    rss = Math.max(rss, r.rss);
  }
  const diff = median(Array.from({ length: Math.min(runs, 3) }, () => timed([CLI, 'diff', '--stat', '-o', 'dist'], dir).seconds));
  const validate = median(Array.from({ length: Math.min(runs, 3) }, () => timed([CLI, 'validate'], dir).seconds));
  // The floor, on the same tree and disk: copying it (median of ADDS copies, as noisy as the adds), and reading every file back.
  const cp = median(
    Array.from({ length: ADDS }, (_, i) => {
      const copy = path.join(dir, `copy${i}`);
      const cpStart = process.hrtime.bigint();
      spawnSync('cp', ['-a', out, copy]);
      const seconds = Number(process.hrtime.bigint() - cpStart) / 1e9;
      fs.rmSync(copy, { recursive: true, force: true });
      return seconds;
    }),
  );
  const readAll = timed(['-e', `const fs=require('fs'),p=require('path');const v=(d)=>{for(const e of fs.readdirSync(d,{withFileTypes:true})){const f=p.join(d,e.name);e.isDirectory()?v(f):fs.readFileSync(f)}};v(${JSON.stringify(out)})`], dir).seconds;
  // One more cluster, ADDS times (median): every primary gains a remote secret for it.
  const adds = [];
  const addWritten = [];
  for (let i = 1; i <= ADDS; i++) {
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), topology(n + i, shape, false));
    const before = stamps(out);
    const add = timed([CLI, ...synth], dir);
    addWritten.push(written(before, stamps(out)));
    adds.push(add.seconds);
    rss = Math.max(rss, add.rss);
  }
  // One cluster's setting: only its folder changes.
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), topology(n + ADDS, shape, true));
  const before = stamps(out);
  const change = timed([CLI, ...synth], dir);
  const changeWritten = written(before, stamps(out));
  rss = Math.max(rss, change.rss);
  fs.rmSync(dir, { recursive: true, force: true });
  return { n, shape, files, mb: bytes / 1e6, first: first.seconds, noChange: median(noChange), diff, validate, add: median(adds), addWritten, change: change.seconds, changeWritten, cp, readAll, rss };
}

function table(rows) {
  const head = ['shape', 'clusters', 'files', 'MB', 'first', 'no-change', 'diff', 'validate', '+1 cluster (files of each add)', '1 setting (files)', 'cp -a', 'read all', 'peak RSS'];
  const f = (s) => `${s.toFixed(2)} s`;
  const body = rows.map((r) => [
    r.shape,
    String(r.n),
    String(r.files),
    r.mb.toFixed(1),
    f(r.first),
    f(r.noChange),
    f(r.diff),
    f(r.validate),
    `${f(r.add)} (${r.addWritten.join('/')})`,
    `${f(r.change)} (${r.changeWritten})`,
    f(r.cp),
    f(r.readAll),
    `${r.rss.toFixed(0)} MiB`,
  ]);
  return [head, head.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function targets(rows) {
  const out = [];
  const check = (ok, text) => out.push(`${ok ? 'ok    ' : 'TARGET MISSED '} ${text}`);
  const mp = (n) => rows.find((r) => r.shape === 'multi-primary' && r.n === n);
  const r100 = mp(100);
  if (r100) {
    check(r100.noChange < 1.5, `100 clusters, no-change synth ${r100.noChange.toFixed(2)} s < 1.5 s`);
    check(r100.diff < 1.5, `100 clusters, diff ${r100.diff.toFixed(2)} s < 1.5 s`);
    check(r100.add <= r100.cp, `100 clusters, + one cluster ${r100.add.toFixed(2)} s <= cp -a ${r100.cp.toFixed(2)} s`);
  }
  const r300 = mp(300);
  if (r300) {
    check(r300.noChange < 5, `300 clusters, no-change synth ${r300.noChange.toFixed(2)} s < 5 s`);
    check(r300.rss < 400, `300 clusters, peak RSS ${r300.rss.toFixed(0)} MiB < 400 MiB`);
  }
  return out.join('\n');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(REPO, 'lib', 'src', 'cli', 'main.js'))) throw new Error('lib/ is missing: run `npm run build` first');
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgen-fleet-bench-'));
  fs.chmodSync(tmpRoot, 0o700);
  preload = path.join(tmpRoot, 'rss-preload.js');
  fs.writeFileSync(preload, `process.on('exit',()=>{const f=process.env.${RSS_ENV};if(f)require('fs').writeFileSync(f,String(process.resourceUsage().maxRSS))});\n`);
  const cpus = os.cpus();
  process.stdout.write(`meshgen fleet benchmark: ${cpus.length} x ${cpus[0] ? cpus[0].model.trim() : 'cpu'}, node ${process.version}, ${opts.runs} run(s) for medians\n\n`);
  const rows = [];
  for (const n of opts.sizes) for (const shape of opts.shapes) rows.push(benchOne(n, shape, opts.runs));
  process.stdout.write(`${table(rows)}\n\ntargets\n${targets(rows)}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`fleet-bench: ${err.stack}\n`);
  process.exitCode = 1;
} finally {
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
}
