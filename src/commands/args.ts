// Commands are invoked from the palette (no arguments), menus (a tree node or a URI), CodeLens,
// the panel and tests (explicit ids): these helpers turn any of those into what the command needs.
import * as vscode from 'vscode';
import { fromReviewUri } from '../review/reviewUri';
import { firstLine } from '../util/format';
import type { Services } from './types';

export function taskIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) return arg;
  if (arg instanceof vscode.Uri) return fromReviewUri(arg)?.taskId;
  if (arg && typeof arg === 'object') {
    const o = arg as Record<string, unknown>;
    if (typeof o.taskId === 'string') return o.taskId;
    if (typeof o.id === 'string' && typeof o.status === 'string') return o.id;
  }
  return undefined;
}

export function pathOf(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) return arg;
  if (arg instanceof vscode.Uri) return fromReviewUri(arg)?.path;
  if (arg && typeof arg === 'object' && typeof (arg as { path?: unknown }).path === 'string') {
    return (arg as { path: string }).path;
  }
  return undefined;
}

export function optionsOf<T extends object>(arg: unknown): Partial<T> {
  return arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) ? (arg) : {};
}

/** The review document in front of the user, if any. */
export function activeReview(): { taskId: string; path: string; line: number } | undefined {
  const editor = vscode.window.activeTextEditor;
  const target = editor && fromReviewUri(editor.document.uri);
  return target && editor ? { taskId: target.taskId, path: target.path, line: editor.selection.active.line + 1 } : undefined;
}

/** The task an argument names, else the one under review, else the user picks one. */
export async function resolveTaskId(
  s: Services,
  arg: unknown,
  filter: (status: string) => boolean = () => true,
): Promise<string | undefined> {
  const direct = taskIdOf(arg) ?? activeReview()?.taskId;
  if (direct) return direct;
  const candidates = s.model.list().filter((t) => filter(t.status));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage('Delegate: no matching task.');
    return undefined;
  }
  if (candidates.length === 1) return candidates[0]!.id;
  const picked = await vscode.window.showQuickPick(
    candidates.map((t) => ({ label: firstLine(t.prompt, 70), description: t.status, id: t.id })),
    { placeHolder: 'Which task?' },
  );
  return picked?.id;
}

export function showFailure(what: string, message: string): void {
  void vscode.window.showErrorMessage(`Delegate: ${what}: ${message}`);
}
