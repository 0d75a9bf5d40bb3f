// read_file, list_files, search: read-only views of the workspace through the confined file API
// (never through the host file system directly, so paths cannot leave the workspace).
import { z } from 'zod';
import { clipLine } from '../truncate';
import { defineTool, describeFileError, normalizeToolPath } from './types';

export const READ_MAX_LINES = 2000;
export const READ_MAX_CHARS = 60_000;
const LINE_CAP = 2000;
const LIST_LIMIT = 1000;
const SEARCH_LIMIT = 200;

const ReadArgs = z.object({
  path: z.string().min(1).describe('File path relative to the repository root.'),
  start_line: z.number().int().min(1).optional().describe('First line to show (1-based). Default 1.'),
  end_line: z.number().int().min(1).optional().describe('Last line to show (inclusive). Default: the end, within the size cap.'),
});

export const readFileTool = defineTool<z.infer<typeof ReadArgs>>({
  name: 'read_file',
  description: `Read a text file with line numbers. Shows at most ${READ_MAX_LINES} lines / ${READ_MAX_CHARS} characters per call; use start_line/end_line for the rest.`,
  schema: ReadArgs,
  changesFiles: false,
  async run(args, ctx) {
    const path = normalizeToolPath(args.path);
    let data: Buffer;
    try {
      data = await ctx.files.readFile(path);
    } catch (err) {
      return { ok: false, output: describeFileError(err, path || '.') };
    }
    if (data.subarray(0, 8192).includes(0)) {
      return { ok: false, output: `${path} is a binary file (${data.length} bytes); it cannot be shown as text.` };
    }
    const lines = data.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const total = lines.length;
    if (total === 0) return { ok: true, output: `(${path} is empty)` };
    const from = args.start_line ?? 1;
    if (from > total) return { ok: false, output: `${path} has only ${total} lines; start_line ${from} is past the end.` };
    const to = Math.min(total, args.end_line ?? total, from + READ_MAX_LINES - 1);
    const out: string[] = [];
    let chars = 0;
    let last = from - 1;
    for (let n = from; n <= to; n++) {
      const line = `${String(n).padStart(6)}\t${clipLine(lines[n - 1]!.replace(/\r$/, ''), LINE_CAP)}`;
      if (chars + line.length > READ_MAX_CHARS && out.length > 0) break;
      out.push(line);
      chars += line.length + 1;
      last = n;
    }
    if (last < total) out.push(`[showing lines ${from}-${last} of ${total}; call read_file with start_line=${last + 1} to continue]`);
    return { ok: true, output: out.join('\n') };
  },
});

const ListArgs = z.object({
  path: z.string().optional().describe('Directory relative to the repository root. Default: the root.'),
  recursive: z.boolean().optional().describe('Include subdirectories (git-ignored files are left out). Default true.'),
});

export const listFilesTool = defineTool<z.infer<typeof ListArgs>>({
  name: 'list_files',
  description: `List files under a directory of the repository (respects .gitignore; at most ${LIST_LIMIT} entries).`,
  schema: ListArgs,
  changesFiles: false,
  async run(args, ctx) {
    const dir = normalizeToolPath(args.path);
    try {
      const { entries, truncated } = await ctx.files.list({ dir: dir || undefined, recursive: args.recursive ?? true, limit: LIST_LIMIT });
      if (entries.length === 0) return { ok: true, output: '(no files)' };
      const note = truncated ? `\n[only the first ${entries.length} entries; list a subdirectory to see more]` : '';
      return { ok: true, output: entries.join('\n') + note };
    } catch (err) {
      return { ok: false, output: describeFileError(err, dir || '.') };
    }
  },
});

const SearchArgs = z.object({
  pattern: z.string().min(1).describe('Extended regular expression (or a literal with fixed=true).'),
  path: z.string().optional().describe('Only search under this directory or path glob.'),
  fixed: z.boolean().optional().describe('Treat the pattern as a literal string. Default false.'),
});

export const searchTool = defineTool<z.infer<typeof SearchArgs>>({
  name: 'search',
  description: `Search file contents in the repository (like git grep -E). Returns path:line: text for up to ${SEARCH_LIMIT} matches.`,
  schema: SearchArgs,
  changesFiles: false,
  async run(args, ctx) {
    const path = normalizeToolPath(args.path);
    try {
      const { matches, truncated } = await ctx.files.search(args.pattern, {
        fixed: args.fixed ?? false,
        path: path || undefined,
        maxResults: SEARCH_LIMIT,
      });
      if (matches.length === 0) return { ok: true, output: 'No matches.' };
      const lines = matches.map((m) => `${m.path}:${m.line}: ${clipLine(m.text, 300)}`);
      if (truncated) lines.push(`[only the first ${matches.length} matches; narrow the pattern or the path]`);
      return { ok: true, output: lines.join('\n') };
    } catch (err) {
      return { ok: false, output: describeFileError(err, `search ${JSON.stringify(args.pattern)}`) };
    }
  },
});
