#!/usr/bin/env node
// Writes schema/mesh.schema.json from the schema the loader checks against
// (src/model/schema.ts, compiled into lib/): a Mesh or a MeshFederation document. Run `npm run build` first.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { topologySchema } = require('../lib/src/model/schema.js');

const target = path.join(__dirname, '..', 'schema', 'mesh.schema.json');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, `${JSON.stringify(topologySchema, null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
