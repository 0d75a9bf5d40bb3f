// Starts reviewing a task: every changed file in VS Code's multi-file diff editor (the task's
// commit vs the agent's version, read-only documents with the Accept / Reject CodeLens in each).
// A new file has no base side and a deleted one no agent side, so neither shows a stray empty line.
import * as vscode from 'vscode';
import type { FileDiff } from '../../protocol';
import { toCheckpointUri, toReviewUri, type ReviewTarget } from '../review/reviewUri';
import { shortTitle } from '../util/format';
import { workspaceRoot } from './applyTask';
import { resolveTaskId, showFailure } from './args';
import { diffColumn } from './openFileDiff';
import type { Command, Services } from './types';

export const reviewTask: Command = {
  id: 'delegate.reviewTask',
  async run(s: Services, arg?: unknown): Promise<void> {
    const taskId = await resolveTaskId(s, arg, (status) => status !== 'queued');
    const task = taskId ? s.model.get(taskId) : undefined;
    if (!taskId || !task) return;
    const files = await s.diffs.get(taskId);
    if (!files.ok) {
      showFailure('cannot load the diff', files.error.message);
      return;
    }
    if (files.value.length === 0) {
      void vscode.window.showInformationMessage('Delegate: this task changed no files.');
      return;
    }
    const root = workspaceRoot(task);
    const resources = files.value.map((f) => reviewResources(taskId, f, root));
    await focusCodeGroup();
    await vscode.commands.executeCommand('vscode.changes', `Review: ${shortTitle(task.prompt, 50)}`, resources);
  },
};

const FOCUS_GROUP = ['First', 'Second', 'Third', 'Fourth', 'Fifth', 'Sixth', 'Seventh', 'Eighth'];

/**
 * The changes editor opens in the active group: when that is the Delegate panel's (narrow, beside
 * the code), move to the code's group first, as single-file diffs do (diffColumn).
 */
export async function focusCodeGroup(): Promise<void> {
  const column = diffColumn();
  const name = column !== undefined ? FOCUS_GROUP[column - 1] : undefined;
  if (name) await vscode.commands.executeCommand(`workbench.action.focus${name}EditorGroup`);
}

/**
 * [the file as the list names it, base side or undefined, agent side or undefined]; with
 * `checkpoint`, the agent's side as of that checkpoint (documents without the review's CodeLens).
 */
export function reviewResources(
  taskId: string,
  file: { path: string; oldPath?: string | null | undefined; status: FileDiff['status'] },
  root: vscode.Uri | undefined,
  checkpoint?: string,
): [vscode.Uri, vscode.Uri | undefined, vscode.Uri | undefined] {
  const uri = (target: ReviewTarget): vscode.Uri => (checkpoint === undefined ? toReviewUri(target) : toCheckpointUri({ ...target, checkpoint }));
  const head = uri({ taskId, path: file.path, side: 'head' });
  const base = uri({ taskId, path: file.status === 'renamed' && file.oldPath ? file.oldPath : file.path, side: 'base' });
  const label = root ? vscode.Uri.joinPath(root, file.path) : head;
  return [label, file.status === 'added' ? undefined : base, file.status === 'deleted' ? undefined : head];
}
