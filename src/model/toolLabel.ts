// One readable line per tool call for the timeline ("Edit src/a.ts, add src/b.ts", the command a
// shell call runs, the path read), so the user skims what the agent did instead of raw JSON.
// Pure: the panel and the unit tests use it without VS Code.

const MAX_LABEL = 160;
/** Past this many files a patch label says "and N more" rather than growing without bound. */
const MAX_PATCH_FILES = 4;

export function toolLabel(name: string, args: unknown): string {
  const a = asRecord(args);
  const str = (key: string): string | undefined => (typeof a?.[key] === 'string' && a[key] !== '' ? (a[key]) : undefined);
  switch (name) {
    case 'apply_patch': {
      const text = str('patch') ?? str('input') ?? (typeof args === 'string' ? args : undefined);
      return text === undefined ? 'Patch' : patchLabel(text);
    }
    case 'shell': {
      const command = str('command') ?? str('cmd') ?? joined(a?.command);
      if (command === undefined) return fallback(name, args);
      const dir = str('workdir');
      return clip(`${oneLine(command)}${dir && dir !== '.' ? ` (in ${dir})` : ''}`);
    }
    case 'read_file': {
      const path = str('path');
      if (path === undefined) return fallback(name, args);
      const start = typeof a?.start_line === 'number' ? a.start_line : undefined;
      const end = typeof a?.end_line === 'number' ? a.end_line : undefined;
      const range = start !== undefined || end !== undefined ? `:${start ?? 1}${end !== undefined ? `-${end}` : '-'}` : '';
      return clip(`Read ${path}${range}`);
    }
    case 'list_files':
      return clip(`List ${str('path') ?? '.'}${a?.recursive === false ? '' : ' (recursive)'}`);
    case 'search': {
      const pattern = str('pattern');
      if (pattern === undefined) return fallback(name, args);
      return clip(`Search ${JSON.stringify(pattern)}${str('path') ? ` in ${str('path')}` : ''}`);
    }
    case 'ask_user':
      return clip(`Ask: ${oneLine(str('question') ?? '')}`);
    case 'finish':
      // The summary follows in its own block right below.
      return 'Finish';
    default:
      return fallback(name, args);
  }
}

interface PatchFile {
  verb: 'edit' | 'add' | 'delete' | 'move';
  path: string;
  to?: string;
}

/** The files a '*** Begin Patch' text touches, in order, one entry per file. */
export function patchFiles(patch: string): PatchFile[] {
  const files: PatchFile[] = [];
  for (const raw of patch.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = /^\*\*\* (Add|Delete|Update) File: (.+)$/.exec(line);
    if (m) {
      const verb = m[1] === 'Add' ? 'add' : m[1] === 'Delete' ? 'delete' : 'edit';
      files.push({ verb, path: m[2]!.trim() });
      continue;
    }
    const move = /^\*\*\* Move to: (.+)$/.exec(line);
    const last = files[files.length - 1];
    if (move && last?.verb === 'edit') {
      last.verb = 'move';
      last.to = move[1]!.trim();
    }
  }
  return files;
}

function patchLabel(patch: string): string {
  const files = patchFiles(patch);
  if (files.length === 0) return 'Patch';
  const shown = files.slice(0, MAX_PATCH_FILES).map((f) => (f.verb === 'move' ? `move ${f.path} → ${f.to}` : `${f.verb} ${f.path}`));
  if (files.length > MAX_PATCH_FILES) shown.push(`${files.length - MAX_PATCH_FILES} more file${files.length - MAX_PATCH_FILES === 1 ? '' : 's'}`);
  const text = shown.join(', ');
  return clip(text.charAt(0).toUpperCase() + text.slice(1));
}

function fallback(name: string, args: unknown): string {
  if (args === undefined || args === null) return name;
  if (typeof args === 'string') return clip(`${name} ${oneLine(args)}`);
  const json = JSON.stringify(args) ?? '';
  return clip(json === '{}' ? name : `${name} ${json}`);
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function joined(v: unknown): string | undefined {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? v.join(' ') : undefined;
}

function oneLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines.length > 1 ? `${lines[0]!.trimEnd()} …` : (lines[0] ?? '');
}

function clip(text: string): string {
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}
