// Checkpoints in a fleet (real PostgreSQL, nodes as processes): a follow-up from a checkpoint,
// posted to the node that ran the task, runs on another node, which starts from the restored work
// (saved through the work transfer), also when that node holds an older copy of the attempt from
// an earlier run. A node without the snapshot history says where it is.
import assert from 'node:assert/strict';
import type { Health, TaskEvent } from '../../protocol';
import { api } from '../support/serverProcess';
import { allEvents, isDone, until, waitForTask } from '../support/tasks';
import { createTaskOn, fleetSetting, LEASE_MS, type FleetSetting } from './fleet/helpers';

type DiffUpdated = Extract<TaskEvent, { type: 'diff.updated' }>;
// A model answers in a fraction of a second (each turn's record reads the view before the next turn begins).
const shell = (command: string) => ({ delayMs: 150, toolCalls: [{ name: 'shell', arguments: { command } }] });
const finish = (summary: string) => ({ delayMs: 150, toolCalls: [{ name: 'finish', arguments: { summary } }] });
/** Attempts running on a node now (its /healthz). */
const busy = async (node: { url: string; token: string }) => {
  const health = (await api<Health>(node, 'GET', '/healthz')).body;
  const self = health.fleet?.nodes.find((n) => n.id === health.fleet?.node);
  return self ? self.running : -1;
};
const filesOf = (diff: string) => [...diff.matchAll(/^diff --git a\/(\S+) /gm)].map((m) => m[1]);

describe('checkpoints in a fleet', function () {
  this.timeout(180_000);
  let s: FleetSetting;
  before(async () => {
    // One slot per node: while the first node is busy, the follow-up can only go to the second.
    s = await fleetSetting({ nodes: 1, args: ['--lease-ms', String(LEASE_MS), '--max-parallel', '1', '--no-spares', '--sandbox', 'bwrap'] });
    s.model.setScript('turns', [
      shell('echo one > a.txt'),
      shell('echo two > b.txt'),
      finish('Wrote a and b.'),
      shell('if test -e b.txt; then echo b-is-there; else echo b-is-gone; fi; cat a.txt'),
      finish('Looked.'),
    ]);
    s.model.setScript('blocker', [shell('sleep 20'), finish('Slept.')]);
    s.model.setScript('back', [
      shell('echo one > a.txt'),
      finish('Wrote a.'),
      // Run 2, on the other node: two turns, two checkpoints.
      shell('echo three > c.txt'),
      shell('echo four > d.txt'),
      finish('Wrote c and d.'),
      // Run 3, back on the first node (which still has run 1's copy), from run 2's first checkpoint.
      shell('ls'),
      finish('Looked.'),
    ]);
    s.model.setScript('short', [shell('sleep 8'), finish('Slept.')]);
    s.model.setScript('long', [shell('sleep 60'), finish('Slept.')]);
  });
  after(async () => s?.close());

  it('runs the follow-up on another node from the restored work; that node has no checkpoint history', async () => {
    const [first] = s.fleet.nodes;
    const created = await createTaskOn(first!, s.repo, 'Write two files [[script:turns]]');
    const task = await waitForTask(first!, created.id, isDone, 60_000);
    assert.equal(task.status, 'completed', JSON.stringify(task.error));
    assert.equal(task.node, first!.id);
    const checkpoints = (await allEvents(first!, task.id)).filter((e): e is DiffUpdated => e.type === 'diff.updated' && e.checkpoint === true);
    assert.equal(checkpoints.length, 2, JSON.stringify(checkpoints));
    const [one, two] = checkpoints.map((c) => c.diffVersion!);

    const blocker = await createTaskOn(first!, s.repo, 'Hold the slot [[script:blocker]]');
    await waitForTask(first!, blocker.id, (t) => t.status === 'running', 60_000);
    const posted = await api(first!, 'POST', `/v1/tasks/${task.id}/messages`, { text: 'Look again.', fromCheckpoint: one });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const second = await s.fleet.add();
    const done = await waitForTask(second, task.id, (t) => isDone(t) && t.usage.modelRequests > task.usage.modelRequests, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.node, second.id, 'the follow-up ran on the node that did not run the task');
    const results = (await allEvents(second, task.id)).filter((e) => e.type === 'tool.result');
    const look = results.at(-2);
    assert.ok(look?.type === 'tool.result' && look.output.includes('b-is-gone') && look.output.includes('one'), `the view there: ${JSON.stringify(look)}`);
    const diff = await api<string>(second, 'GET', `/v1/tasks/${task.id}/diff`);
    assert.deepEqual(filesOf(diff.body), ['a.txt']);

    const gap = await api<{ error: { code: string; message: string } }>(second, 'GET', `/v1/tasks/${task.id}/diff?checkpoint=${two}`);
    assert.equal(gap.status, 404, JSON.stringify(gap.body));
    assert.match(gap.body.error.message, new RegExp(`no checkpoint ${two} in this task on this node: in a fleet the checkpoint history is on the node that ran the attempt`));
    await api(first!, 'POST', `/v1/tasks/${blocker.id}/cancel`);
    assert.equal((await waitForTask(first!, blocker.id, isDone)).status, 'cancelled');
  });

  it('a node with an older copy of the attempt starts the follow-up from the restored work', async () => {
    const [n0] = s.fleet.nodes;
    for (const node of s.fleet.nodes) await until(async () => (await busy(node)) === 0, 30_000, `${node.id} idle`);
    const running = (id: string) => waitForTask(n0!, id, (t) => t.status === 'running', 60_000);
    // One slot per node, so a task goes to the node that is free: P holds a task while Q runs
    // run 1, Q holds one while P runs run 2, P holds one while Q runs run 3 with run 1's copy.
    const hold1 = await createTaskOn(n0!, s.repo, 'Hold [[script:short]]');
    const p = (await running(hold1.id)).node!;
    const task = await createTaskOn(n0!, s.repo, 'Back and forth [[script:back]]');
    const run1 = await waitForTask(n0!, task.id, isDone, 60_000);
    const q = run1.node!;
    assert.notEqual(q, p);
    const hold2 = await createTaskOn(n0!, s.repo, 'Hold [[script:long]]');
    assert.equal((await running(hold2.id)).node, q);
    assert.equal((await api(n0!, 'POST', `/v1/tasks/${task.id}/messages`, { text: 'Go on.' })).status, 202);
    const run2 = await waitForTask(n0!, task.id, (t) => isDone(t) && t.usage.modelRequests > run1.usage.modelRequests, 60_000);
    assert.equal(run2.node, p, 'run 2 on the other node');
    const nodeP = s.fleet.nodes.find((n) => n.id === p)!;
    const [c] = (await allEvents(nodeP, task.id)).filter((e): e is DiffUpdated => e.type === 'diff.updated' && e.checkpoint === true && e.changedFiles.length === 2).map((e) => e.diffVersion!);
    assert.ok(c, 'run 2 has a checkpoint with a.txt and c.txt');
    const hold3 = await createTaskOn(n0!, s.repo, 'Hold [[script:long]]');
    assert.equal((await running(hold3.id)).node, p);
    const posted = await api(nodeP, 'POST', `/v1/tasks/${task.id}/messages`, { text: 'Look.', fromCheckpoint: c });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal((await waitForTask(n0!, hold2.id, () => true)).status, 'running', 'run 3 waits for Q');
    await api(n0!, 'POST', `/v1/tasks/${hold2.id}/cancel`);
    const run3 = await waitForTask(n0!, task.id, (t) => isDone(t) && t.usage.modelRequests > run2.usage.modelRequests, 60_000);
    assert.equal(run3.node, q, "run 3 on the node that holds run 1's copy");
    const look = (await allEvents(n0!, task.id)).filter((e) => e.type === 'tool.result').at(-2);
    assert.ok(look?.type === 'tool.result');
    assert.match(look.output, /a\.txt\n.*c\.txt\n/s, `run 2's first checkpoint there: ${look.output}`);
    assert.doesNotMatch(look.output, /d\.txt/);
    await api(n0!, 'POST', `/v1/tasks/${hold3.id}/cancel`);
  });
});
