/**
 * The interop matrix's pure parts: arrangements, the generated spread.conf and compose file
 * (checked by docker-compose itself when installed), transcript masking and comparison, the
 * kill victims, and the reports (text, markdown, JUnit XML). The matrix itself runs rings in
 * containers: `npm run interop -- --matrix` (interop/README.md); CI runs it from .ci/run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeFile, layoutNodes, parseArrangement, ringConf, writeRing, type RingLayout } from '../../interop/docker/compose.js';
import { maskLine, transcriptDiff, victims } from '../../interop/matrix-cells.js';
import { junit, markdown, summaryLine, textTable, type Cell } from '../../interop/matrix-report.js';

const layout: RingLayout = { project: 'spts-test', subnet: '10.214.9', impls: parseArrangement('ORO') };

describe('arrangements', () => {
  it('parses O and R, rejects anything else', () => {
    expect(parseArrangement('OOROO')).toEqual(['ours', 'ours', 'reference', 'ours', 'ours']);
    for (const bad of ['', 'OXO', 'oro', 'O'.repeat(21)]) expect(() => parseArrangement(bad)).toThrow(RangeError);
  });

  it('kills the first daemon of each implementation, in ring order', () => {
    expect(victims(parseArrangement('ROR'))).toEqual([{ impl: 'reference', index: 0 }, { impl: 'ours', index: 1 }]);
    expect(victims(parseArrangement('OOROO')).map((v) => v.index)).toEqual([0, 2]);
    expect(victims(parseArrangement('OOO'))).toEqual([{ impl: 'ours', index: 0 }]);
  });
});

describe('spread.conf and compose file', () => {
  it('lists every daemon at its fixed address on one segment', () => {
    const conf = ringConf(layout);
    expect(conf).toContain('Spread_Segment 10.214.9.255:4803 {\n\tn0\t10.214.9.11\n\tn1\t10.214.9.12\n\tn2\t10.214.9.13\n}\n');
    expect(layoutNodes(layout).map((n) => n.container)).toEqual(['spts-test-n0', 'spts-test-n1', 'spts-test-n2']);
  });

  it('gives each daemon its image, name and address, and the client its own', () => {
    const y = composeFile({ ...layout, referencePrefix: '/opt/ref' });
    expect(y).toContain('version: "2.4"');
    expect(y).toMatch(/ {2}n1:\n {4}image: spread-ts\/reference:local\n {4}container_name: spts-test-n1\n/);
    expect(y).toContain('command: ["-c", "/etc/spread/spread.conf", "-n", "n2"]');
    expect(y).toContain('ring: { ipv4_address: 10.214.9.13 }');
    expect(y).toContain('ring: { ipv4_address: 10.214.9.250 }');
    expect(y).toContain('  - /opt/ref:/opt/spread-ref:ro');
    expect(y).toContain('        - subnet: 10.214.9.0/24');
    expect(composeFile(layout)).not.toContain('/opt/spread-ref');
  });

  const compose = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p));
  if (compose === undefined) console.log('SKIP: matrix: compose file validation: docker-compose not installed');
  it.skipIf(compose === undefined)('is a valid compose file for docker-compose', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spts-compose-'));
    try {
      const file = writeRing(dir, layout);
      expect(readFileSync(join(dir, 'spread.conf'), 'utf8')).toBe(ringConf(layout));
      const out = execFileSync(compose as string, ['-f', file, 'config', '--services'], { encoding: 'utf8', timeout: 30_000 });
      expect(out.trim().split('\n').sort()).toEqual(['client', 'n0', 'n1', 'n2']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('transcripts', () => {
  it('masks the membership time of group ids only', () => {
    expect(maskLine('REG_MEMB join (#a#n0) g id 181843211:1796621677:3 members [#a#n0]')).toBe('REG_MEMB join (#a#n0) g id 181843211:<T>:3 members [#a#n0]');
    expect(maskLine('msg agreed from #a#n0 to g: id 1:2:3')).toBe('msg agreed from #a#n0 to g: id 1:<T>:3');
    expect(maskLine('TRANSITION g id -')).toBe('TRANSITION g id -');
  });

  it('names the first differing line', () => {
    expect(transcriptDiff({ a: ['x', 'y'] }, { a: ['x', 'y'] })).toBe('');
    expect(transcriptDiff({ a: ['x', 'z'] }, { a: ['x', 'y'] })).toBe('a line 1: reference ring "y", this ring "z"');
    expect(transcriptDiff({ a: ['x'] }, { a: ['x'], b: ['w'] })).toBe('b line 0: reference ring "w", this ring "(none)"');
  });
});

describe('reports', () => {
  const cells: Cell[] = [
    { arrangement: 'ORO', scenario: 'formation', status: 'pass', formationMs: 2345, durationMs: 2400, compared: 'all clients agree' },
    { arrangement: 'ORO', scenario: 'kill-restart n1 (R)', status: 'fail', recoveryMs: [4000, 7100], durationMs: 12_000, reason: 'views differ <a & b>\nmore' },
    { arrangement: 'OOO', scenario: 'reload', status: 'skip', reason: 'not yet' },
  ];

  it('prints a table and a closing line', () => {
    const t = textTable(cells);
    expect(t.split('\n')[0]).toMatch(/^ring +scenario +result +formation +recovery +compared \/ reason$/);
    expect(t).toContain('2.3 s');
    expect(t).toContain('4.0 s / 7.1 s');
    expect(summaryLine(cells)).toBe('matrix cells: 1 pass, 1 fail, 1 skip');
  });

  it('writes markdown with the failures in full', () => {
    const md = markdown(cells, 'T');
    expect(md).toContain('| ORO | kill-restart n1 (R) | FAIL |  | 4.0 s / 7.1 s | views differ <a & b> |');
    expect(md).toContain('### ORO / kill-restart n1 (R)\n\n```\nviews differ <a & b>\nmore\n```');
  });

  it('writes JUnit XML: a suite per ring, failures and skips, escaped', () => {
    const x = junit(cells, 'T');
    expect(x).toContain('<testsuites name="T" tests="3" failures="1" skipped="1" time="14.400">');
    expect(x).toContain('<testsuite name="ORO" tests="2" failures="1" skipped="0" time="14.400">');
    expect(x).toContain('<testcase classname="interop.ORO" name="formation" time="2.400"/>');
    expect(x).toContain('<failure message="views differ &lt;a &amp; b&gt;">views differ &lt;a &amp; b&gt;\nmore</failure>');
    expect(x).toContain('<skipped message="not yet"/>');
  });
});
