// Bundles the daemon into one file, dist/spread-daemon.mjs (bin/spread.js runs it): one module
// to load instead of ~110 keeps its resident memory about 8 MB lower (SPEC.md Part VIII §6).
// The output is made pure ASCII: esbuild already escapes non-ASCII characters in code, but
// prints the comments it keeps as they are, and a single non-Latin-1 character there makes V8
// hold the whole 360 KB source two bytes per character (0.45 MB more resident, all the time).
// An escape is what esbuild writes in code anyway, and in a comment it is only text.
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const outfile = 'dist/spread-daemon.mjs';
await build({
  entryPoints: ['dist/src/tools/spread.js'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['prom-client'],
  outfile,
  logLevel: 'warning',
});
const text = readFileSync(outfile, 'utf8');
writeFileSync(outfile, text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
