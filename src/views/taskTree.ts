// The sidebar queue: renders the task model (active first, then newest), each task's changed
// files as children, and the review progress. It owns no state of its own.
import { posix } from 'node:path';
import * as vscode from 'vscode';
import { isFinished, type ChangedFile, type Task, type TaskStatus } from '../../protocol';
import { attemptRows, describeAttempt, hasAttempts } from '../model/attempts';
import type { TaskModel } from '../model/taskModel';
import type { DiffStore } from '../review/diffStore';
import { describeCounts, type ReviewState } from '../review/reviewState';
import { REVIEW_SCHEME } from '../review/reviewUri';
import { firstLine, formatShortElapsed, shortTitle } from '../util/format';

export type TreeNode = { kind: 'task'; taskId: string } | { kind: 'file'; taskId: string; path: string };

/** Short enough that the description beside it shows at the default sidebar width (~300 px). */
export const TASK_LABEL_MAX = 22;

/** The state is the row's icon and its colour; the words go to the tooltip and screen readers. */
const ICONS: Record<TaskStatus, [string, string]> = {
  queued: ['clock', 'testing.iconQueued'],
  preparing: ['loading~spin', 'charts.blue'],
  running: ['loading~spin', 'charts.blue'],
  waiting_for_input: ['question', 'notificationsWarningIcon.foreground'],
  completed: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
  interrupted: ['debug-disconnect', 'notificationsWarningIcon.foreground'],
};

export class TaskTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly model: TaskModel,
    private readonly diffs: DiffStore,
    private readonly review: ReviewState,
  ) {
    const refresh = () => this.changed.fire(undefined);
    this.subscriptions.push(model.onDidChange(refresh), diffs.onDidChange(refresh), review.onDidChange(refresh));
    // Elapsed times move on while something runs.
    this.ticker = setInterval(() => {
      if (model.list().some((t) => !isFinished(t.status))) refresh();
    }, 5000);
    this.subscriptions.push(model.onDidChange(() => void vscode.commands.executeCommand('setContext', 'delegate.hasTasks', model.list().length > 0)));
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) return this.model.list().map((t) => ({ kind: 'task', taskId: t.id }));
    if (node.kind === 'file') return [];
    const task = this.model.get(node.taskId);
    return (task?.changedFiles ?? []).map((f) => ({ kind: 'file', taskId: node.taskId, path: f.path }));
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.kind === 'file' ? { kind: 'task', taskId: node.taskId } : undefined;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const task = this.model.get(node.taskId);
    if (!task) return new vscode.TreeItem('(removed)');
    if (node.kind === 'task') return this.taskItem(task);
    const file = task.changedFiles.find((f) => f.path === node.path);
    return this.fileItem(task, file ?? { path: node.path, status: 'modified', additions: 0, deletions: 0 });
  }

  dispose(): void {
    clearInterval(this.ticker);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }

  private taskItem(task: Task): vscode.TreeItem {
    const item = new vscode.TreeItem(
      shortTitle(task.prompt, TASK_LABEL_MAX) || task.id,
      task.changedFiles.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `task:${task.id}`;
    const [icon, color] = ICONS[task.status];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    // Compact, so it stays visible beside the label: "2m · +16 −1".
    const parts = [formatShortElapsed(this.model.runTimeMs(task.id) ?? fallbackElapsedMs(task))];
    if (hasAttempts(task)) parts.push(`${selectedAttemptTag(task)}`);
    const adds = task.changedFiles.reduce((n, f) => n + f.additions, 0);
    const dels = task.changedFiles.reduce((n, f) => n + f.deletions, 0);
    if (task.changedFiles.length) parts.push(`+${adds} −${dels}`);
    item.description = parts.join(' · ');
    const progress = this.reviewProgress(task);
    item.tooltip = tooltip(task, progress);
    item.accessibilityInformation = { label: `${firstLine(task.prompt, 120)}, ${statusLabel(task.status)}, ${parts.join(', ')}`, role: 'treeitem' };
    item.contextValue = contextValue(task);
    item.command = { command: 'delegate.openPanel', title: 'Show Task', arguments: [task.id] };
    return item;
  }

  private fileItem(task: Task, file: ChangedFile): vscode.TreeItem {
    const item = new vscode.TreeItem(posix.basename(file.path));
    item.id = `file:${task.id}:${file.path}`;
    item.resourceUri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${file.path}` });
    item.iconPath = vscode.ThemeIcon.File;
    const dir = posix.dirname(file.path);
    const parts = [file.status[0]!.toUpperCase(), `+${file.additions} −${file.deletions}`];
    if (dir !== '.') parts.unshift(dir);
    const diff = this.diffs.peek(task.id)?.find((f) => f.path === file.path);
    if (diff && diff.hunks.length) {
      parts.push(describeCounts(this.review.counts(task.id, [diff])));
    }
    item.description = parts.join(' · ');
    item.tooltip = `${file.path} (${file.status})`;
    item.contextValue = 'delegateFile';
    item.command = { command: 'delegate.openFileDiff', title: 'Open Diff', arguments: [task.id, file.path] };
    return item;
  }

  private reviewProgress(task: Task): string | undefined {
    if (!task.changedFiles.length || !isFinished(task.status)) return undefined;
    const files = this.diffs.peek(task.id);
    if (!files) return undefined;
    const counts = this.review.counts(task.id, files);
    return counts.total ? describeCounts(counts) : undefined;
  }
}

function statusLabel(status: TaskStatus): string {
  return status === 'waiting_for_input' ? 'needs input' : status === 'completed' ? 'ready for review' : status;
}

/** Before the event stream told us the task's runs (a task just created): its server times. */
function fallbackElapsedMs(task: Task): number {
  if (!task.startedAt) return 0;
  const end = task.finishedAt ? Date.parse(task.finishedAt) : isFinished(task.status) ? Date.parse(task.updatedAt) : Date.now();
  return Math.max(0, end - Date.parse(task.startedAt));
}

/** "A2/3": the attempt the task shows, of how many. */
function selectedAttemptTag(task: Task): string {
  return `A${(task.selectedAttempt ?? 0) + 1}/${task.attempts?.length ?? 1}`;
}

/** Drives the context menus: `delegateTask <phase> <status> [changes] [pr] [attempts]`. */
export function contextValue(task: Task): string {
  const phase = task.status === 'queued' ? 'queued' : isFinished(task.status) ? 'finished' : 'active';
  const parts = ['delegateTask', phase, task.status];
  if (task.changedFiles.length) parts.push('changes');
  if (task.pullRequest) parts.push('pr');
  // Last, so the menus' `changes$` / `pr$` patterns only need an optional ` attempts`.
  if (hasAttempts(task)) parts.push('attempts');
  return parts.join(' ');
}

function tooltip(task: Task, progress: string | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${statusLabel(task.status)}** — ${task.repo.name}${task.repo.branch ? ` (${task.repo.branch})` : ''}\n\n`);
  // The whole prompt: the row shows only its start.
  md.appendText(task.prompt.length > 2000 ? `${task.prompt.slice(0, 2000)}…` : task.prompt);
  if (task.error) md.appendMarkdown(`\n\n$(error) `).appendText(task.error.message);
  if (task.question) md.appendMarkdown(`\n\n$(question) `).appendText(task.question.text);
  if (progress) md.appendMarkdown(`\n\n${progress}`);
  for (const row of attemptRows(task)) {
    md.appendMarkdown(`\n\n${row.selected ? '$(check) ' : ''}**${row.title}** — `).appendText(describeAttempt(row));
  }
  const u = task.usage;
  md.appendMarkdown(`\n\n${u.inputTokens} in / ${u.outputTokens} out tokens${u.costUsd !== null ? ` · $${u.costUsd.toFixed(2)}` : ''}`);
  return md;
}
