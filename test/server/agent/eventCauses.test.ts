// Events name the event that caused them (`cause`), so a client can link a result to its call, a
// pause to its question and a resumed task to the user's answer. Through the real server.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, until, waitForTask } from '../../support/tasks';

type Of<T extends TaskEvent['type']> = Extract<TaskEvent, { type: T }>;
const ofType = <T extends TaskEvent['type']>(events: TaskEvent[], type: T): Array<Of<T>> => events.filter((e): e is Of<T> => e.type === type);

describe('event causes', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-causes-'));
    makeRepo(repo, { 'README.md': '# r\n' });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('links results, output, questions, diffs, the finish and status changes to what caused them', async () => {
    model.setScript('causes', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo hi; echo hi > f.txt' } }] },
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Which greeting?' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Wrote f.txt.' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Followed up.' } }] },
    ]);
    const t = await createTask(server, repo, 'Write [[script:causes]]');
    await waitForTask(server, t.id, (x) => x.status === 'waiting_for_input');
    const answered = await api(server, 'POST', `/v1/tasks/${t.id}/messages`, { text: 'Hello' });
    assert.equal(answered.status, 202);
    const done = await waitForTask(server, t.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    await api(server, 'POST', `/v1/tasks/${t.id}/messages`, { text: 'One more' });
    await waitForTask(server, t.id, (x) => isDone(x) && x.summary === 'Followed up.');

    const events = await allEvents(server, t.id);
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    for (const e of events) if (e.cause !== undefined) assert.ok(bySeq.has(e.cause) && e.cause < e.seq, `${e.type} #${e.seq} names a cause before it: ${e.cause}`);

    const calls = ofType(events, 'tool.call');
    const callSeq = new Map(calls.map((c) => [c.callId, c.seq]));
    const results = ofType(events, 'tool.result');
    assert.equal(results.length, 4);
    for (const r of results) assert.equal(r.cause, callSeq.get(r.callId), `the ${r.name} result names its call`);
    const output = ofType(events, 'tool.output');
    assert.ok(output.length > 0);
    for (const o of output) assert.equal(o.cause, callSeq.get(o.callId));

    const shellCall = calls.find((c) => c.name === 'shell')!;
    const diffs = ofType(events, 'diff.updated');
    assert.ok(diffs.length > 0);
    for (const d of diffs) assert.equal(d.cause, shellCall.seq, 'the diff update names the call that changed the files');

    const askCall = calls.find((c) => c.name === 'ask_user')!;
    const question = ofType(events, 'question')[0]!;
    assert.equal(question.cause, askCall.seq);
    const statuses = ofType(events, 'task.status');
    assert.equal(statuses.find((s) => s.status === 'waiting_for_input')?.cause, question.seq, 'the pause names the question');
    const answer = ofType(events, 'user.message').find((m) => m.kind === 'answer')!;
    const resumed = statuses.find((s) => s.seq > answer.seq)!;
    assert.ok(['running', 'queued'].includes(resumed.status));
    assert.equal(resumed.cause, answer.seq, 'the resumed task names the answer');

    const finishes = ofType(events, 'agent.finished');
    const finishCalls = calls.filter((c) => c.name === 'finish');
    assert.deepEqual(finishes.map((f) => f.cause), finishCalls.map((c) => c.seq));

    const followup = ofType(events, 'user.message').find((m) => m.kind === 'followup')!;
    const requeued = statuses.find((s) => s.seq > followup.seq)!;
    assert.equal(requeued.status, 'queued');
    assert.equal(requeued.cause, followup.seq, 'the follow-up names the message');
  });

  it('links the cancelled status to the cancel request', async () => {
    model.setScript('cancel-cause', [{ toolCalls: [{ name: 'shell', arguments: { command: 'sleep 30' } }] }]);
    const t = await createTask(server, repo, 'Wait [[script:cancel-cause]]');
    await until(async () => (await allEvents(server, t.id)).some((e) => e.type === 'tool.call'), 30_000, 'the command started');
    assert.equal((await api(server, 'POST', `/v1/tasks/${t.id}/cancel`)).status, 200);
    assert.equal((await waitForTask(server, t.id, isDone)).status, 'cancelled');
    const events = await allEvents(server, t.id);
    const requests = ofType(events, 'task.cancel_requested');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.actor, null, 'the admin asked');
    const cancelled = ofType(events, 'task.status').find((s) => s.status === 'cancelled')!;
    assert.equal(cancelled.cause, requests[0]!.seq, 'the cancelled status names the request');
    assert.equal(cancelled.actor, null);
  });
});
