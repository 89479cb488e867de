#!/usr/bin/env node
// The daemon runs from one bundled file (`npm run bundle`): loading one module instead of ~110
// keeps its resident memory about 8 MB lower. Falls back to the unbundled build.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const bundle = new URL('../dist/spread-daemon.mjs', import.meta.url);
const entry = existsSync(bundle) ? bundle.href : '../dist/src/tools/spread.js';
import(entry).then((m) => m.runCli());
