// What every command handler gets: the services built by the composition root (extension.ts).
import type * as vscode from 'vscode';
import type { TaskModel } from '../model/taskModel';
import type { AppliedState } from '../review/appliedState';
import type { DiffStore } from '../review/diffStore';
import type { ReviewState } from '../review/reviewState';
import type { ApiClient } from '../server/apiClient';
import type { Connection } from '../server/connection';
import type { TokenSource } from '../server/tokenSource';
import type { Submitter } from '../submission';
import type { Captured } from '../submission';
import type { ComposeNotice } from '../panel/taskPanel';

/** The task panel as commands see it. */
export interface PanelHost {
  showTask(taskId: string): void;
  /** Brings an open panel to the front; false when there is none. */
  reveal(): boolean;
  compose(captured: Captured | undefined, prompt?: string, notice?: ComposeNotice): void;
}

export interface Services {
  log: vscode.LogOutputChannel;
  model: TaskModel;
  connection: Connection;
  api: ApiClient;
  diffs: DiffStore;
  review: ReviewState;
  applied: AppliedState;
  tokens: TokenSource;
  submitter: Submitter;
  panel: PanelHost;
}

export interface Command {
  id: string;
  run(services: Services, ...args: unknown[]): unknown;
}
