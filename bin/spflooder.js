#!/usr/bin/env node
import('../dist/src/tools/spflooder.js').then((m) => m.main());
