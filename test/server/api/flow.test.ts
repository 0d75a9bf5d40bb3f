import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';

const PATCH = `*** Begin Patch
*** Update File: src/math.js
@@
 function add(a, b) {
-  return a - b;
+  return a + b;
 }
*** End Patch`;

describe('a task from start to finish through the API', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-flow-repo-'));
    makeRepo(repo, {
      'src/math.js': 'function add(a, b) {\n  return a - b;\n}\nmodule.exports = { add };\n',
      'test.sh': 'node -e "const {add}=require(\'./src/math.js\'); if (add(2,3)!==5) { console.error(\'add is wrong\'); process.exit(1) } console.log(\'ok\')"\n',
      'AGENTS.md': 'Run tests with `sh test.sh`.\n',
    });
    model.setScript('fix', [
      { toolCalls: [{ name: 'list_files', arguments: {} }] },
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: PATCH } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sh test.sh' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add().', test_command: 'sh test.sh', tests_passed: true } }] },
    ]);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('runs the agent in the sandbox and exposes the diff, file versions and events', async () => {
    const created = await createTask(server, repo, 'Fix add [[script:fix]]', {});
    assert.equal(created.status, 'queued');
    const done = await waitForTask(server, created.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.summary, 'Fixed add().');
    assert.deepEqual(done.testResult && { command: done.testResult.command, passed: done.testResult.passed }, { command: 'sh test.sh', passed: true });
    assert.deepEqual(done.changedFiles.map((f) => [f.path, f.status, f.additions, f.deletions]), [['src/math.js', 'modified', 1, 1]]);
    assert.ok(done.usage.modelRequests >= 4);
    assert.match(done.repo.commit ?? '', /^[0-9a-f]{40}$/);

    const diff = await api<string>(server, 'GET', `/v1/tasks/${done.id}/diff`);
    assert.equal(diff.status, 200);
    assert.match(diff.body, /- {2}return a - b;\n\+ {2}return a \+ b;/);
    const base = await api<string>(server, 'GET', `/v1/tasks/${done.id}/file?path=src/math.js&side=base`);
    const head = await api<string>(server, 'GET', `/v1/tasks/${done.id}/file?path=src/math.js&side=head`);
    assert.match(base.body, /a - b/);
    assert.match(head.body, /a \+ b/);
    const missing = await api(server, 'GET', `/v1/tasks/${done.id}/file?path=nope.js&side=head`);
    assert.equal(missing.status, 404);

    const events = await allEvents(server, done.id);
    const statuses = events.filter((e) => e.type === 'task.status').map((e) => (e as { status: string }).status);
    assert.deepEqual(statuses, ['preparing', 'running', 'completed']);
    const seqs = events.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    const types = new Set(events.map((e) => e.type));
    for (const t of ['task.created', 'tool.call', 'tool.result', 'diff.updated', 'agent.finished', 'usage']) assert.ok(types.has(t as never), `missing ${t}`);
    const shellResult = events.find((e) => e.type === 'tool.result' && e.name === 'shell');
    assert.ok(shellResult && shellResult.type === 'tool.result' && shellResult.ok, JSON.stringify(shellResult));
    // AGENTS.md reached the model.
    assert.ok(JSON.stringify(model.requests[0]).includes('Run tests with'));
    // The user's repository was not touched.
    const { readFileSync } = await import('node:fs');
    assert.match(readFileSync(join(repo, 'src/math.js'), 'utf8'), /a - b/);
  });

  it('starts from the user\'s uncommitted changes and does not count them as the agent\'s', async () => {
    writeFileSync(join(repo, 'NOTES.md'), 'work in progress\n');
    model.setScript('noop', [{ toolCalls: [{ name: 'finish', arguments: { summary: 'Nothing to do.' } }] }]);
    const t = await createTask(server, repo, 'Look [[script:noop]]');
    const done = await waitForTask(server, t.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.deepEqual(done.changedFiles, []);
    const head = await api<string>(server, 'GET', `/v1/tasks/${t.id}/file?path=NOTES.md&side=head`);
    assert.equal(head.body, 'work in progress\n');
  });

  it('steers a running task, pauses on a question until answered, and continues with a follow-up', async () => {
    model.setScript('talk', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 1; echo slept' } }] },
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Which name?' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Done talking.' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Follow-up done.' } }] },
    ]);
    const t = await createTask(server, repo, 'Talk [[script:talk]]');
    await waitForTask(server, t.id, (x) => x.status === 'running');
    const steer = await api<{ kind: string }>(server, 'POST', `/v1/tasks/${t.id}/messages`, { text: 'Please prefer short names.' });
    assert.equal(steer.status, 202);
    assert.equal(steer.body.kind, 'steer');
    const waiting = await waitForTask(server, t.id, (x) => x.status === 'waiting_for_input');
    assert.equal(waiting.question?.text, 'Which name?');
    // The steering message reached the model on the request after it was sent.
    assert.ok(model.requests.some((r) => JSON.stringify(r).includes('Please prefer short names.')));
    const questions = (await allEvents(server, t.id)).filter((e) => e.type === 'question');
    assert.equal(questions.length, 1, 'the question is announced once');
    const answer = await api<{ kind: string }>(server, 'POST', `/v1/tasks/${t.id}/messages`, { text: 'Call it sum.' });
    assert.equal(answer.body.kind, 'answer');
    const done = await waitForTask(server, t.id, isDone);
    assert.equal(done.status, 'completed');
    assert.equal(done.summary, 'Done talking.');
    assert.equal(done.question, undefined);
    assert.ok(model.requests.some((r) => JSON.stringify(r).includes('Call it sum.')));
    const follow = await api<{ kind: string }>(server, 'POST', `/v1/tasks/${t.id}/messages`, { text: 'One more thing.' });
    assert.equal(follow.body.kind, 'followup', JSON.stringify(follow.body));
    const again = await waitForTask(server, t.id, (x) => isDone(x) && x.summary === 'Follow-up done.');
    assert.equal(again.status, 'completed');
    const last = model.requests.at(-1);
    assert.ok(JSON.stringify(last).includes('One more thing.') && JSON.stringify(last).includes('Which name?'), 'the follow-up continues the conversation');
  });
});
