// One status bar item: connection, how many tasks run, and the review progress of the task whose
// review diff is in front of the user.
import * as vscode from 'vscode';
import { ACTIVE_STATUSES } from '../../protocol';
import type { TaskModel } from '../model/taskModel';
import type { DiffStore } from '../review/diffStore';
import { describeCounts, type ReviewState } from '../review/reviewState';
import { fromReviewUri } from '../review/reviewUri';
import type { Connection } from '../server/connection';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('delegate.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly model: TaskModel,
    private readonly connection: Connection,
    private readonly diffs: DiffStore,
    private readonly review: ReviewState,
  ) {
    this.item.name = 'Delegate';
    this.item.command = 'delegate.openPanel';
    const update = () => this.update();
    this.subscriptions = [
      model.onDidChange(update),
      connection.onDidChangeState(update),
      connection.onDidChangeHealth(update),
      connection.onDidChangeSignIn(update),
      review.onDidChange(update),
      diffs.onDidChange(update),
      vscode.window.onDidChangeActiveTextEditor(update),
    ];
    this.update();
    this.item.show();
  }

  private update(): void {
    const state = this.connection.state;
    const tasks = this.model.list();
    const waiting = tasks.filter((t) => t.status === 'waiting_for_input').length;
    const running = tasks.filter((t) => ACTIVE_STATUSES.includes(t.status) && t.status !== 'waiting_for_input').length;
    const queued = tasks.filter((t) => t.status === 'queued').length;
    let text: string;
    if (state.kind === 'connected') {
      const parts = [running && `${running} running`, waiting && `${waiting} waiting for you`, queued && `${queued} queued`].filter(Boolean);
      text = parts.length ? `${running ? '$(loading~spin)' : '$(bell-dot)'} Delegate: ${parts.join(', ')}` : '$(rocket) Delegate';
      const signIn = this.connection.signIn;
      const as = signIn.kind === 'github' ? ` as GitHub user ${signIn.login} (you see your own tasks)` : '';
      this.item.tooltip = `Connected to the Delegate server (${state.serverVersion})${as}. Click to open the task panel.`;
      this.item.backgroundColor = undefined;
      const model = this.connection.health?.model;
      if (model && !model.ok) {
        // Said before a task fails on it: what is missing and where to set it.
        text = `$(warning) Delegate: ${model.configured ? 'model failing' : 'no model'}${parts.length ? ` · ${parts.join(', ')}` : ''}`;
        this.item.tooltip = `The Delegate server (${state.serverVersion}) cannot use a model: ${model.reason ?? 'unknown reason'}.`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      }
    } else if (this.connection.signIn.kind === 'needed' || this.connection.signIn.kind === 'refused') {
      const signIn = this.connection.signIn;
      text = signIn.kind === 'needed' ? '$(account) Delegate: sign in with GitHub' : '$(warning) Delegate: not admitted';
      this.item.tooltip = signIn.kind === 'needed' ? 'This Delegate server signs users in with GitHub. Click to sign in.' : `${signIn.message} Click to sign in with another GitHub account.`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else if (state.kind === 'incompatible') {
      text = '$(warning) Delegate: update needed';
      this.item.tooltip = state.reason;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else {
      text = state.kind === 'connecting' ? '$(sync~spin) Delegate: connecting' : '$(debug-disconnect) Delegate: offline';
      this.item.tooltip = state.kind === 'offline' ? `Not connected: ${state.reason}` : 'Connecting to the Delegate server…';
      this.item.backgroundColor = state.kind === 'offline' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    }
    const target = vscode.window.activeTextEditor && fromReviewUri(vscode.window.activeTextEditor.document.uri);
    if (target) {
      const files = this.diffs.peek(target.taskId);
      if (files) text += ` · ${describeCounts(this.review.counts(target.taskId, files))}`;
    }
    this.item.text = text;
    const signIn = this.connection.signIn.kind;
    this.item.command = state.kind !== 'connected' && (signIn === 'needed' || signIn === 'refused')
      ? { command: 'delegate.signIn', title: 'Sign In with GitHub', arguments: [{ switchAccount: signIn === 'refused' }] }
      : 'delegate.openPanel';
  }

  /** For tests: what the item says. */
  get view(): { text: string; tooltip: string } {
    return { text: this.item.text, tooltip: typeof this.item.tooltip === 'string' ? this.item.tooltip : (this.item.tooltip?.value ?? '') };
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
