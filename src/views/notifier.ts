// Notifications for what needs the user: a task finished (Review) or asks a question (Answer).
// Only live changes notify; a replay after reconnecting stays quiet.
import * as vscode from 'vscode';
import { readSettings } from '../config';
import type { TaskModel } from '../model/taskModel';
import { firstLine } from '../util/format';

interface QuestionItem extends vscode.MessageItem {
  /** A suggested answer: sent as it is. */
  answer?: string;
  action?: 'Answer' | 'Show';
}

export class Notifier implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[];

  constructor(model: TaskModel) {
    this.subscriptions = [
      model.onDidTransition(({ task }) => {
        if (readSettings().notifications !== 'all') return;
        const name = firstLine(task.prompt, 50);
        if (task.status === 'completed') {
          const files = task.changedFiles.length;
          const actions = files ? ['Review', 'Show'] : ['Show'];
          void vscode.window
            .showInformationMessage(`Delegate finished "${name}" (${files} file${files === 1 ? '' : 's'} changed).`, ...actions)
            .then((choice) => this.act(choice, task.id));
        } else if (task.status === 'failed') {
          void vscode.window
            .showErrorMessage(`Delegate task "${name}" failed: ${task.error?.message ?? 'unknown error'}`, 'Retry', 'Show')
            .then((choice) => this.act(choice, task.id));
        }
      }),
      model.onDidAskQuestion(({ task, text, choices }) => {
        if (readSettings().notifications === 'off') return;
        // Suggested answers are buttons that answer at once; items, not strings, so a choice
        // that reads "Show" still answers. Free text stays one click away.
        const items: QuestionItem[] = [
          ...choices.map((c): QuestionItem => ({ title: c, answer: c })),
          { title: choices.length ? 'Other Answer…' : 'Answer', action: 'Answer' },
          { title: 'Show', action: 'Show' },
        ];
        // Several tasks may ask at once: say which one this is.
        void vscode.window
          .showInformationMessage(`Delegate: "${firstLine(task.prompt, 50)}" asks: ${firstLine(text, 200)}`, ...items)
          .then((item) => {
            if (item?.answer !== undefined) void vscode.commands.executeCommand('delegate.followUp', task.id, item.answer);
            else this.act(item?.action, task.id);
          });
      }),
    ];
  }

  private act(choice: string | undefined, taskId: string): void {
    if (choice === 'Review') void vscode.commands.executeCommand('delegate.reviewTask', taskId);
    else if (choice === 'Show') void vscode.commands.executeCommand('delegate.openPanel', taskId);
    else if (choice === 'Answer') void vscode.commands.executeCommand('delegate.followUp', taskId);
    else if (choice === 'Retry') void vscode.commands.executeCommand('delegate.retryTask', taskId);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
