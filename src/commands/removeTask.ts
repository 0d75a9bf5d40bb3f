// Removes a task from the server (and its review state here). Asks first unless `{confirm:false}`.
import * as vscode from 'vscode';
import { firstLine } from '../util/format';
import { optionsOf, resolveTaskId, showFailure } from './args';
import type { Command, Services } from './types';

export const removeTask: Command = {
  id: 'delegate.removeTask',
  async run(s: Services, arg?: unknown, opts?: unknown): Promise<boolean> {
    const taskId = await resolveTaskId(s, arg);
    if (!taskId) return false;
    const task = s.model.get(taskId);
    if (optionsOf<{ confirm: boolean }>(opts).confirm !== false) {
      const answer = await vscode.window.showWarningMessage(
        `Remove the task "${firstLine(task?.prompt ?? taskId, 60)}" and its workspace?`,
        { modal: true },
        'Remove',
      );
      if (answer !== 'Remove') return false;
    }
    const r = await s.api.remove(taskId);
    if (!r.ok && r.error.status !== 404) {
      showFailure('remove failed', r.error.message);
      return false;
    }
    s.model.remove(taskId);
    s.diffs.forget(taskId);
    await s.review.forget(taskId);
    // The Apply stays on disk; with the task gone there is nothing left to undo it from.
    await s.applied.forget(taskId);
    return true;
  },
};
