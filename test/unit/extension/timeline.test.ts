// The timeline folds streamed events into what the panel shows.
import * as assert from 'node:assert/strict';
import { EMPTY_USAGE, type TaskEvent } from '../../../protocol';
import { Timeline } from '../../../src/model/timeline';

let seq = 0;
function ev<T extends TaskEvent['type']>(type: T, fields: Omit<Extract<TaskEvent, { type: T }>, 'seq' | 'at' | 'taskId' | 'type'>): TaskEvent {
  return { seq: ++seq, at: new Date().toISOString(), taskId: 't1', type, ...fields } as TaskEvent;
}

describe('extension: timeline', () => {
  it('assembles an agent message from deltas and settles it with the final text', () => {
    const t = new Timeline();
    t.apply(ev('agent.delta', { messageId: 'm1', text: 'Hel' }));
    t.apply(ev('agent.delta', { messageId: 'm1', text: 'lo' }));
    assert.deepEqual(t.items.map((i) => i.kind === 'agent' && [i.text, i.streaming]), [['Hello', true]]);
    t.apply(ev('agent.message', { messageId: 'm1', text: 'Hello.' }));
    assert.deepEqual(t.items.map((i) => i.kind === 'agent' && [i.text, i.streaming]), [['Hello.', false]]);
  });

  it('joins a tool call with its streamed output and its result', () => {
    const t = new Timeline();
    t.apply(ev('tool.call', { callId: 'c1', name: 'shell', args: { command: 'npm test' } }));
    t.apply(ev('tool.output', { callId: 'c1', stream: 'stdout', chunk: 'ok\n' }));
    const running = t.items[0]!;
    assert.equal(running.kind === 'tool' && running.state, 'running');
    assert.equal(running.kind === 'tool' && running.output, 'ok\n');
    t.apply(ev('tool.result', { callId: 'c1', name: 'shell', ok: false, output: 'ok\nfailed\n', exitCode: 1, durationMs: 12 }));
    const done = t.items[0]!;
    assert.ok(done.kind === 'tool');
    assert.deepEqual([done.args, done.state, done.exitCode, done.output], ['npm test', 'failed', 1, 'ok\nfailed\n']);
  });

  it('marks a question answered when the answer arrives', () => {
    const t = new Timeline();
    t.apply(ev('question', { questionId: 'q1', text: 'Which file?' }));
    t.apply(ev('user.message', { kind: 'answer', text: 'a.ts' }));
    assert.deepEqual(t.items.map((i) => i.kind), ['question', 'user']);
    assert.equal(t.items[0]!.kind === 'question' && t.items[0].answered, true);
  });

  it('ignores events that are not part of the story (usage, diff)', () => {
    const t = new Timeline();
    assert.equal(t.apply(ev('usage', { usage: EMPTY_USAGE })), false);
    assert.equal(t.apply(ev('diff.updated', { changedFiles: [] })), false);
    assert.equal(t.items.length, 0);
  });
});

describe('extension: timeline summary', () => {
  it('shows a repeated finish once, but a follow-up\'s finish again', () => {
    const t = new Timeline();
    t.apply(ev('agent.finished', { summary: 'Done.' }));
    t.apply(ev('agent.finished', { summary: 'Done.' }));
    assert.equal(t.items.filter((i) => i.kind === 'finished').length, 1);
    t.apply(ev('user.message', { kind: 'followup', text: 'again' }));
    t.apply(ev('agent.finished', { summary: 'Done.' }));
    assert.equal(t.items.filter((i) => i.kind === 'finished').length, 2);
  });
});
