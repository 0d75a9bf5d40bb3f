// Which hunk a cursor line of the agent's side belongs to (for keybindings and editor actions).
import type { FileDiff } from '../../protocol';

/** The hunk containing a 1-based line of the agent's side, else the next one below, else the last. */
export function hunkAt(file: FileDiff, line: number): number | undefined {
  let fallback: number | undefined;
  for (let i = 0; i < file.hunks.length; i++) {
    const h = file.hunks[i]!;
    const end = h.newStart + Math.max(h.newLines, 1) - 1;
    if (line >= h.newStart && line <= end) return i;
    if (fallback === undefined && h.newStart > line) fallback = i;
  }
  return fallback ?? (file.hunks.length ? file.hunks.length - 1 : undefined);
}
