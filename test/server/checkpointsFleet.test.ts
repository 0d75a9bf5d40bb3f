// Checkpoints in a fleet (real PostgreSQL, nodes as processes): a follow-up from a checkpoint,
// posted to the node that ran the task, runs on another node, which starts from the restored work
// (saved through the work transfer). The other node has no snapshot history: it says where it is.
import assert from 'node:assert/strict';
import type { TaskEvent } from '../../protocol';
import { api } from '../support/serverProcess';
import { allEvents, isDone, waitForTask } from '../support/tasks';
import { createTaskOn, fleetSetting, LEASE_MS, type FleetSetting } from './fleet/helpers';

type DiffUpdated = Extract<TaskEvent, { type: 'diff.updated' }>;
const shell = (command: string) => ({ toolCalls: [{ name: 'shell', arguments: { command } }] });
const finish = (summary: string) => ({ toolCalls: [{ name: 'finish', arguments: { summary } }] });
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
  });
});
