// The user's repository as the server needs it: root, HEAD, branch, origin, and — for a server on
// another machine — a git bundle of the commits plus the uncommitted changes as a binary patch.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { errorMessage, fail, ok, type Result } from '../util/result';

export interface RepositoryInfo {
  root: string;
  commit: string;
  branch: string | undefined;
  remoteUrl: string | undefined;
  hasUncommitted: boolean;
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/** Runs git without a shell; output as a value so callers decide how a failure reads. */
export function git(args: string[], cwd: string, signal?: AbortSignal): Promise<Result<Buffer>> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { cwd, signal, encoding: 'buffer', maxBuffer: MAX_OUTPUT, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.toString().trim() || errorMessage(error);
          resolve(fail('git_failed', `git ${args[0]}: ${detail}`));
        } else resolve(ok(stdout));
      },
    );
  });
}

async function gitText(args: string[], cwd: string, signal?: AbortSignal): Promise<Result<string>> {
  const r = await git(args, cwd, signal);
  return r.ok ? ok(r.value.toString('utf8').trim()) : r;
}

export async function describeRepository(dir: string, signal?: AbortSignal): Promise<Result<RepositoryInfo>> {
  const root = await gitText(['rev-parse', '--show-toplevel'], dir, signal);
  if (!root.ok) return fail('not_a_repository', `${dir} is not inside a git repository`);
  const commit = await gitText(['rev-parse', '--verify', 'HEAD^{commit}'], root.value, signal);
  if (!commit.ok) return fail('no_commit', 'the repository has no commit yet; commit once before delegating');
  const [branch, remote, status] = await Promise.all([
    gitText(['symbolic-ref', '--quiet', '--short', 'HEAD'], root.value, signal),
    gitText(['remote', 'get-url', 'origin'], root.value, signal),
    gitText(['status', '--porcelain', '--untracked-files=normal'], root.value, signal),
  ]);
  return ok({
    root: root.value,
    commit: commit.value,
    branch: branch.ok && branch.value ? branch.value : undefined,
    remoteUrl: remote.ok && remote.value ? remote.value : undefined,
    hasUncommitted: status.ok && status.value.length > 0,
  });
}

export interface BundleParts {
  bundle: Uint8Array<ArrayBuffer>;
  patch: string;
  name: string;
}

/**
 * Everything a remote server needs to rebuild the working tree: the history reachable from HEAD
 * as a bundle, and `git diff --binary HEAD` plus the untracked files as one patch.
 */
export async function bundleRepository(info: RepositoryInfo, signal?: AbortSignal): Promise<Result<BundleParts>> {
  const dir = await mkdtemp(join(tmpdir(), 'delegate-bundle-'));
  try {
    const file = join(dir, 'repo.bundle');
    const created = await git(['bundle', 'create', file, 'HEAD'], info.root, signal);
    if (!created.ok) return created;
    const bundle = new Uint8Array(await readFile(file));
    const tracked = await git(['diff', '--binary', 'HEAD'], info.root, signal);
    if (!tracked.ok) return tracked;
    const untracked = await git(['ls-files', '--others', '--exclude-standard', '-z'], info.root, signal);
    if (!untracked.ok) return untracked;
    let patch = tracked.value.toString('utf8');
    for (const path of untracked.value.toString('utf8').split('\0').filter(Boolean)) {
      // --no-index exits 1 when the files differ, which they always do here: read stdout anyway.
      const added = await gitNoIndexDiff(path, info.root, signal);
      if (!added.ok) return added;
      patch += added.value;
    }
    return ok({ bundle, patch, name: basename(info.root) });
  } catch (e) {
    return fail('bundle_failed', errorMessage(e));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function gitNoIndexDiff(path: string, cwd: string, signal?: AbortSignal): Promise<Result<string>> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['diff', '--binary', '--no-index', '--', '/dev/null', path],
      { cwd, signal, encoding: 'utf8', maxBuffer: MAX_OUTPUT },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        if (error && code !== 1) resolve(fail('git_failed', `git diff ${path}: ${stderr.trim() || errorMessage(error)}`));
        else resolve(ok(stdout));
      },
    );
  });
}
