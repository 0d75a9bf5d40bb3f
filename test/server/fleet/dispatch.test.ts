import assert from 'node:assert/strict';
import type { Health } from '../../../protocol';
import { api } from '../../support/serverProcess';
import { isDone, until, waitForTask } from '../../support/tasks';
import { createTaskOn, fleetSetting, LEASE_MS, type FleetSetting } from './helpers';

describe('fleet: dispatch', function () {
  this.timeout(120_000);
  let s: FleetSetting;
  before(async () => {
    s = await fleetSetting({ nodes: 3, nodeArgs: () => ['--max-parallel', '1'] });
    s.model.setScript('spread', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 2; echo done > done.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'spread' } }] },
    ]);
  });
  after(async () => s?.close());

  it('tasks posted to one node run on several, each exactly once, and every node lists the fleet', async () => {
    const [first] = s.fleet.nodes;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createTaskOn(first!, s.repo, `task ${i} [[script:spread]]`)).id);
    const done = await Promise.all(ids.map((id) => waitForTask(first!, id, isDone, 60_000)));
    for (const t of done) assert.equal(t.status, 'completed', JSON.stringify(t.error));
    const nodes = new Set(done.map((t) => t.node));
    assert.equal(nodes.size, 3, `ran on ${[...nodes].join(', ')}`);
    for (const t of done) assert.ok(s.fleet.nodes.some((n) => n.id === t.node));
    // Any node serves any task's diff: one that did not run it makes the workspace from the saved work.
    for (const t of done) {
      const elsewhere = s.fleet.nodes.find((n) => n.id !== t.node)!;
      const diff = await api<string>(elsewhere, 'GET', `/v1/tasks/${t.id}/diff`);
      assert.equal(diff.status, 200, JSON.stringify(diff.body));
      assert.match(diff.body, /\+\+\+ b\/done\.txt[\s\S]*\+done/);
    }
    // Every task's model conversation started once: no attempt ran twice.
    for (let i = 0; i < 3; i++) assert.equal(s.model.requests.filter((r) => r.turn === 0 && JSON.stringify(r.body).includes(`task ${i} `)).length, 1);
    // The nodes' rows say how many slots are free as of their last heartbeat (a third of the lease).
    for (const node of s.fleet.nodes) {
      await until(async () => {
        const health = (await api<Health>(node, 'GET', '/healthz')).body;
        assert.equal(health.fleet?.node, node.id);
        assert.deepEqual(health.fleet?.nodes.map((n) => n.id).sort(), s.fleet.nodes.map((n) => n.id).sort());
        return health.fleet?.nodes.every((n) => n.free === 1 && n.maxParallel === 1);
      }, LEASE_MS * 2, 'every node listed with its slot free');
    }
  });
});
