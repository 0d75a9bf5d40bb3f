// "Create Pull Request": the accepted (and undecided) hunks as a commit on `delegate/<task>`,
// pushed, and a PR opened by the server with the user's GitHub token (held in memory only).
// `(taskId, {token?, title?, draft?})` lets tests pass a token instead of signing in.
import * as vscode from 'vscode';
import type { PullRequestInfo } from '../../protocol';
import { acceptSpec } from '../review/acceptSpec';
import { optionsOf, resolveTaskId, showFailure } from './args';
import { showPullRequest } from './openPullRequest';
import type { Command, Services } from './types';

interface PullRequestOptions {
  token: string;
  title: string;
  draft: boolean;
}

export const createPullRequest: Command = {
  id: 'delegate.createPullRequest',
  async run(s: Services, arg?: unknown, opts?: unknown): Promise<PullRequestInfo | undefined> {
    const taskId = await resolveTaskId(s, arg, (status) => status === 'completed');
    if (!taskId) return undefined;
    const options = optionsOf<PullRequestOptions>(opts);
    const files = await s.diffs.get(taskId);
    if (!files.ok) {
      showFailure('cannot load the diff', files.error.message);
      return undefined;
    }
    const accept = acceptSpec(s.review, taskId, files.value);
    if (accept && accept.files.length === 0) {
      showFailure('no pull request', 'every hunk is rejected');
      return undefined;
    }
    let token = options.token;
    if (!token) {
      const session = await vscode.authentication.getSession('github', ['repo'], { createIfNone: true });
      token = session.accessToken;
    }
    const githubToken = token;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Delegate: creating the pull request…', cancellable: true },
      (_progress, cancel) => {
        const controller = new AbortController();
        cancel.onCancellationRequested(() => controller.abort());
        return s.api.createPullRequest(
          taskId,
          {
            githubToken,
            ...(accept ? { accept } : {}),
            ...(options.title ? { title: options.title } : {}),
            ...(options.draft !== undefined ? { draft: options.draft } : {}),
          },
          controller.signal,
        );
      },
    );
    if (!result.ok) {
      showFailure('the pull request failed', result.error.message);
      return undefined;
    }
    s.log.info(`task ${taskId}: pull request #${result.value.number} ${result.value.url}`);
    void showPullRequest(result.value, `Delegate: opened pull request #${result.value.number}.`);
    return result.value;
  },
};

