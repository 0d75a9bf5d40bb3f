// Parser for the Codex patch format that OpenAI's coding models are trained to write:
//
//   *** Begin Patch
//   *** Add File: path        (+lines)
//   *** Delete File: path
//   *** Update File: path
//   *** Move to: new/path     (optional)
//   @@ optional anchor line   (then ' ' context, '-' removed, '+' added lines)
//   *** End of File           (optional: the hunk ends at the end of the file)
//   *** End Patch
//
// Strict on structure (every line must mean something) so a malformed patch fails with a message
// the model can act on instead of being half-applied.

export interface UpdateChunk {
  /** Text after `@@ `: a line to find first; the hunk is searched after it. */
  anchor?: string;
  oldLines: string[];
  newLines: string[];
  /** `*** End of File` followed the hunk. */
  endOfFile: boolean;
}

export type PatchOp =
  | { kind: 'add'; path: string; lines: string[] }
  | { kind: 'delete'; path: string }
  | { kind: 'update'; path: string; moveTo?: string; chunks: UpdateChunk[] };

export type ParseResult = { ok: true; ops: PatchOp[] } | { ok: false; error: string };

const BEGIN = '*** Begin Patch';
const END = '*** End Patch';
const ADD = '*** Add File: ';
const DELETE = '*** Delete File: ';
const UPDATE = '*** Update File: ';
const MOVE = '*** Move to: ';
const EOF_MARK = '*** End of File';

function isFileHeader(line: string): boolean {
  return line.startsWith(ADD) || line.startsWith(DELETE) || line.startsWith(UPDATE) || line.trim() === END;
}

/** Models sometimes wrap the patch in the shell heredoc they saw in training; accept that wrapper. */
function unwrapHeredoc(lines: string[]): string[] {
  const first = lines[0]?.trim() ?? '';
  const m = /^(?:apply_patch\s*)?<<-?\s*['"]?([A-Za-z_]+)['"]?\s*$/.exec(first);
  if (m && lines.length >= 2 && lines[lines.length - 1]?.trim() === m[1]) return lines.slice(1, -1);
  return lines;
}

export function parsePatch(text: string): ParseResult {
  let lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length && lines[0]!.trim() === '') lines.shift();
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  lines = unwrapHeredoc(lines);
  if (lines[0]?.trim() !== BEGIN) {
    return { ok: false, error: `The patch must start with '${BEGIN}' on its own line.` };
  }
  if (lines[lines.length - 1]?.trim() !== END || lines.length < 2) {
    return { ok: false, error: `The patch must end with '${END}' on its own line.` };
  }
  const ops: PatchOp[] = [];
  let i = 1;
  const last = lines.length - 1;
  const fail = (lineIndex: number, msg: string): ParseResult => ({
    ok: false,
    error: `Invalid patch, line ${lineIndex + 1}: ${msg}`,
  });

  while (i < last) {
    const line = lines[i]!;
    if (line.startsWith(ADD)) {
      const path = line.slice(ADD.length).trim();
      if (!path) return fail(i, 'missing path after "*** Add File:".');
      const body: string[] = [];
      i++;
      while (i < last && !isFileHeader(lines[i]!)) {
        const l = lines[i]!;
        if (!l.startsWith('+')) return fail(i, `every line of an added file must start with '+', got: ${JSON.stringify(l)}`);
        body.push(l.slice(1));
        i++;
      }
      ops.push({ kind: 'add', path, lines: body });
    } else if (line.startsWith(DELETE)) {
      const path = line.slice(DELETE.length).trim();
      if (!path) return fail(i, 'missing path after "*** Delete File:".');
      ops.push({ kind: 'delete', path });
      i++;
    } else if (line.startsWith(UPDATE)) {
      const path = line.slice(UPDATE.length).trim();
      if (!path) return fail(i, 'missing path after "*** Update File:".');
      i++;
      let moveTo: string | undefined;
      if (i < last && lines[i]!.startsWith(MOVE)) {
        moveTo = lines[i]!.slice(MOVE.length).trim();
        if (!moveTo) return fail(i, 'missing path after "*** Move to:".');
        i++;
      }
      const chunks: UpdateChunk[] = [];
      let current: UpdateChunk | undefined;
      while (i < last && !isFileHeader(lines[i]!)) {
        const l = lines[i]!;
        if (l === '@@' || l.startsWith('@@ ')) {
          const anchor = l.slice(2).trim();
          current = { anchor: anchor || undefined, oldLines: [], newLines: [], endOfFile: false };
          chunks.push(current);
        } else if (l.trim() === EOF_MARK) {
          if (!current) return fail(i, `'${EOF_MARK}' must follow a hunk.`);
          current.endOfFile = true;
        } else if (l.startsWith(' ') || l.startsWith('-') || l.startsWith('+') || l === '') {
          if (current?.endOfFile) {
            return fail(i, `no lines may follow '${EOF_MARK}' within a hunk; start a new hunk with '@@'.`);
          }
          if (!current) {
            // The first hunk of a file may omit its '@@' line.
            current = { oldLines: [], newLines: [], endOfFile: false };
            chunks.push(current);
          }
          const kind = l[0] ?? ' ';
          const content = l.slice(1);
          if (kind !== '+') current.oldLines.push(content);
          if (kind !== '-') current.newLines.push(content);
        } else {
          return fail(
            i,
            `unexpected line in the hunk for ${path}: ${JSON.stringify(l)}. Every hunk line must start with ' ' (context), '-' (remove) or '+' (add); hunks start with '@@'.`,
          );
        }
        i++;
      }
      for (const [n, c] of chunks.entries()) {
        if (c.oldLines.length === 0 && c.newLines.length === 0) {
          return fail(i - 1, `hunk ${n + 1} for ${path} is empty.`);
        }
      }
      if (chunks.length === 0 && moveTo === undefined) return fail(i - 1, `'*** Update File: ${path}' has no hunks.`);
      ops.push({ kind: 'update', path, moveTo, chunks });
    } else {
      return fail(i, `expected '${ADD}', '${DELETE}', '${UPDATE}' or '${END}', got: ${JSON.stringify(line)}`);
    }
  }
  if (ops.length === 0) return { ok: false, error: 'The patch contains no file operations.' };
  return { ok: true, ops };
}
