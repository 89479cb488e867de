#!/usr/bin/env node
import('../dist/src/tools/spuser.js').then((m) => m.main());
