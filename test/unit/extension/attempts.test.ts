// Best-of-N in the extension: rows per attempt, the "attempt 2 of 3" label, attempt-scoped events
// folded into their attempt, and the review diff invalidated when another attempt is selected.
import * as assert from 'node:assert/strict';
import { EMPTY_USAGE, type AttemptInfo, type ChangedFile, type Task, type TaskEvent } from '../../../protocol';
import { attemptDescription, attemptRows, describeAttempt } from '../../../src/model/attempts';
import { TaskModel } from '../../../src/model/taskModel';

const file = (path: string, additions: number, deletions = 0): ChangedFile => ({ path, status: 'modified', additions, deletions });

function attempt(index: number, status: AttemptInfo['status'], changedFiles: ChangedFile[] = [], summary?: string): AttemptInfo {
  return { index, status, changedFiles, usage: EMPTY_USAGE, ...(summary ? { summary } : {}) };
}

function task(attempts: AttemptInfo[], selectedAttempt?: number, updatedAt = '2025-01-01T00:00:00Z'): Task {
  const mirror = attempts.find((a) => a.index === (selectedAttempt ?? 0));
  return {
    id: 't',
    status: attempts.some((a) => a.status === 'running') ? 'running' : 'completed',
    prompt: 'do it',
    repo: { kind: 'local', name: 'repo' },
    options: { attempts: attempts.length },
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt,
    usage: EMPTY_USAGE,
    changedFiles: mirror?.changedFiles ?? [],
    attempts,
    ...(selectedAttempt !== undefined ? { selectedAttempt } : {}),
  };
}

let seq = 0;
function ev(fields: Record<string, unknown>): TaskEvent {
  return { seq: ++seq, at: '', taskId: 't', ...fields } as TaskEvent;
}

describe('extension: best-of-N attempts', () => {
  it('describes the selected attempt and one row per attempt', () => {
    const t = task([attempt(0, 'completed', [file('a', 2, 1)], 'First.'), attempt(1, 'completed', [], 'Second.'), attempt(2, 'running')], 1);
    assert.equal(attemptDescription(t), 'attempt 2 of 3');
    const rows = attemptRows(t);
    assert.deepEqual(rows.map((r) => [r.title, r.selected, r.selectable]), [['Attempt 1', false, true], ['Attempt 2', true, false], ['Attempt 3', false, false]]);
    assert.deepEqual(rows.map(describeAttempt), ['completed · 1 file +2 −1', 'completed · no changes', 'running']);
    assert.equal(rows[0]!.summary, 'First.');
  });

  it('shows nothing extra for a single attempt', () => {
    const single = { ...task([attempt(0, 'completed')]), attempts: undefined };
    assert.equal(attemptDescription(single), undefined);
    assert.deepEqual(attemptRows(single), []);
  });

  it('folds another attempt\'s diff and finish into its row, not into the task', () => {
    const m = new TaskModel();
    m.upsert(task([attempt(0, 'running'), attempt(1, 'running')]));
    const diffs: string[] = [];
    m.onDidChangeDiff((id) => diffs.push(id));
    m.applyEvent(ev({ type: 'diff.updated', attempt: 1, changedFiles: [file('b', 3)] }));
    m.applyEvent(ev({ type: 'agent.finished', attempt: 1, summary: 'B done.' }));
    const t = m.get('t')!;
    assert.deepEqual(t.changedFiles, [], 'the task still mirrors attempt 0');
    assert.equal(t.summary, undefined);
    assert.deepEqual(t.attempts![1]!.changedFiles, [file('b', 3)]);
    assert.equal(t.attempts![1]!.summary, 'B done.');
    assert.deepEqual(diffs, [], 'attempt 1\'s files do not invalidate the mirrored diff');
    m.applyEvent(ev({ type: 'diff.updated', changedFiles: [file('a', 1)] }));
    assert.deepEqual(m.get('t')!.changedFiles, [file('a', 1)]);
    assert.deepEqual(diffs, ['t']);
  });

  it('sums the attempts\' usage for the task', () => {
    const m = new TaskModel();
    m.upsert(task([attempt(0, 'running'), attempt(1, 'running')]));
    const usage = (n: number) => ({ ...EMPTY_USAGE, inputTokens: n, outputTokens: n, modelRequests: 1 });
    m.applyEvent(ev({ type: 'usage', usage: usage(100) }));
    m.applyEvent(ev({ type: 'usage', attempt: 1, usage: usage(50) }));
    m.applyEvent(ev({ type: 'usage', usage: usage(120) }));
    assert.equal(m.get('t')!.usage.inputTokens, 170);
    assert.equal(m.get('t')!.usage.modelRequests, 2);
  });

  it('invalidates the review diff when another attempt is selected, even with the same file list', () => {
    const m = new TaskModel();
    const files = [file('answer.txt', 1)];
    m.upsert(task([attempt(0, 'completed', files), attempt(1, 'completed', files)], 0, '2025-01-01T00:00:01Z'));
    const diffs: string[] = [];
    m.onDidChangeDiff((id) => diffs.push(id));
    // The select-attempt answer (REST) …
    m.upsert(task([attempt(0, 'completed', files), attempt(1, 'completed', files)], 1, '2025-01-01T00:00:02Z'));
    assert.equal(m.get('t')!.selectedAttempt, 1);
    assert.deepEqual(diffs, ['t']);
    // … or a task.status event carrying the new selection.
    const back = task([attempt(0, 'completed', files), attempt(1, 'completed', files)], 0, '2025-01-01T00:00:03Z');
    m.applyEvent(ev({ type: 'task.status', status: 'completed', task: back }));
    assert.deepEqual(diffs, ['t', 't']);
    // The same task again changes nothing.
    m.upsert(back);
    assert.deepEqual(diffs, ['t', 't']);
  });
});

describe('extension: best-of-N selection in the timeline', () => {
  it('notes a selection that arrives as a REST answer (no event) once', () => {
    const m = new TaskModel();
    const files = [file('answer.txt', 1)];
    m.upsert(task([attempt(0, 'completed', files), attempt(1, 'completed', files)], 0, '2025-01-01T00:00:01Z'));
    m.upsert(task([attempt(0, 'completed', files), attempt(1, 'completed', files)], 1, '2025-01-01T00:00:02Z'));
    m.upsert(task([attempt(0, 'completed', files), attempt(1, 'completed', files)], 1, '2025-01-01T00:00:03Z'));
    const lines = m.timeline('t')!.items.flatMap((i) => (i.kind === 'status' ? [i.text] : []));
    assert.deepEqual(lines, ['attempt 2 of 2 selected']);
  });
});
