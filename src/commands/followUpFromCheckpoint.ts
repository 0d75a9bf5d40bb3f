// "Follow up from here" on an earlier checkpoint: the server sets the task's workspace back to that
// checkpoint, then the agent continues from there with the user's message. The later turns' changes
// are undone in the task's workspace only (they stay viewable; the user's files are not touched),
// so a modal says so first. A message that could not be sent is kept for another try.
// `(taskId, version?, text?, {confirm?: false})`: tests pass the text and skip the dialog.
import * as vscode from 'vscode';
import type { MessageResponse } from '../../protocol';
import { canFollowUpFrom, turnName } from '../model/checkpoints';
import { optionsOf, resolveTaskId, showFailure } from './args';
import { pickCheckpoint } from './checkpointPick';
import type { Command, Services } from './types';

const FINISHED = ['completed', 'failed', 'cancelled', 'interrupted'];
const CONFIRM = 'Set Back and Follow Up';
const RETRY = 'Edit and Send Again';

export const followUpFromCheckpoint: Command = {
  id: 'delegate.followUpFromCheckpoint',
  async run(s: Services, arg?: unknown, versionArg?: unknown, textArg?: unknown, opts?: unknown): Promise<MessageResponse | undefined> {
    const taskId = await resolveTaskId(s, arg, (status) => FINISHED.includes(status));
    const task = taskId ? s.model.get(taskId) : undefined;
    if (!taskId || !task) return undefined;
    if (!FINISHED.includes(task.status)) {
      void vscode.window.showInformationMessage('Delegate: the task is still working. Wait for it to stop (or cancel it) to follow up from an earlier turn.');
      return undefined;
    }
    const picked = await pickCheckpoint(s, taskId, versionArg, 'Follow up from which checkpoint?', (c) => canFollowUpFrom(c, task));
    if (!picked) return undefined;
    const when = picked.item ? turnName(picked.item.turn) : 'this checkpoint';
    if (optionsOf<{ confirm: boolean }>(opts).confirm !== false) {
      const choice = await vscode.window.showWarningMessage(
        `Follow up from ${when}?`,
        {
          modal: true,
          detail: `The task's workspace goes back to how it was after ${when} first: the changes of later turns are undone there. They stay in the timeline, where you can still view them. Your own files are not touched.`,
        },
        CONFIRM,
      );
      if (choice !== CONFIRM) return undefined;
    }
    let text = typeof textArg === 'string' ? textArg : undefined;
    for (let typed = ''; ; ) {
      if (typeof textArg !== 'string') {
        text = await vscode.window.showInputBox({
          title: `Follow up from ${when}`,
          prompt: `The agent continues in the task's workspace as it was after ${when}`,
          value: typed,
          ignoreFocusOut: true,
        });
      }
      if (!text?.trim()) return undefined;
      const r = await s.api.sendMessage(taskId, text.trim(), undefined, picked.version);
      if (r.ok) {
        s.model.upsert(r.value.task);
        return r.value;
      }
      if (typeof textArg === 'string') {
        showFailure('the follow-up was not sent', r.error.message);
        return undefined;
      }
      // What was typed comes back in the box for another try.
      typed = text;
      const again = await vscode.window.showErrorMessage(`Delegate: the follow-up was not sent: ${r.error.message}`, RETRY);
      if (again !== RETRY) return undefined;
    }
  },
};
