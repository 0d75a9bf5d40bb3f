// Accept / Reject every hunk of a file: `(taskId, path)`, a tree node, or the review diff in front.
import * as vscode from 'vscode';
import type { Decision } from '../review/reviewState';
import { activeReview, pathOf, taskIdOf } from './args';
import type { Command, Services } from './types';

function fileDecision(id: string, decision: Decision): Command {
  return {
    id,
    async run(s: Services, taskArg?: unknown, pathArg?: unknown): Promise<boolean> {
      const active = activeReview();
      const taskId = taskIdOf(taskArg) ?? active?.taskId;
      const path = pathOf(pathArg) ?? (taskArg && typeof taskArg === 'object' ? pathOf(taskArg) : undefined) ?? active?.path;
      if (!taskId || !path) {
        void vscode.window.showInformationMessage('Delegate: choose a changed file to accept or reject.');
        return false;
      }
      const file = await s.diffs.file(taskId, path);
      if (!file) return false;
      await s.review.set(taskId, file, file.hunks.map((_, i) => i), decision);
      return true;
    },
  };
}

export const acceptFile = fileDecision('delegate.acceptFile', 'accepted');
export const rejectFile = fileDecision('delegate.rejectFile', 'rejected');
