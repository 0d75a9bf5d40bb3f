// Rejected hunks look rejected: on the agent's side of a review diff, the lines a rejected hunk
// adds are struck through and faded, so "Rejected" is not only a word in a CodeLens.
import * as vscode from 'vscode';
import type { DiffStore } from './diffStore';
import type { ReviewState } from './reviewState';
import { fromReviewUri } from './reviewUri';

export class RejectedLines implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    textDecoration: 'line-through',
    opacity: '0.55',
    isWholeLine: true,
    overviewRulerColor: new vscode.ThemeColor('editorError.foreground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly subscriptions: vscode.Disposable[];
  /** What each review editor was last given, by document URI (for tests: what the user sees). */
  private readonly applied = new Map<string, number[]>();

  constructor(
    private readonly diffs: DiffStore,
    private readonly review: ReviewState,
  ) {
    const update = () => void this.update();
    this.subscriptions = [
      review.onDidChange(update),
      diffs.onDidChange(update),
      vscode.window.onDidChangeVisibleTextEditors(update),
    ];
    update();
  }

  /** The 0-based lines struck through in the review document `uri` (empty when none). */
  struckLines(uri: vscode.Uri): number[] {
    return this.applied.get(uri.toString()) ?? [];
  }

  private async update(): Promise<void> {
    for (const editor of vscode.window.visibleTextEditors) {
      const target = fromReviewUri(editor.document.uri);
      if (!target || target.side !== 'head') continue;
      const file = await this.diffs.file(target.taskId, target.path);
      const lines: number[] = [];
      if (file) {
        this.review.decisions(target.taskId, file).forEach((decision, index) => {
          const hunk = file.hunks[index];
          if (decision !== 'rejected' || !hunk) return;
          let line = hunk.newStart - 1;
          for (const l of hunk.lines) {
            if (l.startsWith('+')) lines.push(line);
            if (l.startsWith('+') || l.startsWith(' ')) line++;
          }
        });
      }
      const max = editor.document.lineCount - 1;
      const ranges = lines.filter((l) => l >= 0 && l <= max).map((l) => new vscode.Range(l, 0, l, 0));
      editor.setDecorations(this.decoration, ranges);
      this.applied.set(editor.document.uri.toString(), ranges.map((r) => r.start.line));
    }
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.decoration.dispose();
  }
}
