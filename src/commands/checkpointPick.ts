// Which checkpoint a checkpoint command acts on: the one it was given (the panel's marker, tests),
// else the user picks one of the task's from a quick pick.
import * as vscode from 'vscode';
import { checkpointsOf, describeCheckpoint, type CheckpointItem } from '../model/checkpoints';
import type { Services } from './types';

/** The task's checkpoint at `version` as its timeline shows it (the latest, if a state recurs). */
export function findCheckpoint(s: Services, taskId: string, version: string): CheckpointItem | undefined {
  return checkpointsOf(s.model.timeline(taskId)?.items ?? []).find((c) => c.version === version);
}

/** "current" / "undone" / "" — where the task's workspace stands relative to the checkpoint. */
export function checkpointState(item: CheckpointItem): string {
  return item.current ? 'the workspace is here now' : item.undone ? 'undone by a later follow-up' : '';
}

/**
 * The checkpoint named by `arg` (a version), or one the user picks among the task's checkpoints
 * that pass `filter`; undefined when there is none or the user cancels.
 */
export async function pickCheckpoint(
  s: Services,
  taskId: string,
  arg: unknown,
  placeHolder: string,
  filter: (item: CheckpointItem) => boolean = () => true,
): Promise<{ version: string; item: CheckpointItem | undefined } | undefined> {
  if (typeof arg === 'string' && arg) return { version: arg, item: findCheckpoint(s, taskId, arg) };
  const items = checkpointsOf(s.model.timeline(taskId)?.items ?? []).filter(filter);
  if (items.length === 0) {
    void vscode.window.showInformationMessage('Delegate: this task has no checkpoints (a turn that changed files leaves one; an older server keeps none).');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    items.map((item) => ({ label: describeCheckpoint(item), description: checkpointState(item), item })),
    { placeHolder },
  );
  return picked ? { version: picked.item.version, item: picked.item } : undefined;
}
