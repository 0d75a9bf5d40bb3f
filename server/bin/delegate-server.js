#!/usr/bin/env node
'use strict';
// The server is bundled by esbuild (`npm run build`, also run by `npm ci` through `prepare`).
const path = require('node:path');
const fs = require('node:fs');
const bundle = path.join(__dirname, '..', 'dist', 'main.js');
if (!fs.existsSync(bundle)) {
  console.error('delegate-server: the server is not built yet; run `npm run build` in the repository root.');
  process.exit(1);
}
require(bundle).main(process.argv.slice(2));
