/* global process */
// Builds the optional native UDP addon (spread_udp.c) with the node-gyp that npm ships, at
// `npm ci` / `npm install`. Never fails the install: without the addon the daemon uses
// node:dgram (SPEC.md Part VIII §9). SPREAD_TS_NO_NATIVE=1 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const say = (msg) => process.stderr.write(`spread-ts native UDP addon: ${msg}\n`);

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p !== undefined && p !== '' && existsSync(p));
}

function main() {
  if (process.env.SPREAD_TS_NO_NATIVE === '1') return say('skipped (SPREAD_TS_NO_NATIVE=1): node:dgram will be used');
  if (process.platform !== 'linux') return say(`not built on ${process.platform}: node:dgram will be used`);
  const gyp = nodeGyp();
  if (gyp === undefined) return say('node-gyp not found: node:dgram will be used');
  const args = [gyp, 'rebuild', '--directory', here];
  // Build against this Node's own headers when npm has not said where they are (no download).
  const prefix = join(dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0 && existsSync(join(here, 'build', 'Release', 'spread_udp.node'))) return say('built');
  say(`build failed (node:dgram will be used):\n${(r.stderr ?? '').split('\n').filter((l) => /error|ERR!/.test(l)).slice(0, 8).join('\n')}`);
}

main();
