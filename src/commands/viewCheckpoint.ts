// "View changes" on a checkpoint: the task's files as of that checkpoint against its base, in VS
// Code's multi-file diff editor, the way Review shows the current state (same resources, same
// content provider; the documents carry the checkpoint). `(taskId, version?)`; answers the paths
// shown, or the server's message when it cannot show the checkpoint (for tests).
import * as vscode from 'vscode';
import { parseUnifiedDiff } from '../../protocol';
import { canViewCheckpoint, turnName } from '../model/checkpoints';
import { shortTitle } from '../util/format';
import { workspaceRoot } from './applyTask';
import { resolveTaskId, showFailure } from './args';
import { pickCheckpoint } from './checkpointPick';
import { focusCodeGroup, reviewResources } from './reviewTask';
import type { Command, Services } from './types';

export const viewCheckpoint: Command = {
  id: 'delegate.viewCheckpoint',
  async run(s: Services, arg?: unknown, versionArg?: unknown): Promise<{ paths: string[] } | { error: string } | undefined> {
    const taskId = await resolveTaskId(s, arg);
    const task = taskId ? s.model.get(taskId) : undefined;
    if (!taskId || !task) return undefined;
    const picked = await pickCheckpoint(s, taskId, versionArg, 'The changes as of which checkpoint?', (c) => canViewCheckpoint(c, task));
    if (!picked) return undefined;
    const r = await s.api.checkpointDiff(taskId, picked.version);
    if (!r.ok) {
      // 404 for a checkpoint the server does not know (or a fleet node that did not run it): its words.
      showFailure('cannot show the checkpoint', r.error.message);
      return { error: r.error.message };
    }
    const files = parseUnifiedDiff(r.value);
    const when = picked.item ? turnName(picked.item.turn) : 'this checkpoint';
    if (files.length === 0) {
      void vscode.window.showInformationMessage(`Delegate: no files were changed as of ${when}.`);
      return { paths: [] };
    }
    const root = workspaceRoot(task);
    await focusCodeGroup();
    const title = `${when.charAt(0).toUpperCase()}${when.slice(1)}: ${shortTitle(task.prompt, 50)}`;
    await vscode.commands.executeCommand('vscode.changes', title, files.map((f) => reviewResources(taskId, f, root, picked.version)));
    return { paths: files.map((f) => f.path) };
  },
};
