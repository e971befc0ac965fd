#!/usr/bin/env node
// The `prod-access` command: runs the TypeScript CLI through tsx (a runtime dependency), so an
// installed checkout needs no build step.
const path = require('node:path');
const { register } = require('tsx/cjs/api');
register();
require(path.join(__dirname, '..', 'src', 'cli', 'index.ts'));
