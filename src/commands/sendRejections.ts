// Sends the rejected hunks back to the agent with the user's reason, as a follow-up message.
import * as vscode from 'vscode';
import { optionsOf, resolveTaskId, showFailure } from './args';
import type { Command, Services } from './types';

const MAX_QUOTED = 20_000;

export const sendRejections: Command = {
  id: 'delegate.sendRejectionsToAgent',
  async run(s: Services, arg?: unknown, opts?: unknown): Promise<boolean> {
    const taskId = await resolveTaskId(s, arg);
    if (!taskId) return false;
    const files = await s.diffs.get(taskId);
    if (!files.ok) {
      showFailure('cannot load the diff', files.error.message);
      return false;
    }
    const quoted: string[] = [];
    for (const file of files.value) {
      s.review.decisions(taskId, file).forEach((d, i) => {
        const h = file.hunks[i];
        if (d === 'rejected' && h) quoted.push(`${file.path}, hunk ${i + 1}:\n${h.header}\n${h.lines.join('\n')}`);
      });
    }
    if (quoted.length === 0) {
      void vscode.window.showInformationMessage('Delegate: no hunk is rejected.');
      return false;
    }
    let reason = optionsOf<{ reason: string }>(opts).reason;
    reason ??= await vscode.window.showInputBox({
      title: `Send ${quoted.length} rejected hunk${quoted.length === 1 ? '' : 's'} back to the agent`,
      prompt: 'Why were they rejected? What should the agent do instead?',
      ignoreFocusOut: true,
    });
    if (reason === undefined) return false;
    let body = quoted.join('\n\n');
    if (body.length > MAX_QUOTED) body = `${body.slice(0, MAX_QUOTED)}\n…`;
    const text = `I rejected these changes${reason.trim() ? `: ${reason.trim()}` : '.'}\n\n${body}`;
    const r = await s.api.sendMessage(taskId, text);
    if (!r.ok) {
      showFailure('the message was not sent', r.error.message);
      return false;
    }
    s.model.upsert(r.value.task);
    return true;
  },
};
