/**
 * Interop harness, part 3: normalise tool outputs (ports, generated names, times) so runs
 * against different daemons — or by different implementations of a tool — can be compared
 * line by line, and a small line diff to show what differs.
 */

export interface NormaliseOptions {
  /** Daemon addresses (e.g. `'24803'`, `'24803@127.0.0.1'`) replaced by `<SPREAD>`. */
  spreads?: string[];
  /** Replace `Polling sais: N` counts by `<N>` (byte counts depend on socket buffering). */
  pollCounts?: boolean;
  /** The client connected with a generated private name: replace it whatever its shape. */
  randomPrivate?: boolean;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Normalises one tool transcript:
 *  - the daemon address in `connected to X` / `connecting to X` lines → `<SPREAD>`;
 *  - the membership time in `grp id is IP TIME N` → `<T>`;
 *  - a private name the daemon generated for a `-r` (random name) client → `<RANDOM>`;
 *  - CRLF → LF.
 */
export function normalise(text: string, opts: NormaliseOptions = {}): string {
  let t = text.replace(/\r\n/g, '\n');
  for (const s of [...(opts.spreads ?? [])].sort((a, b) => b.length - a.length)) {
    t = t.replace(new RegExp(`(connected to |connecting to )${escapeRe(s)}(?=[ \\n])`, 'g'), '$1<SPREAD>');
  }
  t = t.replace(/^(grp id is -?\d+) -?\d+ (-?\d+)$/gm, '$1 <T> $2');
  // Random private names: with an empty user name (spuser -r) the daemon makes one up (the
  // reference gives `#r<digits>-<digits>#host`). Map it everywhere to `<RANDOM>`.
  const m = /with private group (#[^#\s]*#\S+)/.exec(t);
  const priv = m?.[1];
  if (priv !== undefined && (opts.randomPrivate === true || /^#r[\d-]+#/.test(priv))) t = t.split(priv).join('<RANDOM>');
  if (opts.pollCounts === true) t = t.replace(/^(User> )?Polling sais: -?\d+$/gm, '$1Polling sais: <N>');
  return t;
}

export type DiffLine = { op: ' ' | '-' | '+'; text: string };

/** Line diff (LCS). Inputs are bounded: above 4000×4000 lines it compares line by line. */
export function diffLines(a: string, b: string): DiffLine[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  if (n * m > 16_000_000) {
    const out: DiffLine[] = [];
    for (let i = 0; i < Math.max(n, m); i++) {
      if (x[i] === y[i]) out.push({ op: ' ', text: x[i] ?? '' });
      else {
        if (i < n) out.push({ op: '-', text: x[i] ?? '' });
        if (i < m) out.push({ op: '+', text: y[i] ?? '' });
      }
    }
    return out;
  }
  // lcs[i][j] = LCS length of x[i..] and y[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const next = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) {
      row[j] = x[i] === y[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: ' ', text: x[i] as string });
      i++;
      j++;
    } else if (((lcs[i + 1] as Uint32Array)[j] as number) >= ((lcs[i] as Uint32Array)[j + 1] as number)) {
      out.push({ op: '-', text: x[i] as string });
      i++;
    } else {
      out.push({ op: '+', text: y[j] as string });
      j++;
    }
  }
  for (; i < n; i++) out.push({ op: '-', text: x[i] as string });
  for (; j < m; j++) out.push({ op: '+', text: y[j] as string });
  return out;
}

/** A unified-style rendering: only changed lines with `context` lines around them. */
export function formatDiff(d: DiffLine[], labels: { a: string; b: string }, context = 2): string {
  if (d.every((l) => l.op === ' ')) return '';
  const show = new Array<boolean>(d.length).fill(false);
  d.forEach((l, i) => {
    if (l.op !== ' ') for (let k = Math.max(0, i - context); k <= Math.min(d.length - 1, i + context); k++) show[k] = true;
  });
  const lines = [`--- ${labels.a}`, `+++ ${labels.b}`];
  let gap = false;
  d.forEach((l, i) => {
    if (show[i]) {
      if (gap) lines.push('@@');
      gap = false;
      lines.push(`${l.op}${JSON.stringify(l.text).slice(1, -1)}`);
    } else gap = true;
  });
  return lines.join('\n');
}

/** True when the two texts are equal; otherwise a readable diff. */
export function compareTexts(a: string, b: string, labels: { a: string; b: string }): { equal: boolean; diff: string } {
  if (a === b) return { equal: true, diff: '' };
  return { equal: false, diff: formatDiff(diffLines(a, b), labels) };
}

/** Renders rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}
