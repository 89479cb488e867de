import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  canonicalString,
  configHash,
  DEFAULT_CONFIG_TEXT,
  formatCheckOutput,
  hashString,
  parseConfig,
} from '../../src/daemon/config/index.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

interface HashEntry {
  readonly file: string;
  readonly hash: number;
  readonly source: string;
  readonly hosts?: Record<string, string>;
}
interface HashTable {
  readonly configs: readonly HashEntry[];
  readonly defaultConfig: { readonly hash: number };
  readonly strings: readonly { readonly canonical: string; readonly hash: number }[];
}
const table = JSON.parse(readFileSync(here('./reference-hashes.json'), 'utf8')) as HashTable;

describe('configuration hash', () => {
  it.each(table.strings)('hashes the canonical string vector to $hash', ({ canonical, hash }) => {
    expect(hashString(canonical)).toBe(hash);
  });

  it.each(table.configs)('$file hashes to $hash (the reference value)', (entry) => {
    const bytes = readFileSync(here(entry.file));
    const config = parseConfig(bytes, entry.file, entry.hosts === undefined ? {} : { hosts: entry.hosts });
    expect(configHash(config)).toBe(entry.hash);
  });

  it('covers every reference configuration file', () => {
    const files = ['lo-oneseg', 'lo3seg-acc', 'lo3seg-noif-diffport', 'lo3seg-noif-sameport', 'lo3seg-orig', 'ns3-acc', 'ns3-orig', 'ns3-unspec', 'single-acc', 'single-orig', 'single'];
    const listed = new Set(table.configs.map((e) => e.file));
    for (const f of files) expect(listed.has(`fixtures/reference/${f}.conf`)).toBe(true);
  });

  it('builds the canonical string of a daemon without an interface block as ANY D C M', () => {
    const config = parseConfig(readFileSync(here('fixtures/reference/single.conf')), 'single.conf');
    expect(canonicalString(config)).toBe('Segment 127.0.0.255:4803 localhost 127.0.0.1 ANY D C M 127.0.0.1 \nVersion: 4.4\n0');
  });

  it('builds interface tokens in the fixed order ANY D C M whatever the file order', () => {
    const config = parseConfig('Spread_Segment 10.0.0.255:5000 {\n a 10.0.0.1 { M C D 10.0.0.1 C 10.0.0.9 M 10.0.0.8 }\n}\n', 'x.conf');
    expect(canonicalString(config)).toBe(
      'Segment 10.0.0.255:5000 a 10.0.0.1 D C M 10.0.0.1 C 10.0.0.9 M 10.0.0.8 \nVersion: 4.4\n0',
    );
  });

  it('uses the 16-bit port, the default port for :0 or none, and the ring character', () => {
    const config = parseConfig(readFileSync(here('fixtures/own/port-wrap.conf')), 'port-wrap.conf');
    expect(canonicalString(config)).toBe(
      'Segment 127.0.0.255:34463 w1 127.0.0.1 ANY D C M 127.0.0.1 \nSegment 127.0.1.255:4803 w2 127.0.1.1 ANY D C M 127.0.1.1 \nVersion: 4.4\n0',
    );
    const acc = parseConfig('Spread_Segment 127.0.0.255 { a 127.0.0.1 }\nAcceleratedRing = true\n', 'a.conf');
    expect(canonicalString(acc).endsWith('\n1')).toBe(true);
  });

  it('adds bytes above 0x7f as signed chars', () => {
    // 0xE6 as signed char is -26; unsigned it would be 230: the hashes must differ.
    const bytes = 'Segment 1.2.3.4:4803 d\u00c3\u00a6mon 127.0.0.1 \nVersion: 4.4\n0';
    expect(hashString(bytes)).not.toBe(unsignedReferenceHash(bytes));
    const config = parseConfig(readFileSync(here('fixtures/own/non-ascii.conf')), 'non-ascii.conf');
    expect(config.daemons[0]?.name).toBe('d\u00c3\u00a6mon'); // bytes, one char each
  });

  it('hashes the empty string and one-char strings with wrap-around arithmetic', () => {
    expect(hashString('')).toBe(0);
    expect(hashString('a')).toBe(unsignedReferenceHash('a'));
    expect(hashString('\u00ff')).toBe(bigIntHash('\u00ff'));
    expect(hashString('Segment \u0080\u00ff\u007f')).toBe(bigIntHash('Segment \u0080\u00ff\u007f'));
  });

  it('DEFAULT_CONFIG_TEXT hashes like the reference sample configuration', () => {
    const config = parseConfig(DEFAULT_CONFIG_TEXT, 'default');
    expect(config.segments).toHaveLength(1);
    expect(config.daemons.map((d) => [d.name, d.address, d.port])).toEqual([['localhost', '127.0.0.1', 4803]]);
    expect(configHash(config)).toBe(table.defaultConfig.hash);
  });

  it('formats the --check output: canonical string, then the hash line', () => {
    const config = parseConfig(DEFAULT_CONFIG_TEXT, 'default');
    expect(formatCheckOutput(config)).toBe(
      'Segment 127.0.0.255:4803 localhost 127.0.0.1 ANY D C M 127.0.0.1 \nVersion: 4.4\n0\nconfig hash: 3871598377\n',
    );
  });
});

/** The same algorithm written with BigInt and explicit masking, as an independent check. */
function bigIntHash(bytes: string): number {
  const mask = 0xffffffffn;
  const n = BigInt(bytes.length);
  let h = (n ^ (n << 8n) ^ (n << 16n) ^ (n << 24n)) & mask;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    h = (h + BigInt(c >= 128 ? c - 256 : c)) & mask;
    h = (h + (h << 10n)) & mask;
    h ^= h >> 6n;
  }
  h = (h + (h << 3n)) & mask;
  h ^= h >> 11n;
  h = (h + (h << 15n)) & mask;
  return Number(h);
}

/** The algorithm with bytes added unsigned (wrong for bytes above 0x7f). */
function unsignedReferenceHash(bytes: string): number {
  const mask = 0xffffffffn;
  const n = BigInt(bytes.length);
  let h = (n ^ (n << 8n) ^ (n << 16n) ^ (n << 24n)) & mask;
  for (let i = 0; i < bytes.length; i++) {
    h = (h + BigInt(bytes.charCodeAt(i))) & mask;
    h = (h + (h << 10n)) & mask;
    h ^= h >> 6n;
  }
  h = (h + (h << 3n)) & mask;
  h ^= h >> 11n;
  h = (h + (h << 15n)) & mask;
  return Number(h);
}
