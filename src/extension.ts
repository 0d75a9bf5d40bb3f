// Composition root: builds every service by hand and passes dependencies through constructors.
// activate() returns a read-only test API (model snapshot, review state) instead of exposing internals.
import * as vscode from 'vscode';
import type { FileDiff, Health } from '../protocol';
import { registerCommands } from './commands/registry';
import type { Services } from './commands/types';
import { TaskModel, type TaskModelSnapshot } from './model/taskModel';
import type { TimelineItem } from './model/timeline';
import { TaskPanel, type PanelView } from './panel/taskPanel';
import { AppliedState } from './review/appliedState';
import { DiffStore } from './review/diffStore';
import { ReviewCodeLensProvider } from './review/reviewCodeLens';
import { ReviewContentProvider } from './review/reviewContent';
import { RejectedLines } from './review/rejectedLines';
import { ReviewState, type Decision, type ReviewCounts } from './review/reviewState';
import { Connection, type SignIn } from './server/connection';
import { Credentials } from './server/credentials';
import type { StreamState } from './server/eventStream';
import { LocalServer } from './server/localServer';
import { TokenSource } from './server/tokenSource';
import { Submitter } from './submission';
import { Notifier } from './views/notifier';
import { SignInPrompt } from './views/signInPrompt';
import { StatusBar } from './views/statusBar';
import { NewTaskFocus } from './views/newTaskFocus';
import { TaskTreeProvider, type TreeNode } from './views/taskTree';

/** Set by the bundle's banner (esbuild.mjs): when the bundle started evaluating. */
declare const __delegateLoadStart: number | undefined;
const loadedAt = performance.now();

export interface ActivationTiming {
  /** Evaluating the bundle (all modules), ms; undefined when not running from the bundle. */
  loadMs: number | undefined;
  /** activate() itself, ms. */
  activateMs: number;
}

export interface DelegateApi {
  /** How long loading and activating took in this extension host. */
  activation(): ActivationTiming;
  snapshot(): TaskModelSnapshot;
  connection(): StreamState;
  timeline(taskId: string): TimelineItem[];
  diff(taskId: string): Promise<FileDiff[]>;
  decisions(taskId: string, path: string): Promise<Decision[]>;
  reviewCounts(taskId: string): Promise<ReviewCounts>;
  panelTaskId(): string | undefined;
  /** What the task panel shows: its view, task, buttons and error banner ('none' while closed). */
  panelView(): PanelView;
  /** The sidebar row of a task (or of one of its changed files) as the tree renders it. */
  treeItem(taskId: string, path?: string): TreeRow;
  /** The task ids of the selected queue rows. */
  queueSelection(): string[];
  /** The files the task's standing Apply wrote; null when it is not applied. */
  applied(taskId: string): string[] | null;
  /** The 0-based lines struck through (rejected) in a visible review document. */
  struckLines(uri: vscode.Uri): number[];
  /** What the status bar item says. */
  statusBar(): { text: string; tooltip: string };
  /** The connected server's last /healthz answer. */
  health(): Health | undefined;
  /** Who the extension is to the server: the server token, a GitHub user, or a sign-in needed or refused. */
  signIn(): SignIn;
  /** The folder of the extension's log files (the "Delegate" Output channel writes there). */
  logUri: vscode.Uri;
  /** Fires whenever the model, the review or the connection changes. */
  onDidChange: vscode.Event<void>;
}

export interface TreeRow {
  label: string;
  description: string;
  contextValue: string;
  tooltip: string;
  icon: { id: string; color: string | undefined } | undefined;
}

export function activate(context: vscode.ExtensionContext): DelegateApi {
  const activateStart = performance.now();
  const log = vscode.window.createOutputChannel('Delegate', { log: true });
  const own = <T extends vscode.Disposable>(d: T): T => {
    context.subscriptions.push(d);
    return d;
  };
  own(log);
  const model = own(new TaskModel());
  const tokens = new TokenSource(context.secrets);
  const credentials = own(new Credentials(tokens));
  const localServer = own(new LocalServer(log));
  const serverCwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? context.extensionUri.fsPath;
  const connection = own(new Connection(model, tokens, credentials, localServer, log, serverCwd));
  const api = connection.api;
  const diffs = own(new DiffStore(api));
  const review = own(new ReviewState(context.workspaceState));
  const applied = own(new AppliedState(context.workspaceState));
  const submitter = new Submitter(api, model, log, () => connection.readsLocalPaths());
  const panel = own(new TaskPanel(context.extensionUri, model, diffs, review, applied, connection, submitter, log));

  // A changed diff invalidates the parsed copy; the tree, CodeLens and status bar refetch lazily.
  own(model.onDidChangeDiff((taskId) => diffs.invalidate(taskId)));

  const services: Services = { log, model, connection, api, diffs, review, applied, tokens, submitter, panel };
  for (const d of registerCommands(services)) own(d);

  const tree = own(new TaskTreeProvider(model, diffs, review));
  const treeView = own(vscode.window.createTreeView<TreeNode>('delegate.tasks', { treeDataProvider: tree, showCollapseAll: true }));
  own(new NewTaskFocus(submitter, panel, treeView, log));
  const content = own(new ReviewContentProvider(api, model));
  own(ReviewContentProvider.register(content));
  const lenses = own(new ReviewCodeLensProvider(diffs, review));
  own(ReviewCodeLensProvider.register(lenses));
  const rejectedLines = own(new RejectedLines(diffs, review));
  const statusBar = own(new StatusBar(model, connection, diffs, review));
  own(new Notifier(model));
  own(new SignInPrompt(connection));

  connection.start();
  log.info('Delegate activated');

  const changed = own(new vscode.EventEmitter<void>());
  own(model.onDidChange(() => changed.fire()));
  own(model.onDidChangeDiff(() => changed.fire()));
  own(review.onDidChange(() => changed.fire()));
  own(applied.onDidChange(() => changed.fire()));
  own(connection.onDidChangeState(() => changed.fire()));
  own(connection.onDidChangeHealth(() => changed.fire()));
  own(connection.onDidChangeSignIn(() => changed.fire()));

  const loadDiff = async (taskId: string): Promise<FileDiff[]> => {
    const r = await diffs.get(taskId);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const timing: ActivationTiming = {
    loadMs: typeof __delegateLoadStart === 'number' ? loadedAt - __delegateLoadStart : undefined,
    activateMs: performance.now() - activateStart,
  };
  return {
    activation: () => ({ ...timing }),
    snapshot: () => model.snapshot(),
    connection: () => connection.state,
    timeline: (taskId) => structuredClone(model.timeline(taskId)?.items ?? []),
    diff: loadDiff,
    decisions: async (taskId, path) => {
      const file = (await loadDiff(taskId)).find((f) => f.path === path);
      return file ? review.decisions(taskId, file) : [];
    },
    reviewCounts: async (taskId) => review.counts(taskId, await loadDiff(taskId)),
    panelTaskId: () => panel.visibleTaskId,
    panelView: () => panel.view,
    treeItem: (taskId, path) => {
      const item = tree.getTreeItem(path === undefined ? { kind: 'task', taskId } : { kind: 'file', taskId, path });
      const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
      const icon = item.iconPath instanceof vscode.ThemeIcon ? { id: item.iconPath.id, color: item.iconPath.color?.id } : undefined;
      const tooltip = typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? '');
      return { label, description: typeof item.description === 'string' ? item.description : '', contextValue: item.contextValue ?? '', tooltip, icon };
    },
    queueSelection: () => treeView.selection.map((n) => n.taskId),
    applied: (taskId) => applied.paths(taskId),
    struckLines: (uri) => rejectedLines.struckLines(uri),
    statusBar: () => statusBar.view,
    health: () => connection.health,
    signIn: () => connection.signIn,
    logUri: context.logUri,
    onDidChange: changed.event,
  };
}

export function deactivate(): void {
  // Everything is registered in context.subscriptions and disposed by VS Code.
}
