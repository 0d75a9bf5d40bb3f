// The extension's client side against the real server: the API client creates a task, the event
// stream feeds the task model, the server is killed (-9) and restarted mid-task, and the model
// ends exactly where the server's own log and task list say, with every event applied once.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseUnifiedDiff } from '../../../protocol';
import { TaskModel } from '../../../src/model/taskModel';
import { ApiClient } from '../../../src/server/apiClient';
import { EventStream, type StreamState } from '../../../src/server/eventStream';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { isDone, openStream, until } from '../../support/tasks';

const MATH = ['function add(a, b) {', '  return a - b;', '}', '', '// a', '// b', '// c', '// d', '// e', '// f', '', 'function mul(a, b) {', '  return a + b;', '}', ''].join('\n');

describe('extension client: event stream, model and API against the real server', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;
  let dataDir: string;
  const quiet = { info: () => undefined, warn: () => undefined };

  before(async () => {
    model = await startFakeModel();
    dataDir = mkdtempSync(join(tmpdir(), 'delegate-ext-data-'));
    // The sandbox user must be able to traverse the data dir that holds the task copies.
    chmodSync(dataDir, 0o711);
    server = await startServer({ dataDir, modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-ext-stream-'));
    makeRepo(repo, { 'src/math.js': MATH });
    const patch = (from: string, to: string) =>
      `*** Begin Patch\n*** Update File: src/math.js\n@@\n-  return ${from};\n+  return ${to};\n*** End Patch`;
    model.setScript('two-fixes', [
      { text: 'Fixing add first.', toolCalls: [{ name: 'apply_patch', arguments: { patch: patch('a - b', 'a + b') } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 3; echo slow step done' } }] },
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: `*** Begin Patch\n*** Update File: src/math.js\n@@ function mul(a, b) {\n-  return a + b;\n+  return a * b;\n*** End Patch` } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 1; echo again' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add and mul.' } }] },
    ]);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (repo) rmSync(repo, { recursive: true, force: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('survives a server restart mid-task and ends equal to the server', async () => {
    const endpoint = async () => ({ url: server.url, token: server.token });
    const api = new ApiClient(endpoint);
    const tasks = new TaskModel();
    const states: StreamState['kind'][] = [];
    const applied: number[] = [];
    const stream = new EventStream({ endpoint, lastSeq: () => tasks.lastSeq, log: quiet, minDelayMs: 50, maxDelayMs: 500 });
    stream.onState((s) => states.push(s.kind));
    stream.onFrame((frame) => {
      if (frame.type === 'event' && frame.event.seq > tasks.lastSeq) applied.push(frame.event.seq);
      tasks.applyFrame(frame);
    });
    try {
      stream.start();
      const created = await api.createTask({ prompt: 'Fix math [[script:two-fixes]]', repo: { kind: 'local', path: repo } });
      assert.ok(created.ok, JSON.stringify(!created.ok && created.error));
      const id = created.value.id;
      tasks.upsert(created.value);

      await until(() => (tasks.get(id)?.changedFiles.length ?? 0) > 0, 60_000, 'first change streamed in').catch(async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(await api.getTask(id))}\n${server.logs().slice(-3000)}`);
      });
      assert.equal(tasks.get(id)?.status, 'running');
      await server.kill();
      await until(() => states.includes('offline'), 10_000, 'stream noticed the server is gone');
      server = await server.restart();
      await until(() => states.lastIndexOf('connected') > states.indexOf('offline'), 30_000, 'stream reconnected');
      await until(async () => {
        const t = await api.getTask(id);
        return t.ok && isDone(t.value) && tasks.get(id)?.status === t.value.status;
      }, 120_000, 'the model saw the task end');

      const truth = await openStream(server, 0);
      await until(() => truth.frames.some((f) => f.type === 'replayed'), 10_000, 'full replay');
      truth.ws.close();
      const truthSeqs = truth.frames.flatMap((f) => (f.type === 'event' ? [f.event.seq] : []));
      await until(() => tasks.lastSeq === truthSeqs.at(-1), 10_000, 'model caught up with the log');
      assert.deepEqual(applied, truthSeqs, 'every event applied exactly once, in order');

      const serverTask = await api.getTask(id);
      assert.ok(serverTask.ok);
      assert.deepEqual(tasks.get(id)?.status, serverTask.value.status);
      assert.deepEqual(tasks.get(id)?.changedFiles, serverTask.value.changedFiles);
      const agentText = tasks.timeline(id)!.items.filter((i) => i.kind === 'agent').map((i) => (i.kind === 'agent' ? i.text : ''));
      assert.ok(agentText.includes('Fixing add first.'), JSON.stringify(agentText));
    } finally {
      stream.dispose();
    }
  });

  it('reads the diff and both sides of a file through the API client', async () => {
    const api = new ApiClient(async () => ({ url: server.url, token: server.token }));
    const list = await api.listTasks();
    assert.ok(list.ok);
    const task = list.value.tasks.find((t) => t.changedFiles.length > 0);
    assert.ok(task, 'a task with changes');
    const diff = await api.diff(task.id);
    assert.ok(diff.ok);
    const file = parseUnifiedDiff(diff.value.text).find((f) => f.path === 'src/math.js');
    assert.ok(file && file.hunks.length >= 1, diff.value.text);
    // The server names the diff, so a pull request's decisions can say which one they were made on.
    assert.match(diff.value.version ?? '', /^\S+$/, 'the diff carries its version');
    const base = await api.file(task.id, 'src/math.js', 'base');
    assert.ok(base.ok && base.value);
    assert.equal(new TextDecoder().decode(base.value), MATH);
    const missing = await api.file(task.id, 'nope.js', 'head');
    assert.deepEqual(missing, { ok: true, value: null });
    const denied = await new ApiClient(async () => ({ url: server.url, token: 'wrong' })).listTasks();
    assert.equal(!denied.ok && denied.error.status, 401);
  });
});
