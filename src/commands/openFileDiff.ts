// One changed file in VS Code's diff editor: base (the task's commit) vs the agent's version, both
// read-only virtual documents. Opening never takes focus from where the user is typing unless asked.
import { posix } from 'node:path';
import * as vscode from 'vscode';
import { VIEW_TYPE as PANEL_VIEW_TYPE } from '../panel/taskPanel';
import { toReviewUri } from '../review/reviewUri';
import { workspaceRoot } from './applyTask';
import { optionsOf, pathOf, taskIdOf } from './args';
import { focusCodeGroup, reviewResources } from './reviewTask';
import type { Command, Services } from './types';

export const openFileDiff: Command = {
  id: 'delegate.openFileDiff',
  async run(s: Services, taskArg?: unknown, pathArg?: unknown, opts?: unknown): Promise<void> {
    const taskId = taskIdOf(taskArg);
    const path = pathOf(pathArg) ?? pathOf(taskArg);
    if (!taskId || !path) return;
    await openDiff(s, taskId, path, optionsOf<{ preserveFocus: boolean }>(opts).preserveFocus ?? false);
  },
};

export async function openDiff(s: Services, taskId: string, path: string, preserveFocus: boolean): Promise<void> {
  const task = s.model.get(taskId);
  const file = task?.changedFiles.find((f) => f.path === path);
  if (task && file && (file.status === 'added' || file.status === 'deleted')) {
    // One side does not exist: the changes editor shows that as such (a plain diff against an
    // empty document shows a stray deleted empty line).
    const title = `${posix.basename(path)} (${file.status === 'added' ? 'new file' : 'deleted'})`;
    await focusCodeGroup();
    await vscode.commands.executeCommand('vscode.changes', title, [reviewResources(taskId, file, workspaceRoot(task))]);
    return;
  }
  const basePath = file?.status === 'renamed' && file.oldPath ? file.oldPath : path;
  const base = toReviewUri({ taskId, path: basePath, side: 'base' });
  const head = toReviewUri({ taskId, path, side: 'head' });
  const title = `${posix.basename(path)} (base ↔ agent)`;
  await vscode.commands.executeCommand('vscode.diff', base, head, title, { preview: true, preserveFocus, viewColumn: diffColumn() });
}

/**
 * Where a review diff opens: in the active editor group, unless that is the Delegate panel's
 * (opened beside the code, so narrow) — then in another group, next to the user's code.
 */
export function diffColumn(): vscode.ViewColumn | undefined {
  const groups = vscode.window.tabGroups;
  const active = groups.activeTabGroup;
  const input = active.activeTab?.input;
  // VS Code reports an extension's webview type with a prefix (mainThreadWebview-<viewType>).
  const isPanel = input instanceof vscode.TabInputWebview && input.viewType.endsWith(PANEL_VIEW_TYPE);
  if (!isPanel) return undefined;
  return groups.all.find((g) => g !== active)?.viewColumn;
}
