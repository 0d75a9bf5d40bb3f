// A message into a task: steers a running one, answers its question, or follows up a finished one
// (same workspace, same branch). `(taskId, text)` sends without asking.
import * as vscode from 'vscode';
import type { MessageResponse } from '../../protocol';
import { resolveTaskId, showFailure } from './args';
import type { Command, Services } from './types';

export const followUp: Command = {
  id: 'delegate.followUp',
  async run(s: Services, arg?: unknown, textArg?: unknown): Promise<MessageResponse | undefined> {
    const taskId = await resolveTaskId(s, arg);
    if (!taskId) return undefined;
    const task = s.model.get(taskId);
    let text = typeof textArg === 'string' ? textArg : undefined;
    if (text === undefined) {
      const question = task?.status === 'waiting_for_input' ? task.question?.text : undefined;
      text = await vscode.window.showInputBox({
        title: question ? 'Answer the agent' : 'Message to the agent',
        prompt: question ?? (task && ['completed', 'failed', 'cancelled', 'interrupted'].includes(task.status)
          ? 'A follow-up: the agent continues in the same workspace'
          : 'Steer the running task: read at its next turn'),
        ignoreFocusOut: true,
      });
    }
    if (!text?.trim()) return undefined;
    const r = await s.api.sendMessage(taskId, text.trim());
    if (!r.ok) {
      showFailure('the message was not sent', r.error.message);
      return undefined;
    }
    s.model.upsert(r.value.task);
    return r.value;
  },
};
