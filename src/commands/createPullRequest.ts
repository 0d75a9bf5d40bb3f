// "Create Pull Request": the accepted (and undecided) hunks as a commit on `delegate/<task>`,
// pushed, and a PR opened by the server with the user's GitHub token (held in memory only).
// First a preview (title, the agent's summary and tests, the files with their taken hunks) to
// confirm; a missing sign-in or a refused token says what is needed and offers Sign In / Retry.
// `(taskId, {token?, title?, draft?, confirm?: false, preview?: true})`: tests pass a token and
// skip the dialog; `preview` answers the preview without creating anything.
import * as vscode from 'vscode';
import type { AcceptSpec, PullRequestInfo } from '../../protocol';
import { acceptSpec } from '../review/acceptSpec';
import { undecidedNote } from '../review/reviewState';
import { shortTitle } from '../util/format';
import { optionsOf, resolveTaskId, showFailure } from './args';
import { showPullRequest } from './openPullRequest';
import { describePreview, pullRequestPreview, type PullRequestPreview } from './pullRequestPreview';
import type { Command, Services } from './types';

interface PullRequestOptions {
  token: string;
  title: string;
  draft: boolean;
  confirm: boolean;
  preview: boolean;
}

export const createPullRequest: Command = {
  id: 'delegate.createPullRequest',
  async run(s: Services, arg?: unknown, opts?: unknown): Promise<PullRequestInfo | PullRequestPreview | undefined> {
    const taskId = await resolveTaskId(s, arg, (status) => status === 'completed');
    const task = taskId ? s.model.get(taskId) : undefined;
    if (!taskId || !task) return undefined;
    const options = optionsOf<PullRequestOptions>(opts);
    const files = await s.diffs.get(taskId);
    if (!files.ok) {
      showFailure('cannot load the diff', files.error.message);
      return undefined;
    }
    const decided = acceptSpec(s.review, taskId, files.value);
    if (decided && decided.files.length === 0) {
      showFailure('no pull request', 'every hunk is rejected');
      return undefined;
    }
    const preview = pullRequestPreview(task, files.value, (f) => s.review.taken(taskId, f), options.title || shortTitle(task.prompt, 72), s.review.counts(taskId, files.value));
    if (options.preview) return preview;
    let title = preview.title;
    if (options.confirm !== false) {
      for (;;) {
        const choice = await vscode.window.showInformationMessage(`Create this pull request?`, { modal: true, detail: describePreview({ ...preview, title }) }, 'Create Pull Request', 'Edit Title…');
        if (choice === 'Edit Title…') {
          title = (await vscode.window.showInputBox({ title: 'Pull request title', value: title, validateInput: (v) => (v.trim() ? undefined : 'A title is needed.') }))?.trim() || title;
          continue;
        }
        if (choice !== 'Create Pull Request') return undefined;
        break;
      }
    }
    const token = options.token ?? (await signIn(false));
    if (!token) return undefined;
    // The decisions name the diff they were made on: if it moved since, the server refuses (409).
    const version = s.diffs.version(taskId);
    const accept: AcceptSpec | undefined = decided || version
      ? { files: decided?.files ?? files.value.map((f) => ({ path: f.path })), ...(version ? { diffVersion: version } : {}) }
      : undefined;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Delegate: creating the pull request…', cancellable: true },
      (_progress, cancel) => {
        const controller = new AbortController();
        cancel.onCancellationRequested(() => controller.abort());
        return s.api.createPullRequest(
          taskId,
          { githubToken: token, ...(accept ? { accept } : {}), title, ...(options.draft !== undefined ? { draft: options.draft } : {}) },
          controller.signal,
        );
      },
    );
    if (!result.ok) {
      const again = (): Thenable<unknown> => vscode.commands.executeCommand('delegate.createPullRequest', taskId, { title, ...(options.draft !== undefined ? { draft: options.draft } : {}) });
      if (result.error.status === 409 && /^stale_diff/.test(result.error.message)) {
        // Refetch; decisions on hunks whose lines did not change stay (ReviewState matches them).
        s.diffs.invalidate(taskId);
        const fresh = await s.diffs.get(taskId);
        const note = fresh.ok ? ` Decisions on unchanged hunks are kept: ${undecidedNote(s.review.counts(taskId, fresh.value)) || 'every hunk is decided.'}` : '';
        void vscode.window.showWarningMessage(`Delegate: the task's changes moved since you reviewed them, so no pull request was made.${note}`, 'Review', 'Create Anyway').then((c) => {
          if (c === 'Review') void vscode.commands.executeCommand('delegate.reviewTask', taskId);
          else if (c === 'Create Anyway') void again();
        });
        return undefined;
      }
      const refused = result.error.code === 'github_unauthorized' || result.error.code === 'github_forbidden';
      const actions = refused ? ['Sign In Again', 'Retry'] : ['Retry'];
      void vscode.window.showErrorMessage(`Delegate: the pull request failed: ${result.error.message}`, ...actions).then(async (c) => {
        if (c === 'Sign In Again') {
          if (await signIn(true)) void again();
        } else if (c === 'Retry') void again();
      });
      return undefined;
    }
    s.log.info(`task ${taskId}: pull request #${result.value.number} ${result.value.url}`);
    void showPullRequest(result.value, `Delegate: opened pull request #${result.value.number}.`);
    return result.value;
  },
};

/**
 * A GitHub token through VS Code's sign-in. Declining it is not an error to show raw ("User did
 * not consent to login."): say what is needed and offer to sign in again.
 */
async function signIn(fresh: boolean): Promise<string | undefined> {
  let options: vscode.AuthenticationGetSessionOptions = fresh ? { forceNewSession: { detail: 'GitHub refused the last sign-in.' } } : { createIfNone: true };
  for (;;) {
    try {
      const session = await vscode.authentication.getSession('github', ['repo'], options);
      if (session) return session.accessToken;
    } catch {
      // Declined or failed: said below in words, with the way forward.
    }
    const choice = await vscode.window.showWarningMessage(
      'Delegate: a pull request is made with your GitHub account (permission "repo"), and you are not signed in. Nothing was pushed.',
      'Sign In',
    );
    if (choice !== 'Sign In') return undefined;
    options = { createIfNone: true };
  }
}
