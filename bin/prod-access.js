#!/usr/bin/env node
// The `prod-access` command. Installed (after `npm run build`): the compiled CLI in dist/, plain
// JavaScript, no TypeScript at run time. In a checkout that was never built, the TypeScript source
// through tsx (a dev dependency), so `npm link` works while developing.
const fs = require('node:fs');
const path = require('node:path');

const built = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
if (fs.existsSync(built)) {
  require(built);
} else {
  let register;
  try {
    ({ register } = require('tsx/cjs/api'));
  } catch {
    process.stderr.write('prod-access: not built: run `npm run build` first (it writes dist/)\n');
    process.exit(3);
  }
  register();
  require(path.join(__dirname, '..', 'src', 'cli', 'index.ts'));
}
