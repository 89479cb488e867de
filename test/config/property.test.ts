import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { canonicalString, ConfigError, configHash, parseConfig } from '../../src/daemon/config/index.js';

/** Fragments that exercise every lexer rule and most grammar states. */
const FRAGMENTS = [
  'Spread_Segment', 'RouteMatrix', 'DebugFlags', 'Window', 'AcceleratedRing', 'TokenTimeout', 'EventTimeStamp',
  'Hop', 'ALL', 'PRINT', 'INFO', 'pDEBUG', 'M', 'C', 'D', 'yes', 'off', 'name', 'x#', '"q u"', "'", '"',
  '127.0.0.1', '10.0.0.255:4803', '300.1.1.1', '1.2.3.4:99999', '160', '1234567', '0 1', '=', ':', '!', '{', '}',
  ' ', '\t', '\r', '\n', '# comment\n', 'é',
];

describe('properties', () => {
  it('any input either parses or throws a ConfigError (never another error)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }), (parts) => {
        const text = parts.join('');
        try {
          const config = parseConfig(text, 'fuzz.conf', { hosts: { name: '10.0.0.5', C: '10.0.0.6' } });
          const hash = configHash(config);
          expect(Number.isInteger(hash) && hash >= 0 && hash <= 0xffffffff).toBe(true);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          expect(error.message.startsWith(`fuzz.conf:${error.line}:${error.column}: `)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a generated configuration parses back to the same segments, daemons and canonical string', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const ip = fc.tuple(fc.constant(10), octet, octet, octet).map((o) => o.join('.'));
    // Lower-case names; the case-insensitive boolean / tri-state words would be keywords.
    const reserved = new Set(['true', 'yes', 'false', 'no', 'on', 'off', 'auto']);
    const name = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,18}$/).filter((s) => !reserved.has(s));
    const iface = fc.record({ letters: fc.subarray(['D', 'C', 'M']), ip });
    const daemon = fc.record({ ip, block: fc.option(fc.array(iface, { minLength: 1, maxLength: 10 }), { nil: undefined }) });
    const segment = fc.record({ ip, port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), daemons: fc.array(daemon, { maxLength: 4 }) });
    const blank = fc.constantFrom(' ', '\t', '  ', ' # c\n', '\r\n', '\n');

    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        fc.uniqueArray(name, { minLength: 20, maxLength: 20 }),
        fc.boolean(),
        blank,
        (segments, names, accelerated, sep) => {
          let n = 0;
          let text = '';
          let expected = '';
          for (const seg of segments) {
            const port = seg.port ?? 4803;
            text += `Spread_Segment${sep}${seg.ip}${seg.port === undefined ? '' : `:${seg.port}`}${sep}{\n`;
            expected += `Segment ${seg.ip}:${port} `;
            for (const d of seg.daemons) {
              const dn = names[n++] as string;
              text += `\t${dn}${sep}${d.ip}`;
              expected += `${dn} ${d.ip} `;
              if (d.block === undefined) {
                expected += `ANY D C M ${d.ip} `;
              } else {
                text += `${sep}{`;
                for (const i of d.block) {
                  text += `${sep}${i.letters.join(' ')} ${i.ip}`;
                  const letters = i.letters.length === 0 ? ['D', 'C', 'M'] : ['D', 'C', 'M'].filter((l) => i.letters.includes(l));
                  expected += `${letters.map((l) => `${l} `).join('')}${i.ip} `;
                }
                text += ' }';
              }
              text += '\n';
            }
            text += '}\n';
            expected += '\n';
          }
          if (accelerated) text += 'AcceleratedRing = true\n';
          expected += `Version: 4.4\n${accelerated ? 1 : 0}`;

          const config = parseConfig(text, 'gen.conf');
          expect(canonicalString(config)).toBe(expected);
          expect(config.daemons).toHaveLength(n);
          expect(config.segments.map((s) => s.daemons.length)).toEqual(segments.map((s) => s.daemons.length));
        },
      ),
      { numRuns: 300 },
    );
  });
});
