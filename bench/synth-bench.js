#!/usr/bin/env node
/*
 * synth-bench: how long `meshgen synth` takes, and how much memory it uses,
 * for meshes of 2, 10, 50 and 100 clusters (each cluster on its own network).
 *
 * For each size N it writes a topology file into a fresh private temp folder
 * and runs the real CLI as a child process (`node bin/meshgen synth -f ... -o ...`):
 *   - cold: empty key store, so synth makes N+1 RSA-4096 keys (one root, one
 *     intermediate per cluster) in parallel;
 *   - warm: the same command again, K times, reusing the keys of the cold run
 *     (and rewriting the output folder the cold run made).
 * Wall time is end to end, Node process start included. Peak memory is the
 * child's own max RSS, read by a tiny --require preload from
 * process.resourceUsage().maxRSS when the child exits.
 *
 * Baseline: making the same N+1 keys one after another with
 * `openssl genrsa 4096`; the speed-up is openssl time / cold time.
 * RSA key generation time varies a lot from key to key (prime search), so
 * cold and openssl numbers are noisy; warm numbers are stable.
 *
 * Targets checked (a report, not a test: exit code is 0 whenever every run
 * succeeds; missed targets print "TARGET MISSED"):
 *   - warm, 2 clusters:   median < 1.5 s
 *   - warm, 100 clusters: median < 10 s
 *   - cold: at least 1.7x faster than sequential openssl, for every N
 *
 * Run (after `npm run build`):
 *   npm run bench                                   # 2,10,50,100 clusters; 100 takes minutes
 *   npm run bench -- --sizes 2,10                   # quick
 *   npm run bench -- --sizes 2,10 --warm-runs 2     # quicker
 *
 * Temp folders hold private keys: they are 0700 and removed at the end
 * (also on Ctrl-C).
 */
'use strict';

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'bin', 'meshgen');
const LIB_INDEX = path.join(REPO, 'lib', 'src', 'index.js');
const RSS_ENV = 'MESHGEN_BENCH_RSS_FILE';

const DEFAULT_SIZES = [2, 10, 50, 100];
const DEFAULT_WARM_RUNS = 3;
const KEY_BITS = 4096;
const TARGET_WARM_2 = 1.5; // s
const TARGET_WARM_100 = 10; // s
const TARGET_SPEEDUP = 1.7; // openssl sequential / cold

// ---------------------------------------------------------------- arguments

function usage(code) {
  const text =
    'usage: node bench/synth-bench.js [--sizes 2,10,50,100] [--warm-runs 3] [--cold-runs 1]\n' +
    '  --sizes      comma-separated cluster counts (default 2,10,50,100)\n' +
    '  --warm-runs  warm runs per size; median and max are reported (default 3)\n' +
    '  --cold-runs  cold runs (and openssl baselines) per size; key generation time varies\n' +
    '               a lot from key to key, so totals over several runs are steadier (default 1)\n';
  (code === 0 ? process.stdout : process.stderr).write(text);
  process.exit(code);
}

function positiveInt(flag, raw) {
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 1) {
    process.stderr.write(`synth-bench: ${flag} wants a positive integer; got "${raw}"\n`);
    usage(2);
  }
  return k;
}

function parseArgs(argv) {
  const opts = { sizes: DEFAULT_SIZES, warmRuns: DEFAULT_WARM_RUNS, coldRuns: 1 };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) {
        process.stderr.write(`synth-bench: ${arg} needs a value\n`);
        usage(2);
      }
      return argv[++i];
    };
    if (arg === '-h' || arg === '--help') usage(0);
    else if (arg === '--sizes') {
      const raw = next();
      const sizes = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
      if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 999)) {
        process.stderr.write(`synth-bench: --sizes wants positive integers up to 999, e.g. 2,10; got "${raw}"\n`);
        usage(2);
      }
      opts.sizes = [...new Set(sizes)];
    } else if (arg === '--warm-runs') {
      opts.warmRuns = positiveInt(arg, next());
    } else if (arg === '--cold-runs') {
      opts.coldRuns = positiveInt(arg, next());
    } else {
      process.stderr.write(`synth-bench: unknown argument "${argv[i]}"\n`);
      usage(2);
    }
  }
  return opts;
}

// ---------------------------------------------------------------- temp folders

let tmpRoot;

function cleanup() {
  if (!tmpRoot) return;
  try {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  } catch (err) {
    process.stderr.write(`synth-bench: could not remove ${tmpRoot} (it holds private keys): ${err.message}\n`);
  }
  tmpRoot = undefined;
}

function privateDir(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  return dir;
}

function fail(message) {
  const err = new Error(message);
  err.benchFailure = true;
  throw err;
}

// ---------------------------------------------------------------- helpers

function seconds(startNs) {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function pad2(n, width) {
  return String(n).padStart(width, '0');
}

function topologyYaml(n) {
  const width = Math.max(2, String(n).length);
  const lines = [
    `# generated by bench/synth-bench.js: ${n} clusters, one network each`,
    'apiVersion: meshgen.dev/v1alpha1',
    'kind: Mesh',
    'metadata:',
    `  name: bench${n}`,
    'spec:',
    `  meshID: bench${n}`,
    '  istio:',
    '    version: 1.30.3',
    '  trust:',
    '    keyStore: .meshgen/pki',
    '  clusters:',
  ];
  for (let i = 1; i <= n; i++) {
    const id = pad2(i, width);
    lines.push(`    - name: cluster-${id}`, `      context: ctx-${id}`, `      network: network-${id}`);
  }
  return `${lines.join('\n')}\n`;
}

/** sha256 of every *.pem under the key store, keyed by relative path. */
function keyStoreDigest(store) {
  const out = new Map();
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(full);
      else if (ent.name.endsWith('.pem')) {
        out.set(path.relative(store, full), crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
      }
    }
  };
  walk(store);
  return out;
}

function countKeys(digest) {
  return [...digest.keys()].filter((k) => k.endsWith('key.pem')).length;
}

function clusterFolders(dist) {
  if (!fs.existsSync(dist)) return 0;
  return fs.readdirSync(dist, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith('cluster-')).length;
}

// ---------------------------------------------------------------- runs

/** Runs `node --require preload <args>`; returns wall seconds and child max RSS in MiB. */
function runNode(args, { preload, rssFile, cwd, label }) {
  fs.rmSync(rssFile, { force: true });
  const start = process.hrtime.bigint();
  const res = spawnSync(process.execPath, ['--require', preload, ...args], {
    cwd,
    env: { ...process.env, [RSS_ENV]: rssFile },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const wall = seconds(start);
  if (res.error) fail(`${label}: could not start node: ${res.error.message}`);
  if (res.status !== 0) {
    fail(
      `${label}: exit ${res.status === null ? `signal ${res.signal}` : `code ${res.status}`}\n` +
        `command: ${process.execPath} ${args.join(' ')}\n` +
        `--- stderr ---\n${res.stderr}--- stdout ---\n${res.stdout}`,
    );
  }
  let rssMiB = NaN;
  try {
    rssMiB = Number(fs.readFileSync(rssFile, 'utf8')) / 1024; // maxRSS is KiB
  } catch {
    process.stderr.write(`synth-bench: ${label}: the child did not report its max RSS\n`);
  }
  return { wall, rssMiB, stdout: res.stdout };
}

function opensslVersion() {
  const res = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  return res.stdout.trim();
}

/** Makes `count` RSA keys one after another with openssl; returns seconds. */
function opensslSequential(count, dir) {
  privateDir(dir);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `key-${i}.pem`);
    const res = spawnSync('openssl', ['genrsa', '-out', file, String(KEY_BITS)], { encoding: 'utf8' });
    if (res.error) fail(`openssl genrsa: could not start: ${res.error.message}`);
    if (res.status !== 0) fail(`openssl genrsa: exit ${res.status ?? res.signal}\n--- stderr ---\n${res.stderr}`);
  }
  const wall = seconds(start);
  fs.rmSync(dir, { recursive: true, force: true });
  return wall;
}

function benchSize(n, opts, common) {
  const dir = privateDir(path.join(tmpRoot, `n${pad2(n, 3)}`));
  const file = path.join(dir, 'mesh.yaml');
  const dist = path.join(dir, 'dist');
  const store = path.join(dir, '.meshgen', 'pki');
  fs.writeFileSync(file, topologyYaml(n), { mode: 0o600 });
  const args = [CLI, 'synth', '-f', file, '-o', dist];

  const colds = [];
  for (let k = 1; k <= opts.coldRuns; k++) {
    fs.rmSync(store, { recursive: true, force: true });
    fs.rmSync(dist, { recursive: true, force: true });
    process.stderr.write(`[${n} clusters] cold run ${k}/${opts.coldRuns} ...`);
    const r = runNode(args, { ...common, cwd: dir, label: `cold synth ${k}, ${n} clusters` });
    process.stderr.write(` ${r.wall.toFixed(2)} s\n`);
    colds.push(r);
  }
  const coldTotal = colds.reduce((t, r) => t + r.wall, 0);
  const digest = keyStoreDigest(store);
  if (countKeys(digest) !== n + 1) fail(`cold synth, ${n} clusters: expected ${n + 1} keys in ${store}, found ${countKeys(digest)}`);
  if (clusterFolders(dist) !== n) fail(`cold synth, ${n} clusters: expected ${n} cluster folders in ${dist}, found ${clusterFolders(dist)}`);

  const warm = [];
  for (let k = 1; k <= opts.warmRuns; k++) {
    process.stderr.write(`[${n} clusters] warm run ${k}/${opts.warmRuns} ...`);
    const r = runNode(args, { ...common, cwd: dir, label: `warm synth ${k}, ${n} clusters` });
    process.stderr.write(` ${r.wall.toFixed(2)} s\n`);
    const after = keyStoreDigest(store);
    for (const [rel, sum] of digest) {
      if (after.get(rel) !== sum) fail(`warm synth ${k}, ${n} clusters: ${rel} in the key store changed; keys were not reused`);
    }
    warm.push(r);
  }

  let opensslTotal = 0;
  for (let k = 1; k <= opts.coldRuns; k++) {
    process.stderr.write(`[${n} clusters] openssl genrsa ${KEY_BITS} x ${n + 1}, sequential ${k}/${opts.coldRuns} ...`);
    const t = opensslSequential(n + 1, path.join(dir, 'openssl'));
    process.stderr.write(` ${t.toFixed(2)} s\n`);
    opensslTotal += t;
  }
  const openssl = opensslTotal / opts.coldRuns;

  // Keys are no longer needed: remove them now rather than at the very end.
  fs.rmSync(dir, { recursive: true, force: true });

  const warmWalls = warm.map((r) => r.wall);
  return {
    n,
    coldWall: coldTotal / opts.coldRuns,
    coldRss: Math.max(...colds.map((r) => r.rssMiB)),
    warmMedian: median(warmWalls),
    warmMax: Math.max(...warmWalls),
    warmRss: Math.max(...warm.map((r) => r.rssMiB)),
    openssl,
    speedup: opensslTotal / coldTotal,
  };
}

/** Median wall time of `node <args>` over `runs` runs: Node start-up context. */
function startupTime(args, runs, common, label) {
  const walls = [];
  for (let i = 0; i < runs; i++) walls.push(runNode(args, { ...common, cwd: REPO, label }).wall);
  return median(walls);
}

// ---------------------------------------------------------------- report

function table(rows) {
  const head = [
    'clusters',
    'cold s',
    'cold RSS MiB',
    'warm med s',
    'warm max s',
    'warm RSS MiB',
    'openssl seq s',
    'speed-up',
  ];
  const body = rows.map((r) => [
    String(r.n),
    r.coldWall.toFixed(2),
    r.coldRss.toFixed(0),
    r.warmMedian.toFixed(2),
    r.warmMax.toFixed(2),
    r.warmRss.toFixed(0),
    r.openssl.toFixed(2),
    `${r.speedup.toFixed(2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function targets(rows) {
  const lines = [];
  let missed = 0;
  const check = (ok, text) => {
    if (!ok) missed++;
    lines.push(`${ok ? 'met          ' : 'TARGET MISSED'}  ${text}`);
  };
  const byN = new Map(rows.map((r) => [r.n, r]));
  for (const [n, limit] of [
    [2, TARGET_WARM_2],
    [100, TARGET_WARM_100],
  ]) {
    const r = byN.get(n);
    if (!r) {
      lines.push(`not measured   warm ${n} clusters < ${limit} s (add ${n} to --sizes)`);
      continue;
    }
    const note = r.warmMax >= limit ? `; max ${r.warmMax.toFixed(2)} s is over` : `; max ${r.warmMax.toFixed(2)} s`;
    check(r.warmMedian < limit, `warm ${n} clusters < ${limit} s: median ${r.warmMedian.toFixed(2)} s${note}`);
  }
  for (const r of rows) {
    check(
      r.speedup >= TARGET_SPEEDUP,
      `cold ${r.n} clusters >= ${TARGET_SPEEDUP}x faster than sequential openssl: ` +
        `${r.speedup.toFixed(2)}x (${r.openssl.toFixed(2)} s / ${r.coldWall.toFixed(2)} s)`,
    );
  }
  return { text: lines.join('\n'), missed };
}

// ---------------------------------------------------------------- main

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(REPO, 'lib', 'src', 'cli', 'main.js'))) {
    fail(`${path.join(REPO, 'lib')} is missing: run \`npm run build\` first`);
  }
  const ossl = opensslVersion();
  if (!ossl) fail('openssl is not on PATH; it is needed for the baseline');

  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgen-bench-'));
  fs.chmodSync(tmpRoot, 0o700);
  const preload = path.join(tmpRoot, 'max-rss-preload.js');
  fs.writeFileSync(
    preload,
    `'use strict';\n` +
      `process.on('exit', () => {\n` +
      `  const f = process.env.${RSS_ENV};\n` +
      `  if (f) require('node:fs').writeFileSync(f, String(process.resourceUsage().maxRSS));\n` +
      `});\n`,
    { mode: 0o600 },
  );
  const common = { preload, rssFile: path.join(tmpRoot, 'max-rss') };

  const cpus = os.cpus();
  const machine = [
    `cpus:     ${cpus.length} x ${cpus[0] ? cpus[0].model.trim() : 'unknown'}` +
      (typeof os.availableParallelism === 'function' ? ` (available parallelism ${os.availableParallelism()})` : ''),
    `memory:   ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `os:       ${os.type()} ${os.release()} ${os.arch()}`,
    `node:     ${process.version} (bundled OpenSSL ${process.versions.openssl}; meshgen gives libuv's pool a thread per key, up to 128${process.env.UV_THREADPOOL_SIZE ? `; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE} set here` : ''})`,
    `openssl:  ${ossl}`,
    `sizes:    ${opts.sizes.join(', ')} clusters; ${opts.warmRuns} warm run(s) each`,
  ].join('\n');
  process.stdout.write(`meshgen synth benchmark\n${machine}\n\n`);

  const rows = [];
  for (const n of opts.sizes) rows.push(benchSize(n, opts, common));

  process.stderr.write('node start-up context ...\n');
  const nodeBare = startupTime(['-e', '0'], 5, common, 'node -e 0');
  const nodeLib = startupTime(['-e', `require(${JSON.stringify(LIB_INDEX)})`], 5, common, 'node -e require(lib)');

  process.stdout.write(`${table(rows)}\n\n`);
  process.stdout.write(
    'wall times are end to end (process start included); RSS is the child\'s peak;\n' +
      `cold and openssl s are means over ${opts.coldRuns} run(s); speed-up = total openssl / total cold.\n` +
      `context (median of 5): \`node -e 0\` ${nodeBare.toFixed(2)} s; ` +
      `\`node -e "require('lib/src/index.js')"\` ${nodeLib.toFixed(2)} s\n\n`,
  );
  const t = targets(rows);
  process.stdout.write(`targets\n${t.text}\n`);
  process.stdout.write(t.missed ? `\n${t.missed} target(s) missed\n` : '\nall measured targets met\n');
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

try {
  main();
} catch (err) {
  process.stderr.write(`\nsynth-bench: ${err.benchFailure ? err.message : err.stack}\n`);
  process.exitCode = 1;
} finally {
  cleanup();
}
