// A task's pull request as the API asks for it: the accepted hunks of the task's diff, one request
// at a time per task (they share a branch), the user's token held only for the request and
// scrubbed from every log line, and the pull_request event once it is open or updated.
import { acceptedHunks, isFinished, parseUnifiedDiff, selectHunks, type PullRequestInfo, type PullRequestRequest } from '../../../protocol';
import { HttpError } from '../api/http';
import type { Logger, Scrubber } from '../log';
import type { Store } from '../store/types';
import { DIFF_VERSION_HEADER } from '../tasks/diffRecorder';
import type { TaskEvents } from '../tasks/taskEvents';
import type { Workspace } from '../workspace/types';
import type { ProcessRunner } from '../util/processRunner';
import { tokenForms } from './git';
import { openPullRequest } from './index';

export interface PullRequestServiceDeps {
  store: Store;
  events: TaskEvents;
  /** The workspace of the task's selected attempt; throws conflict when there is none yet. */
  workspaceOf: (taskId: string) => Promise<Workspace>;
  githubApiUrl: string;
  hostEnv: Readonly<Record<string, string>>;
  /** How the server starts processes (main.ts chooses it). */
  runner: ProcessRunner;
  /** The server's scrubber: the request's token is added to it while the request runs. */
  scrubber: Scrubber;
  log: Logger;
}

/** Late log lines (git's, the API client's) may still mention a token this long after its request. */
const SCRUB_AFTER_MS = 60_000;

export class PullRequestService {
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: PullRequestServiceDeps) {}

  /** `actor`: who asks (a login, null for the admin), recorded on the pull_request event. */
  async open(taskId: string, request: PullRequestRequest, actor: string | null = null): Promise<PullRequestInfo> {
    const task = await this.deps.store.getTask(taskId);
    if (!task) throw new HttpError('not_found', `no task ${taskId}`);
    if (!isFinished(task.status)) throw new HttpError('conflict', `task ${taskId} is ${task.status}; open a pull request once it has finished`);
    if (this.inFlight.has(taskId)) throw new HttpError('conflict', `a pull request for task ${taskId} is already being made`);
    this.inFlight.add(taskId);
    const forms = tokenForms(request.githubToken);
    for (const form of forms) this.deps.scrubber.add(form);
    let result: Awaited<ReturnType<typeof openPullRequest>>;
    try {
      const workspace = await this.deps.workspaceOf(taskId);
      // Decisions are positions in one diff: on another (a follow-up, a late snapshot) they could
      // land on the wrong hunk, so they are refused and the client reviews the current diff.
      const { diff, version: current } = await workspace.versionedDiff();
      const made = request.accept?.diffVersion;
      if (made !== undefined && made !== current) {
        throw new HttpError('conflict', `stale_diff: the decisions were made on diff ${made}, but the task's diff is now ${current}; fetch the diff again and review the changed hunks`, { [DIFF_VERSION_HEADER]: current });
      }
      const patch = acceptedPatch(diff, request.accept);
      if (!patch.trim()) throw new HttpError('nothing_to_commit', 'no accepted changes to commit');
      result = await openPullRequest({
        mirrorDir: workspace.repo.mirrorDir,
        baseCommit: workspace.repo.commit,
        baseBranch: task.repo.branch ?? workspace.repo.branch ?? 'main',
        remoteUrl: task.repo.remoteUrl ?? workspace.repo.remoteUrl,
        patch,
        taskId: task.id,
        prompt: task.prompt,
        summary: task.summary,
        changedFiles: task.changedFiles,
        testResult: task.testResult,
        usage: task.usage,
        title: request.title,
        draft: request.draft,
        githubToken: request.githubToken,
        apiBaseUrl: this.deps.githubApiUrl,
        hostEnv: this.deps.hostEnv,
        runner: this.deps.runner,
        existing: task.pullRequest,
        log: this.deps.log.child({ taskId }),
      });
    } finally {
      this.inFlight.delete(taskId);
      setTimeout(() => forms.forEach((form) => this.deps.scrubber.remove(form)), SCRUB_AFTER_MS).unref();
    }
    // An unexpected failure inside the pull-request flow is reported as that step failing (502).
    if (!result.ok) throw new HttpError(result.error.code === 'internal' ? 'github_error' : result.error.code, result.error.message);
    const { pullRequest, updated } = result;
    await this.deps.events.updateTask(taskId, { pullRequest }, () => [{ type: 'pull_request', taskId, pullRequest, updated, actor }]);
    return pullRequest;
  }
}

/** The accepted hunks of `diff` as a patch for `git apply`; a decision naming no such file or hunk is 422. */
export function acceptedPatch(diff: string, accept: PullRequestRequest['accept']): string {
  const files = parseUnifiedDiff(diff);
  const taken = acceptedHunks(files, accept);
  if (!taken.ok) throw new HttpError('validation_failed', `accept: ${taken.message}`);
  try {
    return selectHunks(files, (f) => taken.hunks.get(f) ?? 'none');
  } catch (err) {
    throw new HttpError('validation_failed', `accept: ${(err as Error).message}`);
  }
}
