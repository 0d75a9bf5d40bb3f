// Applies parsed patch operations to file contents. Pure: reads go through a callback and the result
// is a list of writes, so a patch is checked completely before anything touches the workspace
// (all-or-nothing). Context matching is exact first, then insensitive to trailing whitespace;
// anything looser could silently edit the wrong place.
import type { PatchOp, UpdateChunk } from './parse';

export interface FileWrite {
  path: string;
  /** null deletes the file. */
  content: string | null;
}

export interface PlannedPatch {
  writes: FileWrite[];
  /** One line per file for the model: "A path", "M path", "D path", "R old -> new". */
  summary: string[];
}

export type PlanResult = { ok: true; plan: PlannedPatch } | { ok: false; error: string };

/** Returns the file's text, or null when it does not exist. Throws for paths outside the workspace. */
export type ReadText = (path: string) => Promise<string | null>;

export async function planPatch(ops: PatchOp[], read: ReadText): Promise<PlanResult> {
  // Later operations see the results of earlier ones on the same path.
  const state = new Map<string, string | null>();
  const current = async (path: string) => (state.has(path) ? state.get(path)! : await read(path));
  const summary: string[] = [];
  for (const op of ops) {
    const existing = await current(op.path);
    if (op.kind === 'add') {
      if (existing !== null) {
        return { ok: false, error: `Cannot add ${op.path}: it already exists. Use '*** Update File: ${op.path}' to change it.` };
      }
      state.set(op.path, op.lines.length ? op.lines.join('\n') + '\n' : '');
      summary.push(`A ${op.path}`);
    } else if (op.kind === 'delete') {
      if (existing === null) return { ok: false, error: `Cannot delete ${op.path}: no such file.` };
      state.set(op.path, null);
      summary.push(`D ${op.path}`);
    } else {
      if (existing === null) {
        return { ok: false, error: `Cannot update ${op.path}: no such file. Use '*** Add File: ${op.path}' to create it.` };
      }
      const updated = applyChunks(op.path, existing, op.chunks);
      if (!updated.ok) return updated;
      if (op.moveTo !== undefined && op.moveTo !== op.path) {
        if ((await current(op.moveTo)) !== null) {
          return { ok: false, error: `Cannot move ${op.path} to ${op.moveTo}: the destination already exists.` };
        }
        state.set(op.path, null);
        state.set(op.moveTo, updated.content);
        summary.push(`R ${op.path} -> ${op.moveTo}`);
      } else {
        state.set(op.path, updated.content);
        summary.push(`M ${op.path}`);
      }
    }
  }
  const writes = [...state.entries()].map(([path, content]) => ({ path, content }));
  return { ok: true, plan: { writes, summary } };
}

type Match = (a: string, b: string) => boolean;
const MATCHERS: Match[] = [(a, b) => a === b, (a, b) => a.trimEnd() === b.trimEnd()];

/** Index where `pattern` occurs in `lines` at or after `start`, or -1. */
export function seekLines(lines: string[], pattern: string[], start: number, atEnd: boolean): number {
  if (pattern.length === 0) return start;
  if (pattern.length > lines.length) return -1;
  const fits = (at: number, eq: Match) => pattern.every((p, k) => eq(lines[at + k]!, p));
  for (const eq of MATCHERS) {
    if (atEnd) {
      const at = lines.length - pattern.length;
      if (at >= start && fits(at, eq)) return at;
    }
    for (let at = start; at + pattern.length <= lines.length; at++) if (fits(at, eq)) return at;
  }
  return -1;
}

function showLines(lines: string[]): string {
  const shown = lines.slice(0, 12).map((l) => `  ${l}`);
  if (lines.length > 12) shown.push(`  … (${lines.length - 12} more lines)`);
  return shown.join('\n');
}

export function applyChunks(
  path: string,
  original: string,
  chunks: UpdateChunk[],
): { ok: true; content: string } | { ok: false; error: string } {
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const finalNewline = original.length === 0 || original.endsWith('\n');
  const lines = original.split(/\r?\n/);
  if (finalNewline) lines.pop();
  const edits: Array<{ at: number; remove: number; insert: string[] }> = [];
  let cursor = 0;
  for (const chunk of chunks) {
    if (chunk.anchor !== undefined) {
      const at = seekLines(lines, [chunk.anchor], cursor, false);
      if (at < 0) {
        return {
          ok: false,
          error: `Anchor line not found in ${path} after line ${cursor + 1}: "@@ ${chunk.anchor}". Read the file again (read_file) and use a line that exists exactly.`,
        };
      }
      cursor = at + 1;
    }
    let oldLines = chunk.oldLines;
    let newLines = chunk.newLines;
    if (oldLines.length === 0) {
      // Pure insertion: after the anchor when there is one, else at the end of the file.
      edits.push({ at: chunk.anchor !== undefined ? cursor : lines.length, remove: 0, insert: newLines });
      continue;
    }
    let at = seekLines(lines, oldLines, cursor, chunk.endOfFile);
    if (at < 0 && oldLines[oldLines.length - 1] === '') {
      // A trailing blank context line often stands for the end of the file.
      oldLines = oldLines.slice(0, -1);
      if (newLines[newLines.length - 1] === '') newLines = newLines.slice(0, -1);
      at = seekLines(lines, oldLines, cursor, chunk.endOfFile);
    }
    if (at < 0) {
      return {
        ok: false,
        error: `Context not found in ${path} near line ${cursor + 1}:\n${showLines(oldLines)}\nThe lines marked ' ' and '-' must match the file exactly. Read the file again (read_file) and retry with lines copied from it.`,
      };
    }
    edits.push({ at, remove: oldLines.length, insert: newLines });
    cursor = at + oldLines.length;
  }
  // Bottom-up so earlier indexes stay valid; at equal positions the later hunk goes first.
  const order = edits.map((e, n) => ({ ...e, n })).sort((a, b) => b.at - a.at || b.n - a.n);
  for (const edit of order) lines.splice(edit.at, edit.remove, ...edit.insert);
  if (lines.length === 0) return { ok: true, content: '' };
  return { ok: true, content: lines.join(eol) + (finalNewline ? eol : '') };
}
