// What a pull request will hold, shown before it is made: its title, the agent's summary and test
// result (the body's main parts), and each file with the hunks it takes.
import type { FileDiff, Task } from '../../protocol';
import { undecidedNote, type ReviewCounts } from '../review/reviewState';

export interface PullRequestPreview {
  title: string;
  summary: string | undefined;
  tests: string | undefined;
  /** The files the commit changes, with how many of their hunks it takes. */
  files: { path: string; hunks: number; of: number }[];
  /** "1 undecided hunk counts as accepted." or ''. */
  undecided: string;
}

export function pullRequestPreview(task: Task, files: readonly FileDiff[], taken: (f: FileDiff) => number[], title: string, counts: ReviewCounts): PullRequestPreview {
  return {
    title,
    summary: task.summary,
    tests: task.testResult ? `${task.testResult.command}: ${task.testResult.passed ? 'passed' : 'failed'}` : undefined,
    files: files.map((f) => ({ path: f.path, hunks: taken(f).length, of: f.hunks.length })).filter((f) => f.hunks > 0 || f.of === 0),
    undecided: undecidedNote(counts),
  };
}

export function describePreview(p: PullRequestPreview): string {
  const lines = [`Title: ${p.title}`, ''];
  if (p.summary) lines.push('Body: the agent\'s summary', p.summary.length > 600 ? `${p.summary.slice(0, 600)}…` : p.summary, '');
  if (p.tests) lines.push(`Tests: ${p.tests}`, '');
  lines.push(`Files (${p.files.length}):`, ...p.files.map((f) => `  ${f.path} — ${f.of === 0 ? 'whole file' : `${f.hunks} of ${f.of} hunk${f.of === 1 ? '' : 's'}`}`));
  if (p.undecided) lines.push('', p.undecided);
  return lines.join('\n');
}
