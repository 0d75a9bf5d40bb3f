// The task panel (one webview): the prompt editor, or one task's live timeline. It renders the
// model; user intent goes back through typed, validated messages to the same commands the rest of
// the UI uses. It never takes focus while the agent works (preserveFocus).
import * as vscode from 'vscode';
import { readSettings } from '../config';
import type { TaskModel } from '../model/taskModel';
import { taskActions } from '../model/taskActions';
import type { AppliedState } from '../review/appliedState';
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

export type ComposeNotice = Extract<HostMessage, { type: 'compose' }>['notice'];

type Showing = { view: 'compose'; captured: Captured | undefined; prompt?: string; notice?: ComposeNotice } | { view: 'task'; taskId: string };

/** What the panel last put on screen, for tests: the view, the task, its buttons, any error banner. */
export interface PanelView {
  view: 'none' | 'compose' | 'task' | 'waiting';
  taskId?: string;
  prompt?: string;
  actions: string[];
  banner: string | null;
  notice?: ComposeNotice;
}

export class TaskPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private showing: Showing = { view: 'compose', captured: undefined };
  private renderTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly panelSubscriptions: vscode.Disposable[] = [];
  private shown: PanelView = { view: 'none', actions: [], banner: null };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: TaskModel,
    private readonly diffs: DiffStore,
    private readonly review: ReviewState,
    private readonly applied: AppliedState,
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
      applied.onDidChange(onTask),
      diffs.onDidChange(onTask),
      connection.onDidChangeState((state) => {
        this.post({ type: 'connection', connection: connectionView(state) });
        // A task not known yet (the server was replaying or away) may be known now.
        if (this.showing.view === 'task' && !model.get(this.showing.taskId)) this.scheduleRender();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        // The task belongs to the server it came from: another server has nothing to say about it.
        if (e.affectsConfiguration('delegate.serverUrl') && this.showing.view === 'task') this.compose(undefined);
      }),
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

  compose(captured: Captured | undefined, prompt?: string, notice?: ComposeNotice): void {
    this.showing = { view: 'compose', captured, ...(prompt ? { prompt } : {}), ...(notice ? { notice } : {}) };
    this.ensurePanel(false);
    this.render();
  }

  /** For tests: which task (if any) the panel shows. */
  get visibleTaskId(): string | undefined {
    return this.panel && this.showing.view === 'task' ? this.showing.taskId : undefined;
  }

  /** For tests: what the panel last put on screen (view 'none' while it is closed). */
  get view(): PanelView {
    return this.panel ? structuredClone(this.shown) : { view: 'none', actions: [], banner: null };
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
    // An editor tab shows the icon as an image, where currentColor is black: one per theme kind.
    panel.iconPath = {
      light: vscode.Uri.joinPath(this.extensionUri, 'media', 'delegate-light.svg'),
      dark: vscode.Uri.joinPath(this.extensionUri, 'media', 'delegate-dark.svg'),
    };
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')] };
    panel.webview.html = panelHtml(panel.webview, this.extensionUri);
    const ctx: PanelContext = {
      submitter: this.submitter,
      captured: () => (this.showing.view === 'compose' ? this.showing.captured : undefined),
      showTask: (id) => this.showTask(id),
      compose: (captured, prompt, notice) => this.compose(captured, prompt, notice),
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
    if (this.showing.view === 'task' && !this.model.get(this.showing.taskId)) {
      // Not known yet while the server replays or is away; once it has answered, the task is gone
      // (removed here or elsewhere): back to a fresh prompt rather than a dead task's buttons.
      if (this.model.replaying || this.connection.state.kind !== 'connected') {
        this.post({ type: 'waiting', text: 'Loading the task…' });
        return;
      }
      this.showing = { view: 'compose', captured: undefined };
    }
    if (this.showing.view === 'compose') {
      const settings = readSettings();
      const { captured, prompt, notice } = this.showing;
      this.post({
        type: 'compose',
        ...(captured?.selection ? { selection: captured.selection } : {}),
        ...(captured ? { repoName: captured.repo.root.split('/').pop() ?? '' } : {}),
        ...(prompt ? { prompt } : {}),
        ...(notice ? { notice } : {}),
        defaults: {
          ...(settings.defaultModel ? { model: settings.defaultModel } : {}),
          attempts: settings.defaultAttempts,
          network: settings.defaultNetwork,
        },
      });
      return;
    }
    const task = this.model.get(this.showing.taskId)!;
    const files = task.changedFiles.length ? this.diffs.peek(task.id) : undefined;
    const counts = files ? this.review.counts(task.id, files) : undefined;
    this.post({
      type: 'task',
      task,
      items: structuredClone(this.model.timeline(task.id)?.items ?? []),
      review: counts && counts.total ? { label: describeCounts(counts), rejected: counts.rejected } : null,
      applied: this.applied.paths(task.id),
    });
  }

  private post(message: HostMessage): void {
    // Validated on the way out too: a bug here should show in the log, not as a blank panel.
    const checked = HostMessage.safeParse(message);
    if (!checked.success) {
      this.log.error(`panel: refusing to send an invalid ${message.type} message: ${checked.error.message.slice(0, 300)}`);
      return;
    }
    this.note(checked.data);
    void this.panel?.webview.postMessage(checked.data);
  }

  /** Keeps what the webview now shows (it renders exactly these messages) for `view`. */
  private note(m: HostMessage): void {
    switch (m.type) {
      case 'compose':
        this.shown = { view: 'compose', actions: [], banner: null, ...(m.prompt ? { prompt: m.prompt } : {}), ...(m.notice ? { notice: m.notice } : {}) };
        return;
      case 'task': {
        const actions = taskActions(m.task, { rejected: m.review?.rejected ?? 0, applied: m.applied }).map((a) => a.action);
        this.shown = { view: 'task', taskId: m.task.id, actions, banner: null };
        return;
      }
      case 'waiting':
        this.shown = { view: 'waiting', actions: [], banner: null };
        return;
      case 'error':
        this.shown = { ...this.shown, banner: m.message };
        return;
      case 'connection':
      case 'submitted':
        return;
    }
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
    case 'incompatible':
      return { kind: 'incompatible', detail: state.reason };
  }
}
