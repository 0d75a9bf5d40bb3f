import assert from 'node:assert/strict';
import { allEvents, getTask, isDone, until, waitForTask } from '../../support/tasks';
import { createTaskOn, fleetSetting, type FleetSetting } from './helpers';

describe('fleet: graceful drain', function () {
  this.timeout(150_000);
  let s: FleetSetting;
  before(async () => {
    s = await fleetSetting({ nodes: 2 });
    s.model.setScript('drained', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo before > before.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 5' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo after > after.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'drained' } }] },
    ]);
  });
  after(async () => s?.close());

  it('SIGTERM gives the running task back: another node continues it at once, never interrupted', async () => {
    const created = await createTaskOn(s.fleet.nodes[0]!, s.repo, 'move me [[script:drained]]');
    await until(async () => {
      const events = await allEvents(s.fleet.nodes[0]!, created.id);
      return events.some((e) => e.type === 'tool.call' && JSON.stringify(e.args).includes('sleep 5')) && events.some((e) => e.type === 'diff.updated' && e.diffVersion !== undefined);
    }, 60_000, 'the long command');
    const runs = (await getTask(s.fleet.nodes[0]!, created.id)).node;
    const leaving = s.fleet.nodes.find((n) => n.id === runs) ?? assert.fail('no node runs it');
    const staying = s.fleet.nodes.find((n) => n !== leaving)!;
    const stopAt = Date.now();
    await leaving.stop();
    const stopMs = Date.now() - stopAt;
    const done = await waitForTask(staying, created.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.node, staying.id);
    assert.deepEqual(done.changedFiles.map((f) => f.path).sort(), ['after.txt', 'before.txt']);
    const events = await allEvents(staying, created.id);
    const moved = events.filter((e) => e.type === 'task.moved');
    assert.equal(moved.length, 1);
    assert.ok(moved[0]!.type === 'task.moved' && moved[0]!.from === leaving.id && moved[0]!.to === staying.id && moved[0]!.reason === 'drained');
    assert.ok(!events.some((e) => e.type === 'task.status' && e.status === 'interrupted'), 'never interrupted');
    assert.ok(stopMs < 10_000, `the node took ${stopMs} ms to stop`);
    // Given back at once, not after the lease: the staying node resumed it well within one.
    assert.match(leaving.logs(), /attempt given back to the fleet/);
  });
});
