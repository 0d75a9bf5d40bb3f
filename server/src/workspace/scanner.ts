// The user's uncommitted changes, as a binary patch applied in the task's view. The plain scanner
// asks git every time (`git status`, then a diff of what it named); watchedScanner.ts is a cache
// in front of it, switched on by the server's --repo-watch option.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addPaths, firstLine, repoError, runGit, type GitResult, type GitRun, type Host } from './git';

/** Where the repository's pieces are, once known (readRepoFacts, or git when that cannot tell). */
export interface ScanTarget {
  top: string;
  /** The commit the changes are against; null when there is none (nothing to scan). */
  head: string | null;
  indexPath: string;
  objectsPath: string;
  /** Read straight from .git (a plain repository, not a worktree or one with includes). */
  plain: boolean;
}

export interface ScanContext {
  host: Host;
  /** DATA: scratch space in DATA/tmp. */
  dataDir: string;
  signal?: AbortSignal;
}

export interface UncommittedScanner {
  /**
   * The changes in the work tree at `path` against HEAD ('' when clean). Starts at once: `target`
   * arrives while the scan runs.
   */
  scan(path: string, target: Promise<ScanTarget>, ctx: ScanContext): Promise<string>;
}

/** Asks git every time. */
export class PlainScanner implements UncommittedScanner {
  async scan(path: string, target: Promise<ScanTarget>, ctx: ScanContext): Promise<string> {
    return (await this.scanPaths(path, target, ctx)).patch;
  }

  /** scan(), with the paths git named. */
  async scanPaths(path: string, target: Promise<ScanTarget>, ctx: ScanContext): Promise<{ patch: string; paths: string[] }> {
    const status = scanStatus({ host: ctx.host, cwd: path, userRepo: true, signal: ctx.signal });
    status.catch(() => undefined); // awaited below, unless target fails first
    const where = await target;
    if (!where.head) return { patch: '', paths: [] };
    const result = await status;
    return { patch: await uncommittedPatch(result, { ...where, head: where.head }, ctx), paths: statusEntries(result).map((e) => e.slice(3)) };
  }
}

export function statusEntries(status: GitResult): string[] {
  return status.stdout.toString('utf8').split('\0').filter((e) => e.length > 3);
}

/**
 * Which paths differ from HEAD, in the user's repository (from any directory in it). Read-only: no
 * index refresh is written back into their repository.
 */
export function scanStatus(user: GitRun): Promise<GitResult> {
  return runGit(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=all'], {
    ...user,
    env: { GIT_OPTIONAL_LOCKS: '0' },
  });
}

/**
 * The user's uncommitted changes against HEAD — tracked edits and untracked files that are not
 * ignored — as a binary patch, from the scan above. A copy of their index and a private object
 * directory (borrowing theirs) keep their repository untouched.
 */
export async function uncommittedPatch(status: GitResult, where: ScanTarget & { head: string }, ctx: ScanContext): Promise<string> {
  const { top, head, indexPath, objectsPath } = where;
  const user: GitRun = { host: ctx.host, cwd: top, userRepo: true, signal: ctx.signal };
  if (status.code !== 0) throw repoError(`could not read uncommitted changes in ${top}: ${firstLine(status.stderr)}`);
  // Most of the time nothing differs, and that one scan of their tree is all it takes.
  const entries = statusEntries(status);
  if (entries.length === 0) return '';
  // "XY path": Y is the work tree against the index. Where it is blank the copy of their index
  // already holds the change (staged edits, `git rm`); the rest git must look at.
  const paths = entries.filter((e) => e[1] !== ' ').map((e) => e.slice(3));
  const tmp = await mkdtemp(join(ctx.dataDir, 'tmp', 'uncommitted-'));
  try {
    const index = join(tmp, 'index');
    await copyFile(indexPath, index).catch(() => undefined);
    await mkdir(join(tmp, 'objects'), { recursive: true });
    const env = { GIT_OBJECT_DIRECTORY: join(tmp, 'objects'), GIT_ALTERNATE_OBJECT_DIRECTORIES: objectsPath };
    const run: GitRun = { ...user, indexFile: index, env };
    // Only the paths status named: git hashes and stages those, not the whole tree again.
    const added = paths.length === 0 ? { code: 0, stderr: '' } : await addPaths(paths, run);
    if (added.code !== 0 && added.code !== 1) throw repoError(`could not read uncommitted changes in ${top}: ${firstLine(added.stderr)}`);
    const diff = await runGit(
      ['diff', '--cached', '--binary', '--no-color', '--no-ext-diff', '--no-textconv', '--no-relative', '--ignore-submodules=all', '--src-prefix=a/', '--dst-prefix=b/', head],
      run,
    );
    if (diff.code !== 0) throw repoError(`could not diff uncommitted changes in ${top}: ${firstLine(diff.stderr)}`);
    return diff.stdout.toString('utf8');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Applies the user's uncommitted changes (uncommittedPatch) in a task's workspace: into its index
 * (no scan of the view needed for the base commit), then into the view as the sandbox user, so
 * the files it creates are theirs. `onto` names what they must apply to, for the error.
 */
export async function applyUncommitted(opts: { host: Host; gitDir: string; indexFile: string; dir: string; uid: number; patch: string; patchFile: string; onto: string }): Promise<void> {
  const { host, gitDir, indexFile, dir, patchFile } = opts;
  await writeFile(patchFile, opts.patch, { mode: 0o644 });
  try {
    const apply = ['apply', '--binary', '--whitespace=nowarn'];
    const cached = await runGit([...apply, '--cached', patchFile], { host, gitDir, indexFile });
    const r = cached.code === 0 ? await runGit([...apply, patchFile], { host, gitDir, workTree: dir, cwd: dir, asUid: opts.uid }) : cached;
    if (r.code !== 0) throw repoError(`the uncommitted changes do not apply to ${opts.onto}: ${firstLine(r.stderr)}`);
  } finally {
    await rm(patchFile, { force: true });
  }
}
