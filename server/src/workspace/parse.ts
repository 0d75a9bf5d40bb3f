// Pure helpers: path and key validation and parsers for the git and kernel outputs workspaces read.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { ChangedFile } from '../../../protocol';
import { WorkspacePathError, type SearchMatch } from './types';

/**
 * Splits a path relative to the workspace root into components. Refuses what could name anything
 * outside the workspace: absolute paths, `..`, NUL. `.` and empty components are dropped.
 */
export function splitRelativePath(path: string): string[] {
  if (typeof path !== 'string') throw new WorkspacePathError('path must be a string');
  if (path.includes('\0')) throw new WorkspacePathError(`path contains a NUL byte: ${JSON.stringify(path)}`);
  if (path.startsWith('/')) {
    throw new WorkspacePathError(`${path}: absolute paths are not allowed; use a path relative to the repository root`);
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new WorkspacePathError(`${path}: '..' is not allowed; use a path inside the repository`);
  return parts;
}

/** Workspace keys become directory names and ref names: keep them to a safe alphabet. */
export function validateKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(key) || key.includes('..') || key.endsWith('.lock') || key.endsWith('.')) {
    throw new Error(`invalid workspace key ${JSON.stringify(key)}`);
  }
}

/** Mirror directory name: readable prefix + hash of the identity (path, URL without credentials). */
export function mirrorName(kind: 'local' | 'remote' | 'bundle', identity: string): string {
  const hash = createHash('sha256').update(`${kind}\0${identity}`).digest('hex').slice(0, 16);
  const base = basename(identity.replace(/\.git\/?$/, '').replace(/\/+$/, '')).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
  return `${kind}-${base || 'repo'}-${hash}.git`;
}

/** A URL without user info, for keys and display (tokens never belong in URLs we keep). */
export function stripCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

/**
 * Parses `git diff -z -M --raw --numstat`: raw records (`:modes shas STATUS\0path[\0path]\0`)
 * followed by numstat records (`add\tdel\tpath\0` or `add\tdel\t\0old\0new\0` for renames).
 */
export function parseChanges(out: string): ChangedFile[] {
  const tokens = out.split('\0');
  const files: ChangedFile[] = [];
  const byPath = new Map<string, ChangedFile>();
  let i = 0;
  while (i < tokens.length && tokens[i]!.startsWith(':')) {
    const status = tokens[i]!.split(' ').at(-1) ?? '';
    const letter = status[0];
    if (letter === 'R' || letter === 'C') {
      const oldPath = tokens[i + 1] ?? '';
      const path = tokens[i + 2] ?? '';
      const f: ChangedFile = letter === 'R' ? { path, status: 'renamed', oldPath, additions: 0, deletions: 0 } : { path, status: 'added', additions: 0, deletions: 0 };
      files.push(f);
      byPath.set(path, f);
      i += 3;
      continue;
    }
    const path = tokens[i + 1] ?? '';
    const f: ChangedFile = { path, status: letter === 'A' ? 'added' : letter === 'D' ? 'deleted' : 'modified', additions: 0, deletions: 0 };
    files.push(f);
    byPath.set(path, f);
    i += 2;
  }
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t === '') {
      i++;
      continue;
    }
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(t);
    if (!m) {
      i++;
      continue;
    }
    let path = m[3]!;
    i++;
    if (path === '') {
      // rename: old and new path follow
      path = tokens[i + 1] ?? '';
      i += 2;
    }
    const f = byPath.get(path);
    if (!f) continue;
    if (m[1] === '-') {
      f.binary = true;
    } else {
      f.additions = Number(m[1]);
      f.deletions = Number(m[2]);
    }
  }
  return files;
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/** /proc/self/mountinfo lines → mount point + fs type (octal escapes decoded). */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const fields = left?.split(' ');
    const mountPoint = fields?.[4];
    const fsType = right?.split(' ')[0];
    if (!mountPoint || !fsType) continue;
    out.push({ mountPoint: mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), fsType });
  }
  return out;
}

/** `git grep -z -n` output: `path\0line\0text\n` per match. */
export function parseGrep(out: string, maxResults: number, maxLineChars = 400): { matches: SearchMatch[]; truncated: boolean } {
  const matches: SearchMatch[] = [];
  let truncated = false;
  for (const record of out.split('\n')) {
    if (!record) continue;
    const a = record.indexOf('\0');
    const b = a < 0 ? -1 : record.indexOf('\0', a + 1);
    if (a < 0 || b < 0) continue;
    if (matches.length >= maxResults) {
      truncated = true;
      break;
    }
    let text = record.slice(b + 1);
    if (text.length > maxLineChars) text = text.slice(0, maxLineChars) + '…';
    matches.push({ path: record.slice(0, a), line: Number(record.slice(a + 1, b)), text });
  }
  return { matches, truncated };
}

/**
 * `git ls-files -z -t -c -d -o`: `H path` for tracked, `R path` for tracked-but-deleted (listed in
 * addition to its H line), `? path` for untracked. Returns the files that exist, sorted.
 */
export function parseLsFiles(out: string): string[] {
  const present = new Set<string>();
  const deleted = new Set<string>();
  for (const rec of out.split('\0')) {
    if (rec.length < 3) continue;
    const tag = rec[0];
    const path = rec.slice(2);
    if (tag === 'R') deleted.add(path);
    else present.add(path);
  }
  return [...present].filter((p) => !deleted.has(p)).sort();
}

/** Entries directly under `dir` (files, and sub-directories with a trailing '/'), from a file list. */
export function directChildren(files: string[], dir: string): string[] {
  const prefix = dir ? `${dir}/` : '';
  const seen = new Set<string>();
  for (const f of files) {
    if (!f.startsWith(prefix)) continue;
    const rest = f.slice(prefix.length);
    const slash = rest.indexOf('/');
    seen.add(prefix + (slash < 0 ? rest : rest.slice(0, slash + 1)));
  }
  return [...seen].sort();
}

/** A pathspec that git takes literally unless it contains glob characters. */
export function pathspec(path: string): string {
  const parts = splitRelativePath(path);
  const clean = parts.join('/');
  if (clean === '') return '.';
  return /[*?[]/.test(clean) ? `:(glob)${clean}` : `:(literal)${clean}`;
}
