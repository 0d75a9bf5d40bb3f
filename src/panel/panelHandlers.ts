// One handler per webview message type, dispatched through a typed map (no giant switch).
import * as vscode from 'vscode';
import type { ComposeNotice } from './taskPanel';
import type { HostMessage, PanelAction, WebviewMessage } from '../webview/messages';
import type { Captured, Submitter } from '../submission';
import { unreachableNotice } from './notices';

export interface PanelContext {
  submitter: Submitter;
  /** What the prompt editor currently carries (repository + selection). */
  captured(): Captured | undefined;
  showTask(taskId: string): void;
  compose(captured: Captured | undefined, prompt?: string, notice?: ComposeNotice): void;
  post(message: HostMessage): void;
  resend(): void;
}

type Handlers = { [K in WebviewMessage['type']]: (message: Extract<WebviewMessage, { type: K }>, ctx: PanelContext) => Promise<void> | void };

const ACTION_COMMANDS: Record<PanelAction, string> = {
  cancel: 'delegate.cancelTask',
  review: 'delegate.reviewTask',
  apply: 'delegate.applyTask',
  undoApply: 'delegate.undoApply',
  retry: 'delegate.retryTask',
  pullRequest: 'delegate.createPullRequest',
  openPullRequest: 'delegate.openPullRequest',
  remove: 'delegate.removeTask',
  sendRejections: 'delegate.sendRejectionsToAgent',
};

export const PANEL_HANDLERS: Handlers = {
  ready: (_message, ctx) => ctx.resend(),

  submit: async (message, ctx) => {
    let captured = ctx.captured();
    if (!captured) {
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'file');
      const r = await ctx.submitter.capture(editor);
      if (!r.ok) {
        ctx.post({ type: 'error', message: r.error.message });
        return;
      }
      captured = r.value;
    }
    if (!message.includeSelection) captured = { ...captured, selection: undefined };
    const { model, ...rest } = message.options;
    const created = await ctx.submitter.submit(captured, message.prompt, { ...rest, ...(model?.trim() ? { model: model.trim() } : {}) });
    if (!created.ok) {
      // The prompt stays in the form either way; an unreachable server gets its way forward.
      if (created.error.code === 'unreachable') ctx.compose(captured, message.prompt, unreachableNotice(created.error.message));
      else ctx.post({ type: 'error', message: created.error.message });
      return;
    }
    ctx.post({ type: 'submitted', taskId: created.value.id });
    ctx.showTask(created.value.id);
  },

  send: async (message) => {
    await vscode.commands.executeCommand('delegate.followUp', message.taskId, message.text);
  },

  action: async (message) => {
    await vscode.commands.executeCommand(ACTION_COMMANDS[message.action], message.taskId);
  },

  selectAttempt: async (message) => {
    await vscode.commands.executeCommand('delegate.selectAttempt', message.taskId, message.attempt);
  },

  checkpoint: async (message) => {
    await vscode.commands.executeCommand(message.action === 'view' ? 'delegate.viewCheckpoint' : 'delegate.followUpFromCheckpoint', message.taskId, message.version);
  },

  startLocalServer: async () => {
    await vscode.commands.executeCommand('delegate.startLocalServer');
  },

  compose: async (_message, ctx) => {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'file');
    const r = await ctx.submitter.capture(editor);
    ctx.compose(r.ok ? r.value : undefined);
  },
};
