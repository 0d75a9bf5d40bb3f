// Pull requests for a task: a branch per task, one commit of the accepted hunks on the user's base
// commit, a push over HTTPS with the user's token (environment only), and the PR through
// @octokit/rest. A follow-up pushes a fast-forward commit to the same branch and updates the PR.
import type { ChangedFile, ErrorCode, PullRequestInfo, TestResult, Usage } from '../../../protocol';
import { createPull, findOpenPull, updatePull, type ApiCtx, type ApiResult, type PullRequestRef } from './api';
import { commitMessage, defaultTitle, filesOfPatch, hasTaskTrailer, pullRequestBody } from './body';
import { applyToTree, commitExists, commitTree, messageOf, parentsOf, treeOf } from './commit';
import { NO_LOG, Scrubber, scrubbing, type Logger } from '../log';
import { remoteEnv, runGit, tokenForms } from './git';
import type { ProcessRunner } from '../util/processRunner';
import { branchName, gitOriginForApi, parseGitHubRemote, remoteHost, type GitHubRemote } from './remote';
import { fetchBranch, lsRemote, pushCommit, type RemoteCtx } from './transport';

export { branchName, parseGitHubRemote, gitOriginForApi, type GitHubRemote } from './remote';
export { pullRequestBody, defaultTitle } from './body';

export interface PullRequestParams {
  /** Bare git repository (the server's mirror) holding baseCommit; you may write refs/objects there. */
  mirrorDir: string;
  /** The user's commit the task started from; the PR branch starts here. */
  baseCommit: string;
  /** The user's branch = the PR's base branch (e.g. "main"). */
  baseBranch: string;
  /** The repository's remote URL (https or ssh form; GitHub or GitHub Enterprise host). */
  remoteUrl: string | undefined;
  /** The accepted changes as a git unified diff (binary allowed) that applies to baseCommit. */
  patch: string;
  taskId: string;
  prompt: string;
  summary?: string;
  /** Listed in the body only when the patch has no parsable files; otherwise the patch's own files are. */
  changedFiles: ChangedFile[];
  testResult?: TestResult;
  usage: Usage;
  title?: string;
  draft?: boolean;
  /** Memory only: never written to disk, logs, argv or git config. */
  githubToken: string;
  /** https://api.github.com, a GitHub Enterprise root (https://ghe.example/api/v3) or a test root. */
  apiBaseUrl: string;
  /** When the task already has a PR (a follow-up): push to the same branch, update that PR. */
  existing?: PullRequestInfo;
  author?: { name: string; email: string };
  signal?: AbortSignal;
  /** What git may see of the server's environment (Config.hostEnv). */
  hostEnv: Readonly<Record<string, string>>;
  /** How the server starts processes (git here). */
  runner: ProcessRunner;
  /** Progress and git's stderr, scrubbed of the token. */
  log?: Logger;
}

export type PullRequestResult =
  | { ok: true; pullRequest: PullRequestInfo; updated: boolean }
  | { ok: false; error: { code: ErrorCode; message: string } };

const DEFAULT_AUTHOR = { name: 'Delegate', email: 'delegate@localhost' };

type Failure = { ok: false; error: { code: ErrorCode; message: string } };

/** Everything one run needs, built once from the params. */
interface Run {
  p: PullRequestParams;
  gh: GitHubRemote;
  branch: string;
  title: string;
  scrubber: Scrubber;
  log: Logger;
  remote: RemoteCtx;
  api: ApiCtx;
  local: { gitDir: string; runner: ProcessRunner; hostEnv: Readonly<Record<string, string>>; signal?: AbortSignal; log: Logger };
  /** Private refs written to the mirror by this run; removed at the end. */
  tempRefs: string[];
}

export async function openPullRequest(p: PullRequestParams): Promise<PullRequestResult> {
  const scrubber = new Scrubber(tokenForms(p.githubToken));
  const log = scrubbing(p.log ?? NO_LOG, scrubber);
  const fail = (code: ErrorCode, message: string): Failure => ({ ok: false, error: { code, message: scrubber.scrub(message) } });
  const setup = prepare(p, scrubber, log, fail);
  if (!setup.ok) return setup;
  const run = setup.run;
  try {
    const result = await execute(run, fail);
    if (result.ok) log.info(`pull request ${result.updated ? 'updated' : 'opened'}`, { number: result.pullRequest.number, url: result.pullRequest.url });
    else log.warn('pull request failed', { error: result.error });
    return result.ok ? result : fail(result.error.code, result.error.message);
  } catch (err) {
    return fail('internal', `Opening the pull request failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    for (const ref of run.tempRefs) await runGit(['update-ref', '-d', ref], run.local);
  }
}

function prepare(
  p: PullRequestParams,
  scrubber: Scrubber,
  log: Logger,
  fail: (code: ErrorCode, message: string) => Failure,
): { ok: true; run: Run } | Failure {
  const gitOrigin = gitOriginForApi(p.apiBaseUrl);
  if (!gitOrigin) return fail('github_error', `The GitHub API URL ${p.apiBaseUrl} is not an http(s) URL.`);
  if (!p.remoteUrl?.trim()) {
    return fail('no_remote', 'This repository has no remote to push to. Add a GitHub remote (git remote add origin https://github.com/OWNER/REPO.git) and try again.');
  }
  const gh = parseGitHubRemote(p.remoteUrl, p.apiBaseUrl);
  if (!gh) {
    const host = remoteHost(p.remoteUrl);
    const expected = gitOrigin.hostname;
    return fail(
      'not_github_remote',
      host && host !== expected
        ? `The remote is on ${host}, not on ${expected}: pull requests can only be opened on the GitHub host the server is configured for (--github-api-url for GitHub Enterprise).`
        : `The remote URL is not a GitHub repository URL of the form https://${expected}/OWNER/REPO.git or git@${expected}:OWNER/REPO.git.`,
    );
  }
  if (!p.githubToken.trim()) return fail('github_unauthorized', 'No GitHub token was given; sign in to GitHub first.');
  const branch = p.existing?.branch ?? branchName(p.taskId, p.prompt);
  const origin = new URL(gh.httpsUrl).origin;
  return {
    ok: true,
    run: {
      p,
      gh,
      branch,
      title: p.title?.trim() || defaultTitle(p.prompt),
      scrubber,
      log,
      remote: { gitDir: p.mirrorDir, url: gh.httpsUrl, env: remoteEnv(origin, p.githubToken), hostEnv: p.hostEnv, runner: p.runner, scrubber, signal: p.signal, log },
      api: { token: p.githubToken, apiBaseUrl: p.apiBaseUrl, owner: gh.owner, repo: gh.repo, signal: p.signal, log },
      local: { gitDir: p.mirrorDir, runner: p.runner, hostEnv: p.hostEnv, signal: p.signal, log },
      tempRefs: [],
    },
  };
}

async function execute(run: Run, fail: (code: ErrorCode, message: string) => Failure): Promise<PullRequestResult> {
  const { p, gh, branch, local } = run;
  const where = `${gh.host}/${gh.owner}/${gh.repo}`;
  if (p.signal?.aborted) return fail('github_error', 'Opening the pull request was cancelled.');
  if (!p.patch.trim()) return fail('nothing_to_commit', 'No changes were accepted, so there is nothing to commit.');
  if (!(await commitExists(local, p.baseCommit))) {
    return fail('repo_error', `The base commit ${p.baseCommit.slice(0, 12)} is not in the server's copy of the repository.`);
  }
  const tree = await applyToTree(local, p.baseCommit, p.patch);
  if (!tree.ok) {
    return tree.reason === 'empty'
      ? fail('nothing_to_commit', 'The accepted hunks make no change to the base commit, so there is nothing to commit.')
      : fail('repo_error', `The accepted changes do not apply to the base commit ${p.baseCommit.slice(0, 12)}: ${tree.message}`);
  }

  run.log.info('checking branches', { base: p.baseBranch, branch, where });
  const heads = await lsRemote(run.remote, [p.baseBranch, branch], gh.host);
  if (!heads.ok) return fail(heads.code, heads.message);
  const remoteBase = heads.heads.get(p.baseBranch);
  if (!remoteBase) {
    return fail('repo_error', `The base branch ${p.baseBranch} does not exist on ${where}. Push it first, then open the pull request.`);
  }

  let baseMoved: { branch: string; from: string; to: string } | undefined;
  if (remoteBase !== p.baseCommit) {
    const moved = await checkMovedBase(run, remoteBase);
    if (!moved.ok) return fail(moved.error.code, moved.error.message);
    baseMoved = { branch: p.baseBranch, from: p.baseCommit, to: remoteBase };
  }

  const remoteHead = heads.heads.get(branch);
  let parent = p.baseCommit;
  let expect: string | null = null;
  let skipPush = false;
  if (remoteHead) {
    const ref = tempRef(run, 'head');
    const fetched = await fetchBranch(run.remote, branch, ref, gh.host);
    if (!fetched.ok) return fail(fetched.code, fetched.message);
    const headTree = await treeOf(local, remoteHead);
    const headMessage = (await messageOf(local, remoteHead)) ?? '';
    const ours = hasTaskTrailer(headMessage, p.taskId);
    if (!p.existing) {
      // A retry after a failed API call finds its own commit already pushed: reuse it.
      const parents = await parentsOf(local, remoteHead);
      const samePush = ours && headTree === tree.tree && parents?.length === 1 && parents[0] === p.baseCommit;
      if (!samePush) {
        return fail('branch_exists', `Branch ${branch} already exists on ${where}; it was not overwritten. Delete it or rename the task's branch, then try again.`);
      }
      skipPush = true;
    } else {
      if (!ours) {
        return fail('conflict', `Branch ${branch} on ${where} has a commit that Delegate did not make; pull it into your branch or close the PR, then try again. Nothing was overwritten.`);
      }
      parent = remoteHead;
      expect = remoteHead;
      skipPush = headTree === tree.tree;
    }
  }

  if (p.signal?.aborted) return fail('github_error', 'Opening the pull request was cancelled.');
  if (!skipPush) {
    const commit = await commitTree(local, {
      tree: tree.tree,
      parents: [parent],
      message: commitMessage(run.title, p.summary, p.taskId),
      author: p.author ?? DEFAULT_AUTHOR,
    });
    if (!commit) return fail('repo_error', 'Writing the commit in the server\'s copy of the repository failed.');
    run.log.info('pushing', { commit, branch, where });
    const pushed = await pushCommit(run.remote, commit, branch, expect, gh.host);
    if (!pushed.ok) return fail(pushed.code, pushed.message);
  }

  const body = pullRequestBody({
    taskId: p.taskId,
    prompt: p.prompt,
    summary: p.summary,
    changedFiles: filesOfPatch(p.patch, p.changedFiles),
    testResult: p.testResult,
    usage: p.usage,
    baseMoved,
    updatedAt: p.existing ? new Date().toISOString() : undefined,
  });
  const safeBody = run.scrubber.scrub(body);
  return publish(run, safeBody, skipPush);
}

/** The remote base moved: fetch its head and check the accepted changes still apply there. */
async function checkMovedBase(run: Run, remoteBase: string): Promise<{ ok: true } | Failure> {
  const { p, gh, local } = run;
  const ref = tempRef(run, 'base');
  const fetched = await fetchBranch(run.remote, p.baseBranch, ref, gh.host);
  if (!fetched.ok) return { ok: false, error: { code: fetched.code, message: fetched.message } };
  const onNew = await applyToTree(local, remoteBase, p.patch);
  if (onNew.ok) return { ok: true };
  return {
    ok: false,
    error: {
      code: 'base_moved',
      message:
        `${p.baseBranch} on ${gh.host}/${gh.owner}/${gh.repo} moved (${p.baseCommit.slice(0, 12)} → ${remoteBase.slice(0, 12)}) and the accepted changes ` +
        `${onNew.reason === 'empty' ? 'are already there' : 'no longer apply to it'}. Pull and rebase your branch, then send the task a follow-up.`,
    },
  };
}

async function publish(run: Run, body: string, reused: boolean): Promise<PullRequestResult> {
  const { p, branch } = run;
  const toResult = (r: ApiResult<PullRequestRef>, updated: boolean): PullRequestResult =>
    r.ok ? { ok: true, pullRequest: { url: r.value.url, number: r.value.number, branch }, updated } : { ok: false, error: { code: r.code, message: r.message } };
  if (p.existing) {
    return toResult(await updatePull(run.api, p.existing.number, { body, title: p.title?.trim() || undefined }), true);
  }
  if (reused) {
    const open = await findOpenPull(run.api, branch);
    if (!open.ok) return { ok: false, error: { code: open.code, message: open.message } };
    if (open.value) return toResult(await updatePull(run.api, open.value.number, { body }), true);
  }
  return toResult(await createPull(run.api, { title: run.title, head: branch, base: p.baseBranch, body, draft: p.draft }), false);
}

function tempRef(run: Run, kind: string): string {
  const safeId = run.p.taskId.replace(/[^A-Za-z0-9_-]/g, '_');
  const ref = `refs/delegate/pull-request/${safeId}/${kind}`;
  run.tempRefs.push(ref);
  return ref;
}
