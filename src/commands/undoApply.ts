// "Undo Apply": puts back what the task's last Apply replaced, file by file, in one WorkspaceEdit.
// A file the user changed after the Apply is left alone (and named); `{confirm:false}` skips asking,
// `{whole:true}` undoes nothing unless every file can be undone, `{quiet:true}` says nothing when done
// (a second Apply with other decisions undoes the first this way).
import * as vscode from 'vscode';
import type { AppliedFile } from '../review/appliedState';
import type { Conflict } from '../review/applyPlan';
import { splice } from '../review/textSplice';
import { readCurrent, toBase64, workspaceRoot } from './applyTask';
import { optionsOf, taskIdOf } from './args';
import type { Command, Services } from './types';

export interface UndoApplyResult {
  restored: string[];
  skipped: Conflict[];
}

export const undoApply: Command = {
  id: 'delegate.undoApply',
  async run(s: Services, arg?: unknown, opts?: unknown): Promise<UndoApplyResult | undefined> {
    const taskId = taskIdOf(arg) ?? (await pickApplied(s));
    const record = taskId ? s.applied.get(taskId) : undefined;
    if (!taskId || !record) {
      void vscode.window.showInformationMessage('Delegate: no Apply to undo.');
      return undefined;
    }
    const task = s.model.get(taskId);
    const root = task ? workspaceRoot(task) : vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!root) return undefined;
    const ready: AppliedFile[] = [];
    const skipped: Conflict[] = [];
    for (const file of record.files) {
      const current = file.binary ? await readBase64(vscode.Uri.joinPath(root, file.path)) : await readCurrent(root, file.path);
      if (current === file.after) ready.push(file);
      // Already back as it was (an undo in the editor): nothing to do for it.
      else if (current !== file.before) skipped.push({ path: file.path, reason: 'changed since the Apply' });
    }
    const options = optionsOf<{ confirm: boolean; whole: boolean; quiet: boolean }>(opts);
    if (skipped.length && options.whole) return { restored: [], skipped };
    if (skipped.length && options.confirm !== false) {
      const answer = await vscode.window.showWarningMessage(
        `${skipped.length} file(s) changed since the Apply and stay as they are. Undo the Apply in the other ${ready.length}?`,
        { modal: true, detail: skipped.map((c) => c.path).join('\n') },
        'Undo the Rest',
      );
      if (answer !== 'Undo the Rest') return { restored: [], skipped };
    }
    const edit = new vscode.WorkspaceEdit();
    const toSave: vscode.TextDocument[] = [];
    for (const file of ready) {
      const uri = vscode.Uri.joinPath(root, file.path);
      if (file.before === null) edit.deleteFile(uri, { ignoreIfNotExists: true });
      else if (file.after === null || file.binary) edit.createFile(uri, { overwrite: true, contents: contents(file, file.before) });
      else {
        const doc = await vscode.workspace.openTextDocument(uri);
        const change = splice(doc.getText(), file.before);
        if (change) edit.replace(uri, new vscode.Range(doc.positionAt(change.start), doc.positionAt(change.end)), change.text);
        if (!doc.isDirty) toSave.push(doc);
      }
    }
    if (!(await vscode.workspace.applyEdit(edit, { isRefactoring: false }))) {
      void vscode.window.showErrorMessage('Delegate: undo failed: VS Code refused the edit (a file may be read-only).');
      return { restored: [], skipped };
    }
    for (const doc of toSave) await doc.save();
    await s.applied.forget(taskId);
    const restored = ready.map((f) => f.path);
    s.log.info(`undid the Apply of task ${taskId}: ${restored.length} file(s), ${skipped.length} left as they are`);
    if (!options.quiet) void vscode.window.showInformationMessage(
      `Delegate: undid the Apply (${restored.length} file${restored.length === 1 ? '' : 's'}).${skipped.length ? ` Left ${skipped.length} changed file(s) as they are.` : ''}`,
    );
    return { restored, skipped };
  },
};

function contents(file: AppliedFile, text: string): Uint8Array {
  return file.binary ? Buffer.from(text, 'base64') : new TextEncoder().encode(text);
}

async function readBase64(uri: vscode.Uri): Promise<string | null> {
  try {
    return toBase64(await vscode.workspace.fs.readFile(uri));
  } catch {
    return null;
  }
}

async function pickApplied(s: Services): Promise<string | undefined> {
  const tasks = s.model.list().filter((t) => s.applied.get(t.id));
  if (tasks.length <= 1) return tasks[0]?.id;
  const picked = await vscode.window.showQuickPick(tasks.map((t) => ({ label: t.prompt.split('\n', 1)[0] ?? t.id, id: t.id })), { placeHolder: 'Undo the Apply of which task?' });
  return picked?.id;
}
