// Read-only documents for the review diff: the base version (the task's commit) and the agent's
// version of a file (now, or as of a checkpoint), fetched from the server. Nothing here touches the
// user's files.
import * as vscode from 'vscode';
import type { TaskModel } from '../model/taskModel';
import type { ApiClient } from '../server/apiClient';
import { CHECKPOINT_SCHEME, fromCheckpointUri, fromReviewUri, REVIEW_SCHEME } from './reviewUri';

export class ReviewContentProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly api: ApiClient,
    model: TaskModel,
  ) {
    // The agent's side moves while it works: refresh open documents of that task.
    this.subscription = model.onDidChangeDiff((taskId) => {
      for (const doc of vscode.workspace.textDocuments) {
        const target = fromReviewUri(doc.uri);
        if (target?.taskId === taskId && target.side === 'head') this.changed.fire(doc.uri);
      }
    });
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const checkpointTarget = fromCheckpointUri(uri);
    const target = checkpointTarget ?? fromReviewUri(uri);
    if (!target) return '';
    const controller = new AbortController();
    const listener = token.onCancellationRequested(() => controller.abort());
    try {
      const r = await this.api.file(target.taskId, target.path, target.side, controller.signal, checkpointTarget?.checkpoint);
      if (!r.ok) throw new Error(`Delegate: cannot load ${target.path} (${target.side}): ${r.error.message}`);
      if (r.value === null) return '';
      if (r.value.includes(0)) return `Binary file (${r.value.length} bytes)`;
      return new TextDecoder().decode(r.value);
    } finally {
      listener.dispose();
    }
  }

  /** For the review's documents and for checkpoints' (which never change, so need no refresh). */
  static register(provider: ReviewContentProvider): vscode.Disposable {
    return vscode.Disposable.from(
      vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, provider),
      vscode.workspace.registerTextDocumentContentProvider(CHECKPOINT_SCHEME, provider),
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
