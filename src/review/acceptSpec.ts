// The review as the server's `accept` for a pull request (same hunk numbering as the diff).
import type { AcceptSpec, FileDiff } from '../../protocol';
import type { ReviewState } from './reviewState';

/**
 * Undefined when nothing was decided (take everything); otherwise every file with at least one
 * hunk not rejected, whole when none of its hunks is rejected.
 */
export function acceptSpec(review: ReviewState, taskId: string, files: readonly FileDiff[]): AcceptSpec | undefined {
  const decided = files.some((f) => review.decisions(taskId, f).some((d) => d !== 'undecided'));
  if (!decided) return undefined;
  const out: AcceptSpec['files'] = [];
  for (const file of files) {
    const taken = review.taken(taskId, file);
    if (taken.length === file.hunks.length) out.push({ path: file.path });
    else if (taken.length > 0) out.push({ path: file.path, hunks: taken });
  }
  return { files: out };
}
