#!/usr/bin/env node
// Writes lib/src/model/schema-validators.js: the topology schemas (src/model/schema.ts) compiled by Ajv into
// standalone validation code at build time, so that no run of meshgen compiles them again (about a tenth of a
// second each run). Part of `npm run build`, after tsc; the loader falls back to compiling at run time when the
// file is absent (meshgen run from its TypeScript sources, as the tests do).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { precompiledSource } = require('../lib/src/model/schema-check.js');

const target = path.join(__dirname, '..', 'lib', 'src', 'model', 'schema-validators.js');
fs.writeFileSync(target, precompiledSource());
