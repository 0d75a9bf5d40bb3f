import assert from 'node:assert/strict';
import type { Task } from '../../../protocol';
import { api } from '../../support/serverProcess';
import { allEvents, getTask, until } from '../../support/tasks';
import { createTaskOn, fleetSetting, type FleetSetting } from './helpers';

describe('fleet: any node answers for every task', function () {
  this.timeout(150_000);
  let s: FleetSetting;
  before(async () => {
    s = await fleetSetting({ nodes: 3 });
    s.model.setScript('long', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo started > started.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 60' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'should not finish' } }] },
    ]);
    s.model.setScript('asks', [
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Which color?' } }] },
      (req) => ({ toolCalls: [{ name: 'finish', arguments: { summary: `answer seen: ${JSON.stringify(req.body).includes('teal')}` } }] }),
    ]);
  });
  after(async () => s?.close());

  it('cancel posted to a node that does not run the task stops it where it runs, its work kept', async () => {
    const created = await createTaskOn(s.fleet.nodes[0]!, s.repo, 'cancel me [[script:long]]');
    await until(async () => (await allEvents(s.fleet.nodes[0]!, created.id)).some((e) => e.type === 'tool.call' && JSON.stringify(e.args).includes('sleep 60')), 60_000, 'the long command');
    const runner = (await getTask(s.fleet.nodes[0]!, created.id)).node;
    const other = s.fleet.nodes.find((n) => n.id !== runner)!;
    const started = Date.now();
    const res = await api<Task>(other, 'POST', `/v1/tasks/${created.id}/cancel`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    assert.ok(Date.now() - started < 10_000, `cancel took ${Date.now() - started} ms`);
    assert.equal(res.body.node, runner);
    assert.deepEqual(res.body.changedFiles.map((f) => f.path), ['started.txt']);
    const events = await allEvents(other, created.id);
    assert.ok(!events.some((e) => e.type === 'agent.finished'));
    // The node that ran it records who asked (the admin: null), as a single node does.
    const cancelled = events.find((e) => e.type === 'task.status' && e.status === 'cancelled');
    assert.ok(cancelled && 'actor' in cancelled && cancelled.actor === null, JSON.stringify(cancelled));
  });

  it('a question asked on one node is answered through another', async () => {
    const created = await createTaskOn(s.fleet.nodes[0]!, s.repo, 'ask me [[script:asks]]');
    await until(async () => (await getTask(s.fleet.nodes[0]!, created.id)).status === 'waiting_for_input', 60_000, 'the question');
    const runner = (await getTask(s.fleet.nodes[0]!, created.id)).node;
    const other = s.fleet.nodes.find((n) => n.id !== runner)!;
    const res = await api<{ kind: string }>(other, 'POST', `/v1/tasks/${created.id}/messages`, { text: 'teal' });
    assert.equal(res.body.kind, 'answer');
    await until(async () => (await getTask(other, created.id)).status === 'completed', 60_000, 'the task to finish');
    const done = await getTask(other, created.id);
    assert.equal(done.summary, 'answer seen: true');
    assert.equal(done.node, runner);
  });
});
