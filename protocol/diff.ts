// Unified diffs as git prints them, split into files and hunks, and rebuilt from a chosen subset of
// hunks. The review (extension) and the pull request (server) number hunks the same way.

export interface DiffHunk {
  /** 1-based start line and line count in the old and the new file. */
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  header: string;
  /** Body lines with their ' ', '+', '-' or '\' prefix. */
  lines: string[];
}

export interface FileDiff {
  /** Path after the change (before it, for a deletion). */
  path: string;
  oldPath: string | null;
  newPath: string | null;
  status: 'added' | 'modified' | 'deleted' | 'renamed';
  binary: boolean;
  /** The `diff --git` line and extended headers up to (not including) the first hunk. */
  headerLines: string[];
  hunks: DiffHunk[];
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;

function stripPrefix(raw: string): string | null {
  // git ends ---/+++ names that contain spaces with a tab.
  const p = raw.replace(/\t$/, '');
  if (p === '/dev/null') return null;
  const unquoted = p.startsWith('"') ? JSON.parse(p) as string : p;
  return unquoted.replace(/^[ab]\//, '');
}

export function parseUnifiedDiff(text: string): FileDiff[] {
  const files: FileDiff[] = [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let file: FileDiff | null = null;
  let hunk: DiffHunk | null = null;
  for (const line of lines) {
    if (line.startsWith('diff --git ')) {
      const m = /^diff --git (?:"a\/(.+)"|a\/(\S+)) (?:"b\/(.+)"|b\/(\S+))$/.exec(line);
      const a = m ? (m[1] ?? m[2] ?? null) : null;
      const b = m ? (m[3] ?? m[4] ?? null) : null;
      file = { path: b ?? a ?? '', oldPath: a, newPath: b, status: 'modified', binary: false, headerLines: [line], hunks: [] };
      files.push(file);
      hunk = null;
      continue;
    }
    if (!file) continue;
    const hm = HUNK_RE.exec(line);
    if (hm) {
      hunk = {
        oldStart: Number(hm[1]),
        oldLines: hm[2] === undefined ? 1 : Number(hm[2]),
        newStart: Number(hm[3]),
        newLines: hm[4] === undefined ? 1 : Number(hm[4]),
        header: line,
        lines: [],
      };
      file.hunks.push(hunk);
      continue;
    }
    if (hunk) {
      if (line.startsWith(' ') || line.startsWith('+') || line.startsWith('-') || line.startsWith('\\') || line === '') {
        hunk.lines.push(line === '' ? ' ' : line);
      }
      continue;
    }
    file.headerLines.push(line);
    if (line.startsWith('new file mode')) file.status = 'added';
    else if (line.startsWith('deleted file mode')) file.status = 'deleted';
    else if (line.startsWith('rename from ')) file.status = 'renamed';
    else if (line.startsWith('Binary files ') || line === 'GIT binary patch') file.binary = true;
    else if (line.startsWith('--- ')) file.oldPath = stripPrefix(line.slice(4));
    else if (line.startsWith('+++ ')) file.newPath = stripPrefix(line.slice(4));
  }
  for (const f of files) {
    if (f.status === 'deleted') f.newPath = null;
    if (f.status === 'added') f.oldPath = null;
    f.path = f.newPath ?? f.oldPath ?? f.path;
  }
  return files;
}

/**
 * Rebuild a patch (for `git apply`) from the chosen hunks of each file. Hunks left out are dropped
 * and the line numbers of later hunks are shifted so the patch applies to the old file.
 * `choose(file)` returns the hunk indexes to keep, 'all', or 'none'.
 */
export function selectHunks(files: FileDiff[], choose: (file: FileDiff) => 'all' | 'none' | number[]): string {
  const out: string[] = [];
  for (const file of files) {
    const choice = choose(file);
    if (choice === 'none') continue;
    if (choice === 'all' || file.hunks.length === 0) {
      if (choice !== 'all' && file.hunks.length === 0) continue;
      out.push(...file.headerLines);
      for (const h of file.hunks) out.push(h.header, ...h.lines);
      continue;
    }
    const keep = new Set(choice);
    const kept = file.hunks.filter((_, i) => keep.has(i));
    if (kept.length === 0) continue;
    // A partial add/delete is a modification of an empty/partial file: only whole-file choices keep
    // the new/deleted mode lines.
    if ((file.status === 'added' || file.status === 'deleted') && kept.length !== file.hunks.length) {
      throw new Error(`${file.path}: a ${file.status} file can only be taken whole`);
    }
    out.push(...file.headerLines);
    let shift = 0;
    for (let i = 0; i < file.hunks.length; i++) {
      const h = file.hunks[i]!;
      if (!keep.has(i)) {
        shift -= h.newLines - h.oldLines;
        continue;
      }
      const newStart = h.newStart + shift;
      out.push(`@@ -${formatRange(h.oldStart, h.oldLines)} +${formatRange(newStart, h.newLines)} @@${h.header.replace(HUNK_RE, '$5')}`);
      out.push(...h.lines);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** A review's decisions as protocol/api.ts's AcceptSpec carries them (structurally, to keep this module free of zod). */
export interface HunkDecisions {
  /** A file absent is not taken; `hunks` omitted takes the whole file. */
  files: ReadonlyArray<{ path: string; hunks?: readonly number[] }>;
}

export type AcceptedHunks = { ok: true; hunks: Map<FileDiff, 'all' | number[]> } | { ok: false; message: string };

/**
 * What a review's decisions mean for a diff: the hunks taken of each file ('all' for a whole file,
 * binary and pure renames included). No decisions (undefined) take everything. The pull request
 * (server) and Apply (extension) both go through this, so they never disagree about a decision.
 */
export function acceptedHunks(files: readonly FileDiff[], decisions: HunkDecisions | undefined): AcceptedHunks {
  const hunks = new Map<FileDiff, 'all' | number[]>();
  if (!decisions) {
    for (const f of files) hunks.set(f, 'all');
    return { ok: true, hunks };
  }
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const d of decisions.files) {
    const file = byPath.get(d.path);
    if (!file) return { ok: false, message: `${d.path} is not among the task's changed files` };
    if (d.hunks === undefined) {
      hunks.set(file, 'all');
      continue;
    }
    const bad = d.hunks.find((h) => !Number.isInteger(h) || h < 0 || h >= file.hunks.length);
    if (bad !== undefined) return { ok: false, message: `${file.path} has no hunk ${bad}` };
    hunks.set(file, [...new Set(d.hunks)].sort((a, b) => a - b));
  }
  return { ok: true, hunks };
}

function formatRange(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}

/**
 * Apply some hunks of one file's diff to the old text. Returns the new text, or null when the old
 * text does not match the hunks' context (the caller reports a conflict).
 */
export function applyHunks(oldText: string, hunks: DiffHunk[]): string | null {
  const eol = oldText.includes('\r\n') ? '\r\n' : '\n';
  const oldLines = oldText.length === 0 ? [] : oldText.split(/\r?\n/);
  const oldEndsWithNewline = oldText.endsWith('\n');
  if (oldEndsWithNewline) oldLines.pop();
  const result: string[] = [];
  let cursor = 0; // index into oldLines
  let newEndsWithNewline = oldText.length === 0 || oldEndsWithNewline;
  for (const h of [...hunks].sort((a, b) => a.oldStart - b.oldStart)) {
    const start = h.oldLines === 0 ? h.oldStart : h.oldStart - 1;
    if (start < cursor) return null;
    result.push(...oldLines.slice(cursor, start));
    cursor = start;
    let prev: string | null = null;
    for (const line of h.lines) {
      const tag = line[0];
      const body = line.slice(1);
      if (tag === '\\') {
        if (prev === '+') newEndsWithNewline = false;
        else if (prev === '-') newEndsWithNewline = true;
        else newEndsWithNewline = false;
        continue;
      }
      if (tag === ' ' || tag === '-') {
        if (oldLines[cursor] !== body) return null;
        cursor++;
        if (tag === ' ') result.push(body);
      } else if (tag === '+') {
        result.push(body);
      }
      prev = tag ?? null;
    }
  }
  result.push(...oldLines.slice(cursor));
  if (result.length === 0) return '';
  return result.join(eol) + (newEndsWithNewline ? eol : '');
}
