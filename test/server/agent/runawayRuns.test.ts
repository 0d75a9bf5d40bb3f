// A run that goes nowhere ends early and says why, through the real server: a model cycling through
// the same few calls is warned once and stopped; a wall-time limit below a minute reads in seconds.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel, type StepObject } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';

type ToolResult = Extract<TaskEvent, { type: 'tool.result' }>;
const shell = (command: string): StepObject => ({ toolCalls: [{ name: 'shell', arguments: { command } }] });

describe('runaway runs through the server', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-runaway-'));
    makeRepo(repo, { 'README.md': '# r\n' });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('stops a model alternating ls and pwd: warned once on the third round, stopped with loop_detected on the next call', async () => {
    // Sixty turns of ls, pwd, ls, pwd… — without cycle detection this runs into the turn limit.
    model.setScript('cycle', Array.from({ length: 64 }, (_, i) => shell(i % 2 === 0 ? 'ls' : 'pwd')));
    const t = await createTask(server, repo, 'Look around [[script:cycle]]');
    const done = await waitForTask(server, t.id, isDone, 60_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'loop_detected', JSON.stringify(done.error));
    assert.match(done.error.message, /same 2 calls/);
    const events = await allEvents(server, t.id);
    const results = events.filter((e): e is ToolResult => e.type === 'tool.result');
    assert.equal(events.filter((e) => e.type === 'tool.call').length, 6, 'three rounds run; the seventh call is not');
    const warned = results.filter((r) => /Harness note/.test(r.output));
    assert.equal(warned.length, 1, 'one warning');
    assert.equal(results.indexOf(warned[0]!), 5, 'on the call that completed the third round');
    assert.match(warned[0]!.output, /same 2 calls in turn 3 times over/);
    assert.equal(model.requests.filter((r) => r.script === 'cycle').length, 7);
  });

  it('lets a cycle run whose results change (progress, not a loop)', async () => {
    // The file grows each round: the same two calls, never the same results.
    const steps = Array.from({ length: 10 }, (_, i) => shell(i % 2 === 0 ? 'echo x >> grow.txt' : 'wc -l grow.txt'));
    model.setScript('progress', [...steps, { toolCalls: [{ name: 'finish', arguments: { summary: 'grew' } }] }]);
    const t = await createTask(server, repo, 'Grow [[script:progress]]');
    const done = await waitForTask(server, t.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const results = (await allEvents(server, t.id)).filter((e): e is ToolResult => e.type === 'tool.result');
    assert.ok(results.every((r) => !/Harness note/.test(r.output)));
  });

  it('says a wall-time limit below a minute in seconds', async () => {
    model.setScript('slow', [shell('sleep 30')]);
    const t = await createTask(server, repo, 'Wait [[script:slow]]', { limits: { maxWallTimeMs: 1500 } });
    const done = await waitForTask(server, t.id, isDone, 60_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'time_limit');
    assert.equal(done.error?.message, "Stopped after 1.5 seconds: the task's wall-time limit.");
  });
});
