import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerFrame } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { createTask, getTask, isDone, openStream, until } from '../../support/tasks';

describe('event stream resume', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;
  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-resume-repo-'));
    makeRepo(repo, { 'a.txt': 'a\n' });
    const steps = [];
    for (let i = 0; i < 25; i++) {
      steps.push({ text: `step ${i} `.repeat(5), toolCalls: [{ name: 'shell', arguments: { command: `for j in 1 2 3 4 5; do echo line $j of ${i}; done; echo ${i} >> out.txt; sleep 0.1` } }] });
    }
    steps.push({ toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] });
    model.setScript('chatty', steps);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('a client that drops 50 times and resumes with `since` ends with exactly the server\'s event list', async () => {
    const task = await createTask(server, repo, 'Chatty [[script:chatty]]');
    const seen: number[] = [];
    let lastSeq = 0;
    let drops = 0;
    while (drops < 50) {
      const { ws, frames } = await openStream(server, lastSeq);
      const take = () => {
        for (const f of frames.splice(0)) {
          if (f.type === 'event') {
            seen.push(f.event.seq);
            lastSeq = f.event.seq;
          }
        }
      };
      ws.on('message', take);
      // Drop after a random short while, sometimes before the replay even ends.
      await new Promise((r) => setTimeout(r, Math.random() * 60));
      take();
      ws.terminate();
      take();
      drops++;
    }
    // Final connection: stay until the task is done and the log is drained.
    const { ws, frames } = await openStream(server, lastSeq);
    await until(async () => isDone(await getTask(server, task.id)), 120_000, 'task done');
    const final = await openStream(server, 0);
    await until(() => final.frames.some((f) => f.type === 'replayed'), 10_000, 'full replay');
    const truth = final.frames.filter((f): f is Extract<ServerFrame, { type: 'event' }> => f.type === 'event').map((f) => f.event.seq);
    await until(() => {
      const got = frames.filter((f) => f.type === 'event');
      return got.length > 0 && (got.at(-1) as Extract<ServerFrame, { type: 'event' }>).event.seq >= truth.at(-1)!;
    }, 10_000, 'resumed client caught up');
    for (const f of frames) if (f.type === 'event') seen.push(f.event.seq);
    ws.close();
    final.ws.close();
    assert.equal(drops, 50);
    assert.ok(truth.length > 100, `only ${truth.length} events`);
    assert.deepEqual(seen, truth);
  });

  it('filters by task', async () => {
    const a = await createTask(server, repo, 'A [[script:chatty]]');
    const { ws, frames } = await openStream(server, 0, `&taskId=${a.id}`);
    await until(() => frames.some((f) => f.type === 'replayed'));
    ws.close();
    const events = frames.filter((f): f is Extract<ServerFrame, { type: 'event' }> => f.type === 'event');
    assert.ok(events.length > 0);
    assert.ok(events.every((f) => f.event.taskId === a.id));
    await fetch(`${server.url}/v1/tasks/${a.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${server.token}` } });
  });
});
