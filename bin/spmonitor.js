#!/usr/bin/env node
import('../dist/src/tools/spmonitor.js').then((m) => m.main());
