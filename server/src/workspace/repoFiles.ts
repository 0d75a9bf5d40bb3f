// Reads what a task needs to know about the user's repository (top, HEAD, branch, origin URL)
// straight from its .git directory: two or three small file reads instead of two git processes
// (each ~8–15 ms here, on the path to the task's first command). Anything out of the ordinary —
// a worktree or submodule (.git is a file), a shared common dir, an unborn branch, config
// includes, quoted values — returns null and the caller asks git.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface RepoFacts {
  top: string;
  indexPath: string;
  objectsPath: string;
  /** The commit HEAD points at. */
  head: string;
  /** refs/heads/<branch>, or null when HEAD is detached. */
  symbolic: string | null;
  /** remote.origin.url, or null when there is none. */
  originUrl: string | null;
}

/** A full object id: SHA-1 or SHA-256. */
export const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const SAFE_REF = /^refs\/heads\/[A-Za-z0-9._/-]+$/;

async function readText(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

export async function readRepoFacts(top: string): Promise<RepoFacts | null> {
  const gitDir = join(top, '.git');
  const st = await stat(gitDir).catch(() => null);
  if (!st?.isDirectory()) return null;
  const [headText, config, commonDir] = await Promise.all([readText(join(gitDir, 'HEAD')), readText(join(gitDir, 'config')), stat(join(gitDir, 'commondir')).catch(() => null)]);
  if (headText === null || config === null || commonDir) return null;
  const headLine = headText.trim();
  let head: string | null;
  let symbolic: string | null = null;
  if (OBJECT_ID.test(headLine)) {
    head = headLine;
  } else {
    const ref = /^ref: (\S+)$/.exec(headLine)?.[1];
    if (!ref || !SAFE_REF.test(ref) || ref.split('/').some((part) => part === '..' || part === '.')) return null;
    symbolic = ref;
    head = await resolveRef(gitDir, ref);
  }
  if (!head) return null;
  const originUrl = originOf(config);
  if (originUrl === undefined) return null;
  return { top, indexPath: join(gitDir, 'index'), objectsPath: join(gitDir, 'objects'), head, symbolic, originUrl };
}

async function resolveRef(gitDir: string, ref: string): Promise<string | null> {
  const loose = (await readText(join(gitDir, ref)))?.trim();
  if (loose !== undefined) return OBJECT_ID.test(loose) ? loose : null;
  const packed = await readText(join(gitDir, 'packed-refs'));
  if (packed === null) return null;
  for (const line of packed.split('\n')) {
    const [id, name] = line.split(' ');
    if (name === ref && id && OBJECT_ID.test(id)) return id;
  }
  return null;
}

/**
 * remote.origin.url from the repository's config file; null when there is none; undefined when
 * the file does something this reader does not follow (includes, quoting, escapes).
 */
export function originOf(config: string): string | null | undefined {
  let section = '';
  let url: string | null = null;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"([^"\\]*)")?\s*\]$/.exec(line);
      if (!header) return undefined;
      const name = header[1]!.toLowerCase();
      if (name === 'include' || name === 'includeif') return undefined;
      section = header[2] === undefined ? name : `${name}.${header[2]}`;
      continue;
    }
    if (section !== 'remote.origin') continue;
    const entry = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!entry) return undefined;
    if (entry[1]!.toLowerCase() !== 'url') continue;
    const value = entry[2] ?? '';
    if (/["\\]/.test(value) || /\s[#;]/.test(value)) return undefined;
    // Later values win for single-valued keys, as git config --get reports.
    url = value.trim();
  }
  return url;
}
