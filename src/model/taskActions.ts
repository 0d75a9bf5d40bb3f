// Which buttons a task offers, decided once from its state (pure, no `vscode`): the panel's
// webview renders them and the extension reports them to tests, so both agree by construction.
import type { Task } from '../../protocol/task';
import type { PanelAction } from '../webview/messages';

export interface ActionState {
  /** Hunks the user rejected in the review. */
  rejected: number;
  /** Files the last Apply wrote, while it stands (not undone); null when not applied. */
  applied: readonly string[] | null;
}

export interface ActionButton {
  action: PanelAction;
  label: string;
  primary: boolean;
}

const ACTIVE = ['queued', 'preparing', 'running', 'waiting_for_input'];

export function taskActions(task: Task, state: ActionState): ActionButton[] {
  const active = ACTIVE.includes(task.status);
  const changes = task.changedFiles.length > 0;
  const out: ActionButton[] = [];
  const add = (action: PanelAction, label: string, primary = false): void => void out.push({ action, label, primary });
  if (active) add('cancel', 'Cancel');
  if (task.status === 'failed' || task.status === 'interrupted') add('retry', 'Retry', !changes);
  if (changes) add('review', 'Review', !active && state.applied === null);
  if (changes && !active) {
    if (state.applied === null) add('apply', 'Apply');
    else add('undoApply', 'Undo Apply');
  }
  if (changes && !active && !task.pullRequest) add('pullRequest', 'Pull Request');
  if (task.pullRequest) add('openPullRequest', `PR #${task.pullRequest.number}`);
  if (changes && !active && state.rejected > 0) add('sendRejections', 'Send Rejections');
  if (!active) add('remove', 'Remove');
  return out;
}

/** "Applied 2 files" for the task's header while an Apply stands. */
export function describeApplied(files: readonly string[]): string {
  return `Applied ${files.length} ${files.length === 1 ? 'file' : 'files'}`;
}
