// Accept / Reject one hunk: `(taskId, path, hunkIndex)` from CodeLens and tests, or — from a
// keybinding or the editor title — the hunk under the cursor in the review diff in front of the user.
import * as vscode from 'vscode';
import { hunkAt } from '../review/hunkAt';
import type { Decision } from '../review/reviewState';
import { activeReview, pathOf, taskIdOf } from './args';
import type { Command, Services } from './types';

function hunkDecision(id: string, decision: Decision): Command {
  return {
    id,
    async run(s: Services, taskArg?: unknown, pathArg?: unknown, indexArg?: unknown): Promise<boolean> {
      const active = activeReview();
      const taskId = taskIdOf(taskArg) ?? active?.taskId;
      const path = pathOf(pathArg) ?? active?.path;
      if (!taskId || !path) {
        void vscode.window.showInformationMessage('Delegate: open a review diff to accept or reject its hunks.');
        return false;
      }
      const file = await s.diffs.file(taskId, path);
      if (!file) return false;
      const index = typeof indexArg === 'number' ? indexArg : active ? hunkAt(file, active.line) : undefined;
      if (index === undefined || !file.hunks[index]) return false;
      await s.review.set(taskId, file, [index], decision);
      return true;
    },
  };
}

export const acceptHunk = hunkDecision('delegate.acceptHunk', 'accepted');
export const rejectHunk = hunkDecision('delegate.rejectHunk', 'rejected');
