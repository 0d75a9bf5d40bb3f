// Shows the task panel: a task's timeline when given one; else the open panel as it is (a task
// panel stays on its task — it has a "New Task" button); else the prompt editor.
import * as vscode from 'vscode';
import { taskIdOf } from './args';
import type { Command, Services } from './types';

export const openPanel: Command = {
  id: 'delegate.openPanel',
  async run(s: Services, arg?: unknown): Promise<void> {
    const taskId = taskIdOf(arg);
    if (taskId) {
      s.panel.showTask(taskId);
      return;
    }
    if (s.panel.reveal()) return;
    const captured = await s.submitter.capture(vscode.window.activeTextEditor);
    s.panel.compose(captured.ok ? captured.value : undefined);
  },
};
