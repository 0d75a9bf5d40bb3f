// The task's changes as a reviewable diff (unified or side by side, rendered by diff2html), Accept /
// Reject per hunk, and the pull request with a preview. The decisions, the `accept` they become
// and the preview are the extension's own code (src/review, src/commands/pullRequestPreview), so a
// pull request from here takes exactly what the same decisions in VS Code would.
import { html as diffHtml } from 'diff2html';
import type { ColorSchemeType } from 'diff2html/lib/types';
import { useEffect, useState } from 'preact/hooks';
import { parseUnifiedDiff, type AcceptSpec, type DiffHunk, type FileDiff, type Task } from '../../protocol';
import { isFinished } from '../../protocol/task';
import { pullRequestPreview } from '../../src/commands/pullRequestPreview';
import { acceptSpec } from '../../src/review/acceptSpec';
import { describeCounts, type Decision } from '../../src/review/reviewState';
import { DIFF_VERSION_HEADER } from './api';
import { shortTitle } from './format';
import type { Session } from './session';
import { PullRequestForm } from './PullRequestForm';

type Format = 'line-by-line' | 'side-by-side';
const FORMAT_KEY = 'delegate.diffFormat';

/** One hunk as a diff of its own, so each renders with its own Accept / Reject. */
function hunkHtml(file: FileDiff, hunk: DiffHunk, format: Format): string {
  const text = [
    `diff --git a/${file.oldPath ?? file.path} b/${file.newPath ?? file.path}`,
    `--- ${file.oldPath ? `a/${file.oldPath}` : '/dev/null'}`,
    `+++ ${file.newPath ? `b/${file.newPath}` : '/dev/null'}`,
    hunk.header,
    ...hunk.lines,
  ].join('\n');
  return diffHtml(`${text}\n`, { outputFormat: format, drawFileList: false, matching: 'lines', colorScheme: 'auto' as ColorSchemeType });
}

export function Review(props: { session: Session; task: Task }) {
  const { api, review } = props.session;
  const task = props.task;
  const [diff, setDiff] = useState<{ files: FileDiff[]; version: string | undefined } | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [format, setFormat] = useState<Format>(() => (sessionStorage.getItem(FORMAT_KEY) === 'side-by-side' ? 'side-by-side' : 'line-by-line'));
  const [, setTick] = useState(0);
  const [reload, setReload] = useState(0);

  // Fetched again when the task moves on: new changes while it runs, a follow-up, the final snapshot.
  const stamp = isFinished(task.status) ? `${task.status}:${task.updatedAt}` : `${task.status}:${JSON.stringify(task.changedFiles)}`;
  useEffect(() => {
    let live = true;
    void api.diff(task.id).then((r) => {
      if (!live) return;
      if (!r.ok) return setProblem(r.code === 'conflict' ? 'No changes to show yet: the task has no workspace.' : r.message);
      setProblem(undefined);
      setDiff({ files: parseUnifiedDiff(r.value), version: r.headers.get(DIFF_VERSION_HEADER) ?? undefined });
    });
    return () => {
      live = false;
    };
  }, [task.id, stamp, reload]);
  useEffect(() => {
    const d = review.onDidChange(() => setTick((n) => n + 1));
    return () => d.dispose();
  }, [review]);

  if (problem) return <p class="empty">{problem}</p>;
  if (!diff) return <p class="empty">Loading the changes…</p>;
  if (diff.files.length === 0) return <p class="empty">The task changed nothing.</p>;

  const decide = (file: FileDiff, indexes: number[], d: Decision) => void review.set(task.id, file, indexes, d);
  const counts = review.counts(task.id, diff.files);
  const chooseFormat = (f: Format) => {
    sessionStorage.setItem(FORMAT_KEY, f);
    setFormat(f);
  };
  const decided = acceptSpec(review, task.id, diff.files);
  const accept: AcceptSpec | undefined = decided || diff.version
    ? { files: decided?.files ?? diff.files.map((f) => ({ path: f.path })), ...(diff.version ? { diffVersion: diff.version } : {}) }
    : undefined;
  const title = shortTitle(task.prompt, 72);
  const preview = pullRequestPreview(task, diff.files, (f) => review.taken(task.id, f), title, counts);

  return (
    <div class="review">
      <div class="review-bar">
        <span class="counts" role="status">{describeCounts(counts)}</span>
        <div role="group" aria-label="Diff layout" class="seg">
          <button type="button" aria-pressed={format === 'line-by-line'} onClick={() => chooseFormat('line-by-line')}>Unified</button>
          <button type="button" aria-pressed={format === 'side-by-side'} onClick={() => chooseFormat('side-by-side')}>Side by side</button>
        </div>
        <button type="button" onClick={() => setReload((n) => n + 1)}>Reload</button>
      </div>
      {diff.files.map((file) => {
        const decisions = review.decisions(task.id, file);
        const all = file.hunks.map((_, i) => i);
        return (
          <section class="file" key={file.path} data-path={file.path} aria-label={file.path}>
            <header>
              <span class="path">{file.path}</span>
              <span class="muted">{file.status}{file.oldPath && file.oldPath !== file.path ? ` from ${file.oldPath}` : ''}</span>
              {file.hunks.length ? (
                <span class="file-actions">
                  <button type="button" onClick={() => decide(file, all, 'accepted')}>Accept file</button>
                  <button type="button" onClick={() => decide(file, all, 'rejected')}>Reject file</button>
                </span>
              ) : null}
            </header>
            {file.binary || file.hunks.length === 0 ? <p class="muted pad">{file.binary ? 'Binary file: taken whole.' : 'No text changes (mode or rename): taken whole.'}</p> : null}
            {file.hunks.map((hunk, i) => {
              const d = decisions[i] ?? 'undecided';
              return (
                <div class={`hunk d-${d}`} key={`${i}:${hunk.header}`} data-hunk={i} data-decision={d}>
                  <div class="hunk-bar">
                    <span class="muted">Hunk {i + 1} of {file.hunks.length} · {d === 'undecided' ? 'undecided (taken unless rejected)' : d}</span>
                    <button type="button" aria-pressed={d === 'accepted'} onClick={() => decide(file, [i], d === 'accepted' ? 'undecided' : 'accepted')}>Accept</button>
                    <button type="button" aria-pressed={d === 'rejected'} onClick={() => decide(file, [i], d === 'rejected' ? 'undecided' : 'rejected')}>Reject</button>
                  </div>
                  {/* diff2html escapes the diff's text; the markup is its own. */}
                  <div class="d2h" dangerouslySetInnerHTML={{ __html: hunkHtml(file, hunk, format) }} />
                </div>
              );
            })}
          </section>
        );
      })}
      <PullRequestForm session={props.session} task={task} preview={preview} accept={accept} onStale={() => setReload((n) => n + 1)} />
    </div>
  );
}
