// The task panel (one webview): the prompt editor, or one task's live timeline. It renders the
// model; user intent goes back through typed, validated messages to the same commands the rest of
// the UI uses. It never takes focus while the agent works (preserveFocus).
import * as vscode from 'vscode';
import { readSettings } from '../config';
import type { TaskModel } from '../model/taskModel';
import type { DiffStore } from '../review/diffStore';
import { describeCounts, type ReviewState } from '../review/reviewState';
import type { Connection } from '../server/connection';
import type { StreamState } from '../server/eventStream';
import type { Captured, Submitter } from '../submission';
import { HostMessage, PanelState, WebviewMessage } from '../webview/messages';
import { panelHtml } from './panelHtml';
import { PANEL_HANDLERS, type PanelContext } from './panelHandlers';

export const VIEW_TYPE = 'delegate.panel';
/** Streaming deltas arrive many times a second; the panel re-renders at most this often. */
const RENDER_INTERVAL_MS = 100;

type Showing = { view: 'compose'; captured: Captured | undefined; prompt?: string } | { view: 'task'; taskId: string };

export class TaskPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private showing: Showing = { view: 'compose', captured: undefined };
  private renderTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly panelSubscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: TaskModel,
    private readonly diffs: DiffStore,
    private readonly review: ReviewState,
    private readonly connection: Connection,
    private readonly submitter: Submitter,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const onTask = (taskId?: string) => {
      if (this.showing.view === 'task' && (taskId === undefined || taskId === this.showing.taskId)) this.scheduleRender();
    };
    this.subscriptions.push(
      model.onDidChange(() => onTask()),
      model.onDidChangeTimeline(onTask),
      review.onDidChange(onTask),
      diffs.onDidChange(onTask),
      connection.onDidChangeState((state) => this.post({ type: 'connection', connection: connectionView(state) })),
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          const parsed = PanelState.safeParse(state);
          if (parsed.success && parsed.data.view === 'task' && parsed.data.taskId) this.showing = { view: 'task', taskId: parsed.data.taskId };
          this.adopt(panel);
        },
      }),
    );
  }

  showTask(taskId: string): void {
    this.showing = { view: 'task', taskId };
    this.ensurePanel(true);
    this.render();
  }

  reveal(): boolean {
    if (!this.panel) return false;
    this.panel.reveal(undefined, false);
    return true;
  }

  compose(captured: Captured | undefined, prompt?: string): void {
    this.showing = { view: 'compose', captured, ...(prompt ? { prompt } : {}) };
    this.ensurePanel(false);
    this.render();
  }

  /** For tests: which task (if any) the panel shows. */
  get visibleTaskId(): string | undefined {
    return this.panel && this.showing.view === 'task' ? this.showing.taskId : undefined;
  }

  dispose(): void {
    clearTimeout(this.renderTimer);
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.panel?.dispose();
  }

  private ensurePanel(preserveFocus: boolean): void {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      'Delegate',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')] },
    );
    this.adopt(panel);
  }

  private adopt(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'delegate.svg');
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')] };
    panel.webview.html = panelHtml(panel.webview, this.extensionUri);
    const ctx: PanelContext = {
      submitter: this.submitter,
      captured: () => (this.showing.view === 'compose' ? this.showing.captured : undefined),
      showTask: (id) => this.showTask(id),
      compose: (captured) => this.compose(captured),
      post: (m) => this.post(m),
      resend: () => this.render(),
    };
    this.panelSubscriptions.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const parsed = WebviewMessage.safeParse(raw);
        if (!parsed.success) {
          this.log.warn(`panel: dropped an invalid message: ${parsed.error.message.slice(0, 200)}`);
          return;
        }
        const message = parsed.data;
        const handler = PANEL_HANDLERS[message.type] as (m: typeof message, c: PanelContext) => Promise<void> | void;
        Promise.resolve(handler(message, ctx)).catch((e: unknown) => {
          this.log.error(`panel: ${message.type} failed`, e instanceof Error ? e : String(e));
          this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
        });
      }),
      panel.onDidDispose(() => {
        this.panel = undefined;
        for (const s of this.panelSubscriptions.splice(0)) s.dispose();
      }),
    );
  }

  private scheduleRender(): void {
    if (!this.panel || this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      this.render();
    }, RENDER_INTERVAL_MS);
  }

  private render(): void {
    if (!this.panel) return;
    this.post({ type: 'connection', connection: connectionView(this.connection.state) });
    if (this.showing.view === 'compose') {
      const settings = readSettings();
      const { captured, prompt } = this.showing;
      this.post({
        type: 'compose',
        ...(captured?.selection ? { selection: captured.selection } : {}),
        ...(captured ? { repoName: captured.repo.root.split('/').pop() ?? '' } : {}),
        ...(prompt ? { prompt } : {}),
        defaults: {
          ...(settings.defaultModel ? { model: settings.defaultModel } : {}),
          attempts: settings.defaultAttempts,
          network: settings.defaultNetwork,
        },
      });
      return;
    }
    const task = this.model.get(this.showing.taskId);
    if (!task) {
      this.post({ type: 'error', message: 'This task no longer exists.' });
      return;
    }
    const files = task.changedFiles.length ? this.diffs.peek(task.id) : undefined;
    const counts = files ? this.review.counts(task.id, files) : undefined;
    this.post({
      type: 'task',
      task,
      items: structuredClone(this.model.timeline(task.id)?.items ?? []),
      review: counts && counts.total ? { label: describeCounts(counts), rejected: counts.rejected } : null,
    });
  }

  private post(message: HostMessage): void {
    // Validated on the way out too: a bug here should show in the log, not as a blank panel.
    const checked = HostMessage.safeParse(message);
    if (!checked.success) {
      this.log.error(`panel: refusing to send an invalid ${message.type} message: ${checked.error.message.slice(0, 300)}`);
      return;
    }
    void this.panel?.webview.postMessage(checked.data);
  }
}

function connectionView(state: StreamState): { kind: StreamState['kind']; detail: string } {
  switch (state.kind) {
    case 'connected':
      return { kind: 'connected', detail: `server ${state.serverVersion}` };
    case 'connecting':
      return { kind: 'connecting', detail: `attempt ${state.attempt}` };
    case 'offline':
      return { kind: 'offline', detail: state.reason };
  }
}
