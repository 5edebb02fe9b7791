#!/usr/bin/env node
/*
 * `npm run bench`: the fleet benchmark (fleets with every credential, the
 * no-change, add-one and change-one synths, diff and validate, against cp -a
 * and a read of the tree), then the RSA cold-start benchmark (synth-bench).
 *
 *   npm run bench                                            # fleets of 10, 100, 300; RSA at 2, 10, 50, 100
 *   npm run bench -- --fleet-sizes 10,100 --sizes 2,10       # quicker
 *   npm run bench -- --only fleet | --only rsa               # one of the two
 *
 * --fleet-sizes, --runs and --shapes go to fleet-bench (as --sizes, --runs,
 * --shapes); every other argument goes to synth-bench.
 */
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');

const fleet = [];
const rsa = [];
let only;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--only') only = argv[++i];
  else if (a === '--fleet-sizes') fleet.push('--sizes', argv[++i]);
  else if (a === '--runs' || a === '--shapes') fleet.push(a, argv[++i]);
  else rsa.push(a);
}
let code = 0;
for (const [name, script, args] of [
  ['fleet', 'fleet-bench.js', fleet],
  ['rsa', 'synth-bench.js', rsa],
]) {
  if (only && only !== name) continue;
  const r = spawnSync(process.execPath, [path.join(__dirname, script), ...args], { stdio: 'inherit' });
  if (r.status !== 0) code = r.status ?? 1;
  process.stdout.write('\n');
}
process.exitCode = code;
