// Accept / Reject above every hunk on the agent's side of a review diff, with the hunk's state.
// vscode.diff(base, head) puts the head document (side=head) on the modified side, the only side
// with lenses; the diff editor shows them because package.json defaults diffEditor.codeLens on.
import * as vscode from 'vscode';
import type { DiffStore } from './diffStore';
import { describeDecision, type ReviewState } from './reviewState';
import { fromReviewUri, REVIEW_SCHEME } from './reviewUri';

export class ReviewCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly diffs: DiffStore,
    private readonly review: ReviewState,
  ) {
    this.subscriptions = [review.onDidChange(() => this.changed.fire()), diffs.onDidChange(() => this.changed.fire())];
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const target = fromReviewUri(document.uri);
    if (!target || target.side !== 'head') return [];
    const file = await this.diffs.file(target.taskId, target.path);
    if (!file) return [];
    const decisions = this.review.decisions(target.taskId, file);
    return file.hunks.flatMap((hunk, index) => {
      // A pure deletion (no new lines) starts after line newStart of the agent's side.
      const first = hunk.newLines === 0 ? hunk.newStart : hunk.newStart - 1;
      const line = Math.min(Math.max(0, first), Math.max(0, document.lineCount - 1));
      const range = new vscode.Range(line, 0, line, 0);
      const args = [target.taskId, target.path, index];
      const decision = decisions[index] ?? 'undecided';
      const label = `Hunk ${index + 1} of ${file.hunks.length}: ${describeDecision(decision)}`;
      return [
        new vscode.CodeLens(range, { title: label, command: '' }),
        new vscode.CodeLens(range, {
          title: decision === 'accepted' ? '$(check) Accepted' : '$(check) Accept',
          command: 'delegate.acceptHunk',
          arguments: args,
        }),
        new vscode.CodeLens(range, {
          title: decision === 'rejected' ? '$(close) Rejected' : '$(close) Reject',
          command: 'delegate.rejectHunk',
          arguments: args,
        }),
      ];
    });
  }

  static register(provider: ReviewCodeLensProvider): vscode.Disposable {
    return vscode.languages.registerCodeLensProvider({ scheme: REVIEW_SCHEME }, provider);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
