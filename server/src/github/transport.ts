// Talking to the git server over smart HTTP: list refs, fetch one ref into the mirror, push one
// commit. The token travels only in the child's environment (see remoteEnv); nothing is written to
// the mirror's config and the URL never carries credentials.
import type { ErrorCode } from '../../../protocol';
import type { Logger, Scrubber } from '../log';
import { runGit, type GitOptions } from './git';
import type { ProcessRunner } from '../util/processRunner';

export interface RemoteCtx {
  gitDir: string;
  /** Credential-free URL of the repository. */
  url: string;
  /** Env from remoteEnv(): the auth header and prompt/helper switches. */
  env: Record<string, string>;
  hostEnv: Readonly<Record<string, string>>;
  runner: ProcessRunner;
  scrubber: Scrubber;
  signal?: AbortSignal;
  log?: Logger;
}

export type RemoteFailure = { ok: false; code: ErrorCode; message: string };

function gitOpts(ctx: RemoteCtx, extra?: Partial<GitOptions>): GitOptions {
  return { gitDir: ctx.gitDir, runner: ctx.runner, hostEnv: ctx.hostEnv, env: ctx.env, scrubber: ctx.scrubber, signal: ctx.signal, log: ctx.log, ...extra };
}

/** Maps git's complaint about a remote to one of our error codes with a message a user can act on. */
export function classifyRemoteError(stderr: string, what: string, host: string, aborted = false): RemoteFailure {
  const detail = stderr.trim().split('\n').filter((l) => l.trim()).slice(-3).join(' / ');
  if (aborted) return { ok: false, code: 'github_error', message: `${what} was cancelled` };
  if (/returned error: 401|HTTP 401|Authentication failed|could not read (Username|Password)|terminal prompts disabled|Invalid username or password/i.test(stderr)) {
    return { ok: false, code: 'github_unauthorized', message: `${what}: ${host} rejected the GitHub token (401). Sign in to GitHub again or use a valid token.` };
  }
  if (/returned error: 403|HTTP 403|Permission to .* denied|permission denied|write access .* not granted/i.test(stderr)) {
    return {
      ok: false,
      code: 'github_forbidden',
      message: `${what}: ${host} refused the push (403). The token needs the \`repo\` scope (or contents: write) and write access to the repository.`,
    };
  }
  if (/returned error: 404|Repository not found|not found|does not appear to be a git repository/i.test(stderr)) {
    return { ok: false, code: 'github_error', message: `${what}: the repository was not found on ${host}, or the token cannot see it (${detail})` };
  }
  if (/Could not resolve host|Failed to connect|Connection refused|Connection timed out|timed out|SSL|Empty reply|Recv failure|Couldn't connect/i.test(stderr)) {
    return { ok: false, code: 'github_error', message: `${what}: could not reach ${host} (${detail})` };
  }
  return { ok: false, code: 'github_error', message: `${what} failed: ${detail || 'git exited with an error'}` };
}

/** Heads of the given branches on the remote (absent branches are missing from the map). */
export async function lsRemote(ctx: RemoteCtx, branches: string[], host: string): Promise<{ ok: true; heads: Map<string, string> } | RemoteFailure> {
  const refs = branches.map((b) => `refs/heads/${b}`);
  const r = await runGit(['ls-remote', '--refs', ctx.url, ...refs], gitOpts(ctx));
  if (r.code !== 0) return classifyRemoteError(r.stderr, 'Reading the remote branches', host, r.aborted);
  const heads = new Map<string, string>();
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [sha, ref] = line.trim().split(/\s+/);
    if (!sha || !ref || !refs.includes(ref)) continue;
    heads.set(ref.slice('refs/heads/'.length), sha);
  }
  return { ok: true, heads };
}

/** Fetches one remote branch into `localRef` of the mirror (objects plus that one private ref). */
export async function fetchBranch(ctx: RemoteCtx, branch: string, localRef: string, host: string): Promise<{ ok: true } | RemoteFailure> {
  const args = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', ctx.url, `+refs/heads/${branch}:${localRef}`];
  const r = await runGit(args, gitOpts(ctx));
  if (r.code !== 0) return classifyRemoteError(r.stderr, `Fetching ${branch}`, host, r.aborted);
  return { ok: true };
}

export type PushOutcome = { ok: true } | RemoteFailure;

/**
 * Pushes `commit` to `refs/heads/<branch>`. `expect` is the remote head the push replaces: null
 * means the branch must not exist yet (a lease with an empty value), so a branch someone created
 * meanwhile is never overwritten; a sha means fast-forward from exactly that head.
 */
export async function pushCommit(ctx: RemoteCtx, commit: string, branch: string, expect: string | null, host: string): Promise<PushOutcome> {
  const ref = `refs/heads/${branch}`;
  const args = ['push', '--porcelain', '--no-verify', '--no-follow-tags', `--force-with-lease=${ref}:${expect ?? ''}`, ctx.url, `${commit}:${ref}`];
  const r = await runGit(args, gitOpts(ctx));
  if (r.code === 0) return { ok: true };
  const out = r.stdout.toString('utf8');
  const rejected = out.split('\n').find((l) => l.startsWith('!'));
  if (rejected) {
    const reason = rejected.split('\t').slice(2).join(' ').trim();
    if (/stale info|fetch first|non-fast-forward|already exists/.test(reason)) {
      return expect === null
        ? { ok: false, code: 'branch_exists', message: `Branch ${branch} was created on ${host} while pushing; nothing was overwritten. Delete it or retry.` }
        : { ok: false, code: 'conflict', message: `The push to ${branch} was rejected (${reason}): the branch moved on ${host}. Nothing was overwritten.` };
    }
    const remoteMsg = r.stderr.split('\n').filter((l) => l.startsWith('remote:')).map((l) => l.slice(7).trim()).filter(Boolean).join(' ');
    return { ok: false, code: 'github_error', message: `${host} rejected the push to ${branch} (${reason})${remoteMsg ? `: ${remoteMsg}` : ''}` };
  }
  return classifyRemoteError(r.stderr, `Pushing ${branch}`, host, r.aborted);
}
