#!/usr/bin/env node
import('../dist/src/tools/spread.js').then((m) => m.runCli());
