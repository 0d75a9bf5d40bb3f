// Best-of-N: make the task mirror one attempt — its changed files, summary, diff and review.
// `(taskId, attempt)` with the 0-based attempt index as the server counts them (the panel's
// "Use this one", tests); without arguments the user picks the task and then the attempt.
import * as vscode from 'vscode';
import type { Task } from '../../protocol';
import { attemptRows, describeAttempt, hasAttempts } from '../model/attempts';
import { firstLine } from '../util/format';
import { activeReview, showFailure, taskIdOf } from './args';
import type { Command, Services } from './types';

export const selectAttempt: Command = {
  id: 'delegate.selectAttempt',
  async run(s: Services, taskArg?: unknown, attemptArg?: unknown): Promise<Task | undefined> {
    const task = await pickTask(s, taskIdOf(taskArg) ?? activeReview()?.taskId);
    if (!task) return undefined;
    const rows = attemptRows(task);
    let attempt = typeof attemptArg === 'number' ? attemptArg : undefined;
    if (attempt === undefined) {
      const picked = await vscode.window.showQuickPick(
        rows.map((r) => ({
          label: `${r.selected ? '$(check) ' : ''}${r.title}`,
          description: describeAttempt(r),
          detail: r.error ?? (r.summary ? firstLine(r.summary, 200) : undefined),
          index: r.index,
        })),
        { title: `Attempts of "${firstLine(task.prompt, 50)}"`, placeHolder: 'Which attempt should the task show and apply?' },
      );
      if (!picked) return undefined;
      attempt = picked.index;
    }
    const row = rows.find((r) => r.index === attempt);
    if (!row) {
      showFailure('no such attempt', `the task has attempts 0–${rows.length - 1}, not ${attempt}`);
      return undefined;
    }
    if (row.selected) return task;
    if (!row.selectable) {
      void vscode.window.showInformationMessage(`Delegate: ${row.title} is still ${row.status.replace(/_/g, ' ')}; choose it once it has finished.`);
      return undefined;
    }
    const r = await s.api.selectAttempt(task.id, row.index);
    if (!r.ok) {
      showFailure('cannot select the attempt', r.error.message);
      return undefined;
    }
    // The answer is the truth at once: the event stream may say nothing when the status stays.
    s.model.upsert(r.value);
    s.log.info(`task ${task.id}: selected attempt ${row.index + 1} of ${rows.length}`);
    return s.model.get(task.id);
  },
};

async function pickTask(s: Services, taskId: string | undefined): Promise<Task | undefined> {
  if (taskId) {
    const task = s.model.get(taskId);
    if (!task || !hasAttempts(task)) {
      void vscode.window.showInformationMessage('Delegate: this task ran a single attempt.');
      return undefined;
    }
    return task;
  }
  const candidates = s.model.list().filter(hasAttempts);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage('Delegate: no task ran more than one attempt.');
    return undefined;
  }
  if (candidates.length === 1) return candidates[0];
  const picked = await vscode.window.showQuickPick(
    candidates.map((t) => ({ label: firstLine(t.prompt, 70), description: `${t.attempts!.length} attempts · ${t.status}`, id: t.id })),
    { placeHolder: 'Which task?' },
  );
  return picked ? s.model.get(picked.id) : undefined;
}
