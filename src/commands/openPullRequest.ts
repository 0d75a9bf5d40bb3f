// Opens a task's pull request: in the browser, or in the GitHub Pull Requests extension if present.
import * as vscode from 'vscode';
import type { PullRequestInfo } from '../../protocol';
import { resolveTaskId } from './args';
import type { Command, Services } from './types';

const GITHUB_PR_EXTENSION = 'github.vscode-pull-request-github';

export const openPullRequest: Command = {
  id: 'delegate.openPullRequest',
  async run(s: Services, arg?: unknown): Promise<void> {
    const taskId = await resolveTaskId(s, arg);
    if (!taskId) return; // resolveTaskId already said why
    const pr = s.model.get(taskId)?.pullRequest;
    if (!pr) {
      void vscode.window.showInformationMessage('Delegate: this task has no pull request yet.');
      return;
    }
    await showPullRequest(pr, `Delegate: pull request #${pr.number}.`);
  },
};

export async function showPullRequest(pr: PullRequestInfo, message: string): Promise<void> {
  const inEditor = vscode.extensions.getExtension(GITHUB_PR_EXTENSION) ? ['Open in VS Code'] : [];
  const choice = await vscode.window.showInformationMessage(message, 'Open in Browser', ...inEditor, 'Copy Link');
  if (choice === 'Open in Browser') await vscode.env.openExternal(vscode.Uri.parse(pr.url));
  else if (choice === 'Copy Link') await vscode.env.clipboard.writeText(pr.url);
  else if (choice === 'Open in VS Code') {
    // The GitHub PR extension's URI handler opens its overview of a PR by owner/repo/number.
    const m = /\/([^/]+)\/([^/]+)\/pull\/(\d+)/.exec(new URL(pr.url).pathname);
    if (!m) return;
    const query = new URLSearchParams({ owner: m[1]!, repo: m[2]!, pullRequestNumber: m[3]! }).toString();
    await vscode.env.openExternal(vscode.Uri.parse(`${vscode.env.uriScheme}://${GITHUB_PR_EXTENSION}/open-pull-request-webview?${query}`));
  }
}
