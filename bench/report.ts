// The Markdown table printed at the end of a run.
import type { Summary } from './stats';

export interface Row {
  figure: string;
  driver: string;
  unit: string;
  s?: Summary | null;
  /** A single value instead of a summary. */
  value?: string;
  /** Target the median (default) or the p95 must meet. */
  target?: number;
  targetOn?: 'median' | 'p95';
  note?: string;
}

function verdict(row: Row): string {
  if (row.target === undefined) return '';
  if (!row.s) return 'no data';
  const on = row.targetOn ?? 'median';
  const value = row.s[on];
  return `${value <= row.target ? 'met' : 'MISSED'} (${on} ≤ ${row.target} ${row.unit})`;
}

export function renderTable(rows: Row[], meta: { loadBefore: number[]; loadAfter: number[]; cores: number; durationS: number; files: number; serverArgs: string[] }): string {
  const lines = [
    `\nDelegate benchmark — ${meta.files.toLocaleString('en')}-file repository, ${meta.cores} cores, load average ${meta.loadBefore.join(' ')} before, ${meta.loadAfter.join(' ')} after, ${meta.durationS} s${meta.serverArgs.length ? `, server flags ${meta.serverArgs.join(' ')}` : ''}\n`,
    '| figure | driver | n | min | median | p95 | target |',
    '|---|---|--:|--:|--:|--:|---|',
  ];
  for (const row of rows) {
    const cells = row.s
      ? [String(row.s.n), `${row.s.min} ${row.unit}`, `${row.s.median} ${row.unit}`, `${row.s.p95} ${row.unit}`]
      : row.value !== undefined
        ? ['', '', row.value, '']
        : ['0', '', 'no data', ''];
    const target = [verdict(row), row.note].filter(Boolean).join('; ');
    lines.push(`| ${row.figure} | ${row.driver} | ${cells.join(' | ')} | ${target} |`);
  }
  return lines.join('\n') + '\n\nFull results: bench/results.json\n';
}
