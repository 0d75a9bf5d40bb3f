// "Retry" on a task that failed, was interrupted or cancelled: the same prompt, selection and
// options as a new task on the same repository (as it is now). The new task comes into view.
import * as vscode from 'vscode';
import type { Task } from '../../protocol';
import { resolveTaskId, showFailure } from './args';
import type { Command, Services } from './types';

const RETRYABLE = ['failed', 'interrupted', 'cancelled'];

export const retryTask: Command = {
  id: 'delegate.retryTask',
  async run(s: Services, arg?: unknown): Promise<Task | undefined> {
    const taskId = await resolveTaskId(s, arg, (status) => RETRYABLE.includes(status));
    const task = taskId ? s.model.get(taskId) : undefined;
    if (!task) return undefined;
    const dir = task.repo.path ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!dir) {
      showFailure('cannot retry', 'open the task\'s repository as a workspace folder first');
      return undefined;
    }
    const repo = await s.submitter.captureRepository(dir);
    if (!repo.ok) {
      showFailure('cannot retry', repo.error.message);
      return undefined;
    }
    const created = await vscode.window.withProgress({ location: { viewId: 'delegate.tasks' }, title: 'Delegating again…' }, () =>
      s.submitter.submit({ repo: repo.value, selection: task.selection }, task.prompt, task.options),
    );
    if (!created.ok) {
      showFailure('the task was not created', created.error.message);
      return undefined;
    }
    s.log.info(`task ${created.value.id} retries ${task.id}`);
    return created.value;
  },
};
