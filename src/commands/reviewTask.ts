// Starts reviewing a task: opens the first changed file's diff (the tree lists the others).
import * as vscode from 'vscode';
import { resolveTaskId, showFailure } from './args';
import { openDiff } from './openFileDiff';
import type { Command, Services } from './types';

export const reviewTask: Command = {
  id: 'delegate.reviewTask',
  async run(s: Services, arg?: unknown): Promise<void> {
    const taskId = await resolveTaskId(s, arg, (status) => status !== 'queued');
    if (!taskId) return;
    const files = await s.diffs.get(taskId);
    if (!files.ok) {
      showFailure('cannot load the diff', files.error.message);
      return;
    }
    const first = files.value[0];
    if (!first) {
      void vscode.window.showInformationMessage('Delegate: this task changed no files.');
      return;
    }
    await openDiff(s, taskId, first.path, false);
  },
};
