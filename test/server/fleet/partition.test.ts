import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { TaskEvent } from '../../../protocol';
import { allEvents, getTask, isDone, until, waitForTask } from '../../support/tasks';
import { createTaskOn, fleetSetting, LEASE_MS, type FleetSetting } from './helpers';

/** Files named `name` anywhere under `dir` (a node's data dir: its task views and their layers). */
function filesNamed(dir: string, name: string): string[] {
  return execFileSync('find', [dir, '-name', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('fleet: a node cut off from the network', function () {
  this.timeout(150_000);
  let s: FleetSetting;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    s = await fleetSetting({ nodes: 3, netns: true });
    s.model.setScript('partition', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo before > before.txt' } }] },
      // The node is cut off while this runs: it must stop it before the lease runs out, so the
      // cut-off node never writes late.txt (the node that takes over writes its own).
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 6; echo late > late.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'partitioned' } }] },
    ]);
  });
  after(async () => s?.close());

  it('stops its agents before its lease runs out, its late writes are refused, and the task completes elsewhere once', async () => {
    const [entry] = s.fleet.nodes;
    const created = await createTaskOn(entry!, s.repo, 'survive a partition [[script:partition]]');
    let events: TaskEvent[] = [];
    await until(async () => {
      events = await allEvents(entry!, created.id);
      // The long command runs, and the work before it is saved (a snapshot of before.txt announced).
      return (
        events.some((e) => e.type === 'tool.call' && JSON.stringify(e.args).includes('sleep 6')) &&
        events.some((e) => e.type === 'diff.updated' && e.diffVersion !== undefined && e.changedFiles.some((f) => f.path === 'before.txt'))
      );
    }, 60_000, 'the long command, and the work before it saved');
    const running = await getTask(entry!, created.id);
    const victim = s.fleet.nodes.find((n) => n.id === running.node)!;
    const survivor = s.fleet.nodes.find((n) => n !== victim)!;
    victim.netns!.cut();
    const cutAt = Date.now();

    const done = await waitForTask(survivor, created.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.notEqual(done.node, victim.id);
    assert.deepEqual(done.changedFiles.map((f) => f.path).sort(), ['before.txt', 'late.txt']);
    const moved = (await allEvents(survivor, created.id)).filter((e) => e.type === 'task.moved');
    assert.equal(moved.length, 1);
    assert.ok(moved[0]!.type === 'task.moved' && moved[0]!.from === victim.id && moved[0]!.reason === 'lease_expired');
    // The cut-off node stopped its command: its own view never got late.txt, although the
    // command's 6 s were long over when the other node finished.
    assert.ok(Date.now() - cutAt > 6_000);
    assert.deepEqual(filesNamed(victim.dataDir, 'late.txt'), [], 'the cut-off node ran on');
    assert.match(victim.logs(), /cut off from the database for most of the lease/);

    // Back on the network, what it still had to write is refused: another node holds the attempt.
    // (The finished run may still announce its last diff version: wait until the log is still.)
    let before = await allEvents(survivor, created.id);
    for (let still = 0; still < 3; ) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await allEvents(survivor, created.id);
      still = now.length === before.length ? still + 1 : 0;
      before = now;
    }
    victim.netns!.heal();
    await until(() => /late write refused|lease lost/.test(victim.logs()), 60_000, 'the cut-off node to hear it lost the attempt');
    await new Promise((r) => setTimeout(r, LEASE_MS));
    const after = await allEvents(survivor, created.id);
    assert.deepEqual(after, before, 'nothing written by the cut-off node');
    const final = await getTask(survivor, created.id);
    assert.equal(final.status, 'completed');
    assert.equal(final.node, done.node);
    assert.equal(after.filter((e) => e.type === 'agent.finished').length, 1);
  });
});
