// A task this window just delegated comes into view at once: the panel shows it (opened beside the
// code if it was closed, without taking focus; `delegate.openPanelOnDelegate` turns this off) and
// its queue row is revealed and selected.
import type * as vscode from 'vscode';
import type { Task } from '../../protocol';
import type { PanelHost } from '../commands/types';
import { readSettings } from '../config';
import type { Submitter } from '../submission';
import type { TreeNode } from './taskTree';

export class NewTaskFocus implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;

  constructor(
    submitter: Submitter,
    private readonly panel: PanelHost,
    private readonly tree: vscode.TreeView<TreeNode>,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = submitter.onDidCreate((task) => this.show(task));
  }

  private show(task: Task): void {
    if (readSettings().openPanelOnDelegate) this.panel.showTask(task.id);
    this.tree.reveal({ kind: 'task', taskId: task.id }, { select: true, focus: false, expand: false }).then(undefined, (e: unknown) => {
      this.log.warn(`could not reveal task ${task.id} in the queue: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
