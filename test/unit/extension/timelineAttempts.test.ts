// The timeline of a best-of-N task: each item knows its attempt, parallel setup logs stay apart,
// tool calls carry a readable label, and a selection shows once without repeating the status.
import * as assert from 'node:assert/strict';
import { EMPTY_USAGE, type Task, type TaskEvent } from '../../../protocol';
import { Timeline } from '../../../src/model/timeline';

let seq = 0;
function ev(fields: Record<string, unknown>): TaskEvent {
  return { seq: ++seq, at: '', taskId: 't', ...fields } as TaskEvent;
}

function task(selectedAttempt: number | undefined): Task {
  return {
    id: 't',
    status: 'completed',
    prompt: 'p',
    repo: { kind: 'local', name: 'r' },
    options: { attempts: 2 },
    createdAt: '',
    updatedAt: '',
    usage: EMPTY_USAGE,
    changedFiles: [],
    attempts: [0, 1].map((index) => ({ index, status: 'completed' as const, changedFiles: [], usage: EMPTY_USAGE })),
    ...(selectedAttempt !== undefined ? { selectedAttempt } : {}),
  };
}

describe('extension: timeline of attempts', () => {
  it('keeps each attempt\'s setup log in its own block when they interleave', () => {
    const t = new Timeline();
    t.apply(ev({ type: 'setup.log', text: 'a0 one' }));
    t.apply(ev({ type: 'setup.log', attempt: 1, text: 'a1 one' }));
    t.apply(ev({ type: 'setup.log', text: 'a0 two' }));
    t.apply(ev({ type: 'setup.log', attempt: 1, text: 'a1 two' }));
    const setups = t.items.filter((i) => i.kind === 'setup');
    assert.deepEqual(setups.map((i) => [i.attempt, i.text]), [[0, 'a0 one\na0 two'], [1, 'a1 one\na1 two']]);
  });

  it('labels tool calls per attempt with what they do', () => {
    const t = new Timeline();
    t.apply(ev({ type: 'tool.call', callId: 'c', name: 'read_file', args: { path: 'src/a.ts' } }));
    t.apply(ev({ type: 'tool.call', attempt: 1, callId: 'c', name: 'shell', args: { command: 'npm test' } }));
    t.apply(ev({ type: 'tool.result', attempt: 1, callId: 'c', name: 'shell', ok: true, output: 'ok', exitCode: 0, durationMs: 5 }));
    const tools = t.items.filter((i) => i.kind === 'tool');
    assert.deepEqual(tools.map((i) => [i.attempt, i.label, i.state]), [[0, 'Read src/a.ts', 'running'], [1, 'npm test', 'ok']]);
  });

  it('shows a selection once and does not repeat an unchanged status', () => {
    const t = new Timeline();
    assert.equal(t.apply(ev({ type: 'task.status', status: 'completed', task: task(0) })), true);
    assert.equal(t.apply(ev({ type: 'task.status', status: 'completed', task: task(1) })), true);
    assert.equal(t.apply(ev({ type: 'task.status', status: 'completed', task: task(1) })), false);
    assert.deepEqual(t.items.map((i) => i.kind === 'status' && i.text), ['completed', 'attempt 1 of 2 selected', 'attempt 2 of 2 selected']);
  });
});

describe('extension: timeline questions', () => {
  it('shows a question announced twice (tool call and waiting state) once, per attempt', () => {
    const t = new Timeline();
    t.apply(ev({ type: 'question', questionId: 'uuid-a', text: 'Which port?' }));
    t.apply(ev({ type: 'question', questionId: '0:uuid-b', text: 'Which port?' }));
    t.apply(ev({ type: 'question', attempt: 1, questionId: '1:uuid-c', text: 'Which port?' }));
    assert.deepEqual(t.items.map((i) => i.kind === 'question' && i.attempt), [0, 1]);
    // Once answered, the same question asked again is a new one.
    t.apply(ev({ type: 'user.message', kind: 'answer', text: '8080' }));
    t.apply(ev({ type: 'question', questionId: 'uuid-d', text: 'Which port?' }));
    assert.equal(t.items.filter((i) => i.kind === 'question').length, 3);
  });
});
