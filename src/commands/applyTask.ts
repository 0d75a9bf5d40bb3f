// "Apply to workspace": the taken hunks (accepted or undecided) onto the user's current files, in
// one WorkspaceEdit so a single undo takes it back. Conflicts are found before anything changes.
// `(taskId, {confirm:false, applyRest?:boolean})` skips the dialogs (tests, automation).
import { posix } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../protocol';
import { describeApplied } from '../model/taskActions';
import type { AppliedFile, AppliedRecord } from '../review/appliedState';
import { fingerprint, undecidedNote } from '../review/reviewState';
import { planApply, summarizePlan, type ApplyPlan, type Conflict, type FileAction } from '../review/applyPlan';
import { splice } from '../review/textSplice';
import { optionsOf, resolveTaskId, showFailure } from './args';
import type { Command, Services } from './types';
import type { UndoApplyResult } from './undoApply';

export interface ApplyResult {
  applied: string[];
  conflicts: Conflict[];
  cancelled: boolean;
  /** The files an earlier Apply of this task wrote, when that Apply still stands (nothing done now). */
  alreadyApplied?: string[];
}

interface ApplyOptions {
  confirm: boolean;
  applyRest: boolean;
}

export const applyTask: Command = {
  id: 'delegate.applyTask',
  async run(s: Services, arg?: unknown, opts?: unknown): Promise<ApplyResult | undefined> {
    const taskId = await resolveTaskId(s, arg, (status) => status !== 'queued');
    const task = taskId ? s.model.get(taskId) : undefined;
    if (!task) return undefined;
    const options = optionsOf<ApplyOptions>(opts);
    const root = workspaceRoot(task);
    if (!root) {
      showFailure('cannot apply', 'open the task\'s repository as a workspace folder first');
      return undefined;
    }
    const files = await s.diffs.get(task.id);
    if (!files.ok) {
      showFailure('cannot load the diff', files.error.message);
      return undefined;
    }
    const taken = files.value.flatMap((f) => s.review.taken(task.id, f).map((i) => `${f.path}#${fingerprint(f.hunks[i]!)}`));
    let standing = s.applied.get(task.id);
    if (standing && (await undoneElsewhere(root, standing))) {
      // Taken back by hand (Ctrl+Z, git checkout): the record no longer describes the files.
      await s.applied.forget(task.id);
      standing = undefined;
    }
    if (standing) {
      // Applying over its own earlier Apply would only conflict with itself.
      const same = standing.taken.length === taken.length && taken.every((t) => standing.taken.includes(t));
      const what = `this task is already applied (${describeApplied(standing.paths).toLowerCase()})`;
      if (same) {
        void vscode.window
          .showInformationMessage(`Delegate: ${what}.`, 'Undo Apply')
          .then((choice) => choice && vscode.commands.executeCommand('delegate.undoApply', task.id));
        return { applied: [], conflicts: [], cancelled: true, alreadyApplied: standing.paths };
      }
      // Other decisions than the standing Apply's: take that Apply back first, then apply these.
      const replaced = await replaceApply(s, task.id, what, options.confirm !== false);
      if (!replaced) return { applied: [], conflicts: [], cancelled: true, alreadyApplied: standing.paths };
    }
    const plan = await planApply(files.value, (f) => s.review.taken(task.id, f), (p) => readCurrent(root, p));
    const binaries = await resolveBinaries(s, task.id, root, plan);
    const conflicts = [...plan.conflicts, ...binaries.conflicts];
    const cancelled: ApplyResult = { applied: [], conflicts, cancelled: true };
    if (plan.actions.length === 0) {
      if (conflicts.length) showFailure('nothing applied', describeConflicts(conflicts));
      else void vscode.window.showInformationMessage('Delegate: nothing to apply (every hunk is rejected or already applied).');
      return cancelled;
    }
    if (conflicts.length) {
      const rest = options.applyRest ?? (options.confirm === false ? false : await askApplyRest(conflicts, plan));
      if (!rest) return cancelled;
    } else if (options.confirm !== false) {
      const undecided = undecidedNote(s.review.counts(task.id, files.value));
      const note = undecided ? `\n\n${undecided}` : '';
      const answer = await vscode.window.showInformationMessage(
        `Apply ${summarizePlan(plan)} to ${posix.basename(root.path)}?`,
        { modal: true, detail: plan.actions.map(describeAction).join('\n') + note },
        'Apply',
      );
      if (answer !== 'Apply') return cancelled;
    }
    const edit = new vscode.WorkspaceEdit();
    // Saved afterwards so Apply lands on disk like the created files do. Saving adds no undo stop
    // (one undo on the document still takes the whole Apply back, see test/vscode/suite/undo),
    // but a document the user had unsaved edits in stays unsaved: saving would write their work.
    const toSave: vscode.TextDocument[] = [];
    // What each file was and becomes, so the Apply can be undone later (Undo Apply).
    const record: AppliedFile[] = [];
    for (const action of plan.actions) {
      const uri = vscode.Uri.joinPath(root, action.path);
      switch (action.kind) {
        case 'modify': {
          const doc = await vscode.workspace.openTextDocument(uri);
          const change = splice(doc.getText(), action.text);
          if (change) edit.replace(uri, new vscode.Range(doc.positionAt(change.start), doc.positionAt(change.end)), change.text);
          if (!doc.isDirty) toSave.push(doc);
          record.push({ path: action.path, before: doc.getText(), after: action.text });
          break;
        }
        case 'create':
          edit.createFile(uri, { contents: new TextEncoder().encode(action.text) });
          record.push({ path: action.path, before: null, after: action.text });
          break;
        case 'delete':
          record.push({ path: action.path, before: await readCurrent(root, action.path), after: null });
          edit.deleteFile(uri, { ignoreIfNotExists: true });
          break;
        case 'rename':
          record.push({ path: action.from, before: await readCurrent(root, action.from), after: null });
          record.push({ path: action.path, before: null, after: action.text });
          edit.deleteFile(vscode.Uri.joinPath(root, action.from));
          edit.createFile(uri, { contents: new TextEncoder().encode(action.text) });
          break;
        case 'binary': {
          const bytes = binaries.contents.get(action.path);
          const before = await readBytes(uri);
          record.push({ path: action.path, binary: true, before: before && toBase64(before), after: bytes ? toBase64(bytes) : null });
          if (bytes === null) edit.deleteFile(uri, { ignoreIfNotExists: true });
          else if (bytes) edit.createFile(uri, { overwrite: true, contents: bytes });
          break;
        }
      }
    }
    const applied = await vscode.workspace.applyEdit(edit, { isRefactoring: false });
    if (!applied) {
      showFailure('apply failed', 'VS Code refused the edit (a file may be read-only)');
      return cancelled;
    }
    for (const doc of toSave) {
      if (!(await doc.save())) s.log.warn(`apply: ${doc.uri.fsPath} was changed but could not be saved (dirty: ${doc.isDirty})`);
    }
    const paths = plan.actions.map((a) => a.path);
    await s.applied.record(task.id, { at: new Date().toISOString(), taken, paths, files: record });
    s.log.info(`applied task ${task.id}: ${summarizePlan(plan)}`);
    void vscode.window
      .showInformationMessage(
        `Delegate: ${describeApplied(paths)} (${summarizePlan(plan)}).${conflicts.length ? ` Skipped ${conflicts.length} conflicting file(s).` : ''}`,
        'Undo Apply',
      )
      .then((choice) => choice && vscode.commands.executeCommand('delegate.undoApply', task.id));
    return { applied: paths, conflicts, cancelled: false };
  },
};

/**
 * Undoes the standing Apply so that other decisions can be applied. False when the user declined,
 * or when a file changed since that Apply (it is left alone, and nothing more happens: applying
 * over it would mix two selections of hunks with the user's edits).
 */
async function replaceApply(s: Services, taskId: string, what: string, confirm: boolean): Promise<boolean> {
  if (confirm) {
    const answer = await vscode.window.showInformationMessage(
      `Delegate: ${what}, with other decisions than now. Undo that Apply and apply the current decisions?`,
      { modal: true },
      'Undo and Apply',
    );
    if (answer !== 'Undo and Apply') return false;
  }
  const undone = await vscode.commands.executeCommand<UndoApplyResult | undefined>('delegate.undoApply', taskId, { confirm: false, whole: true, quiet: true });
  if (!undone) return false;
  if (undone.skipped.length > 0) {
    showFailure(
      'nothing applied',
      `${undone.skipped.map((c) => c.path).join(', ')} changed since the first Apply, so nothing was undone and the new decisions were not applied. Take your edits there back (or undo the first Apply with Undo Apply, which leaves such files alone), then apply again.`,
    );
    return false;
  }
  return true;
}

/** The folder the task's changes belong to: its local path, else a folder of the same name. */
export function workspaceRoot(task: Task): vscode.Uri | undefined {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const byPath = task.repo.path ? folders.find((f) => f.uri.fsPath === task.repo.path) : undefined;
  if (byPath) return byPath.uri;
  if (task.repo.path) {
    // A subfolder of the repository may be open; the repository root is still the right base.
    const inside = folders.find((f) => f.uri.fsPath.startsWith(`${task.repo.path}/`));
    if (inside) return vscode.Uri.file(task.repo.path);
  }
  return (folders.find((f) => f.name === task.repo.name) ?? folders[0])?.uri;
}

/** The user's text as they see it: the open (possibly unsaved) document, else the file on disk. */
export async function readCurrent(root: vscode.Uri, path: string): Promise<string | null> {
  const uri = vscode.Uri.joinPath(root, path);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return null;
  }
}

/** Binary files are taken whole, and only over an unchanged base. */
async function resolveBinaries(
  s: Services,
  taskId: string,
  root: vscode.Uri,
  plan: ApplyPlan,
): Promise<{ contents: Map<string, Uint8Array | null>; conflicts: Conflict[] }> {
  const contents = new Map<string, Uint8Array | null>();
  const conflicts: Conflict[] = [];
  for (const action of plan.actions) {
    if (action.kind !== 'binary') continue;
    const [base, head] = await Promise.all([
      s.api.file(taskId, action.oldPath ?? action.path, 'base'),
      s.api.file(taskId, action.path, 'head'),
    ]);
    let current: Uint8Array | null = null;
    try {
      current = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(root, action.path));
    } catch {
      current = null;
    }
    if (!base.ok || !head.ok) conflicts.push({ path: action.path, reason: 'cannot fetch the binary file' });
    else if (!sameBytes(current, base.value)) conflicts.push({ path: action.path, reason: 'the binary file changed since the task started' });
    else contents.set(action.path, head.value);
  }
  plan.actions = plan.actions.filter((a) => a.kind !== 'binary' || contents.has(a.path));
  return { contents, conflicts };
}

/** True when every file of the Apply is back as it was before it. */
async function undoneElsewhere(root: vscode.Uri, record: AppliedRecord): Promise<boolean> {
  for (const file of record.files) {
    const uri = vscode.Uri.joinPath(root, file.path);
    const current = file.binary ? await readBytes(uri).then((b) => b && toBase64(b)) : await readCurrent(root, file.path);
    if (current !== file.before) return false;
  }
  return true;
}

async function readBytes(uri: vscode.Uri): Promise<Uint8Array | null> {
  try {
    return await vscode.workspace.fs.readFile(uri);
  } catch {
    return null;
  }
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function askApplyRest(conflicts: Conflict[], plan: ApplyPlan): Promise<boolean> {
  const answer = await vscode.window.showWarningMessage(
    `${conflicts.length} file(s) conflict with your current changes. Apply the other ${plan.actions.length} file(s)?`,
    { modal: true, detail: describeConflicts(conflicts) },
    'Apply the Rest',
  );
  return answer === 'Apply the Rest';
}

function describeConflicts(conflicts: Conflict[]): string {
  return conflicts.map((c) => `${c.path}: ${c.reason}`).join('\n');
}

function describeAction(a: FileAction): string {
  switch (a.kind) {
    case 'modify':
      return `${a.path}: ${a.hunks} hunk(s)`;
    case 'create':
      return `${a.path}: new file`;
    case 'delete':
      return `${a.path}: delete`;
    case 'rename':
      return `${a.from} → ${a.path}`;
    case 'binary':
      return `${a.path}: binary`;
  }
}
