#!/usr/bin/env node
import('../dist/src/tools/spdump.js').then((m) => m.runCli());
