/**
 * The interop matrix's results (interop/README.md, "The matrix"): one cell per arrangement ×
 * scenario, rendered as a text table, as markdown and as JUnit XML. Pure: no I/O.
 */
import { table } from './compare.js';

export type CellStatus = 'pass' | 'fail' | 'skip';

export interface Cell {
  /** `ORO`, `RRR`, … */
  readonly arrangement: string;
  readonly scenario: string;
  status: CellStatus;
  /** Why it failed or was skipped. */
  reason?: string;
  /** Ring formation (ms from the daemons' start). */
  formationMs?: number;
  /** Recovery times (ms), e.g. kill → ring of N−1 and restart → ring of N. */
  recoveryMs?: number[];
  durationMs?: number;
  /** What the scenario compared: `equal to RRR`, `all clients agree`, … */
  compared?: string;
}

function ms(n: number | undefined): string {
  return n === undefined ? '' : `${(n / 1000).toFixed(1)} s`;
}

function row(c: Cell): string[] {
  const rec = c.recoveryMs === undefined ? '' : c.recoveryMs.map((r) => ms(r)).join(' / ');
  const what = c.status === 'pass' ? (c.compared ?? '') : (c.reason ?? '').split('\n')[0]!.slice(0, 120);
  return [c.arrangement, c.scenario, c.status.toUpperCase(), ms(c.formationMs), rec, what];
}

const HEADER = ['ring', 'scenario', 'result', 'formation', 'recovery', 'compared / reason'];

export function summary(cells: readonly Cell[]): { pass: number; fail: number; skip: number } {
  return {
    pass: cells.filter((c) => c.status === 'pass').length,
    fail: cells.filter((c) => c.status === 'fail').length,
    skip: cells.filter((c) => c.status === 'skip').length,
  };
}

/** The closing line (worded apart from a test runner's count: these are cells, not tests). */
export function summaryLine(cells: readonly Cell[]): string {
  const s = summary(cells);
  return `matrix cells: ${s.pass} pass, ${s.fail} fail, ${s.skip} skip`;
}

export function textTable(cells: readonly Cell[]): string {
  return table(HEADER, cells.map(row));
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdown(cells: readonly Cell[], title: string): string {
  const lines = [`# ${title}`, '', `| ${HEADER.join(' | ')} |`, `| ${HEADER.map(() => '---').join(' | ')} |`];
  for (const c of cells) lines.push(`| ${row(c).map(mdEscape).join(' | ')} |`);
  lines.push('', summaryLine(cells), '');
  const failed = cells.filter((c) => c.status === 'fail');
  if (failed.length > 0) {
    lines.push('## Failures', '');
    for (const c of failed) lines.push(`### ${c.arrangement} / ${c.scenario}`, '', '```', c.reason ?? '', '```', '');
  }
  return lines.join('\n');
}

/** Characters XML 1.0 allows (tab, newline, carriage return, and from space on). */
function xmlChars(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c === 9 || c === 10 || c === 13 || (c >= 0x20 && c !== 0xfffe && c !== 0xffff)) out += ch;
  }
  return out;
}

function xml(s: string): string {
  return xmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JUnit XML: one testsuite per arrangement, one testcase per scenario. */
export function junit(cells: readonly Cell[], name: string): string {
  const byRing = new Map<string, Cell[]>();
  for (const c of cells) byRing.set(c.arrangement, [...(byRing.get(c.arrangement) ?? []), c]);
  const s = summary(cells);
  const total = (cs: readonly Cell[]): string => ((cs.reduce((a, c) => a + (c.durationMs ?? 0), 0)) / 1000).toFixed(3);
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="${xml(name)}" tests="${cells.length}" failures="${s.fail}" skipped="${s.skip}" time="${total(cells)}">`];
  for (const [ring, cs] of byRing) {
    const rs = summary(cs);
    out.push(`  <testsuite name="${xml(ring)}" tests="${cs.length}" failures="${rs.fail}" skipped="${rs.skip}" time="${total(cs)}">`);
    for (const c of cs) {
      const open = `    <testcase classname="interop.${xml(ring)}" name="${xml(c.scenario)}" time="${((c.durationMs ?? 0) / 1000).toFixed(3)}"`;
      if (c.status === 'pass') out.push(`${open}/>`);
      else if (c.status === 'skip') out.push(`${open}>`, `      <skipped message="${xml(c.reason ?? '')}"/>`, '    </testcase>');
      else out.push(`${open}>`, `      <failure message="${xml((c.reason ?? '').split('\n')[0]!)}">${xml(c.reason ?? '')}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
