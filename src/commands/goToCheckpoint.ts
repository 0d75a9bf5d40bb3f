// "Delegate: Go to Checkpoint…": the task's checkpoints in a quick pick, without the panel; then
// what to do with the one picked (view its changes, or follow up from it when that applies).
import * as vscode from 'vscode';
import { canFollowUpFrom, canViewCheckpoint } from '../model/checkpoints';
import { resolveTaskId } from './args';
import { pickCheckpoint } from './checkpointPick';
import type { Command, Services } from './types';

const VIEW = 'View Changes';
const FOLLOW_UP = 'Follow Up from Here…';

export const goToCheckpoint: Command = {
  id: 'delegate.goToCheckpoint',
  async run(s: Services, arg?: unknown): Promise<void> {
    const taskId = await resolveTaskId(s, arg, (status) => status !== 'queued');
    const task = taskId ? s.model.get(taskId) : undefined;
    if (!taskId || !task) return;
    const picked = await pickCheckpoint(s, taskId, undefined, 'Which checkpoint?', (c) => canViewCheckpoint(c, task));
    if (!picked) return;
    const actions = picked.item && canFollowUpFrom(picked.item, task) ? [VIEW, FOLLOW_UP] : [VIEW];
    const action = actions.length === 1 ? VIEW : await vscode.window.showQuickPick(actions, { placeHolder: 'View its changes, or follow up from it?' });
    if (action === VIEW) await vscode.commands.executeCommand('delegate.viewCheckpoint', taskId, picked.version);
    else if (action === FOLLOW_UP) await vscode.commands.executeCommand('delegate.followUpFromCheckpoint', taskId, picked.version);
  },
};
