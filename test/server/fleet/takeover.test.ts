import assert from 'node:assert/strict';
import type { TaskEvent } from '../../../protocol';
import { api } from '../../support/serverProcess';
import { allEvents, getTask, isDone, until, waitForTask } from '../../support/tasks';
import { createTaskOn, fleetSetting, LEASE_MS, type FleetSetting } from './helpers';

describe('fleet: a node killed mid-task', function () {
  this.timeout(150_000);
  let s: FleetSetting;
  before(async () => {
    s = await fleetSetting({ nodes: 3 });
    s.model.setScript('survive', [
      // latin1.txt is text that is not UTF-8: its byte 0xe9 must cross nodes as it is.
      { toolCalls: [{ name: 'shell', arguments: { command: "echo before > before.txt; printf 'caf\\351\\n' > latin1.txt" } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 4' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo after > after.txt; od -An -tx1 latin1.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'survived' } }] },
    ]);
    // Asks until the answer is in the conversation, then finishes saying so.
    s.model.setScript('ask-die', [
      (req) => (JSON.stringify(req.body).includes('teal') ? { toolCalls: [{ name: 'finish', arguments: { summary: 'answered: teal' } }] } : { toolCalls: [{ name: 'ask_user', arguments: { question: 'Which color?' } }] }),
    ]);
  });
  after(async () => s?.close());

  it('kill -9: another node completes the task with the work from before and after the kill, once', async () => {
    const [entry] = s.fleet.nodes;
    const created = await createTaskOn(entry!, s.repo, 'survive a crash [[script:survive]]');
    // The work before the kill is saved once a snapshot of it is announced (diff.updated with a version).
    let events: TaskEvent[] = [];
    await until(async () => {
      events = await allEvents(entry!, created.id);
      return events.some((e) => e.type === 'diff.updated' && e.diffVersion !== undefined && e.changedFiles.some((f) => f.path === 'before.txt'));
    }, 60_000, 'the first snapshot');
    const running = await getTask(entry!, created.id);
    const victim = s.fleet.nodes.find((n) => n.id === running.node);
    assert.ok(victim, `the task runs on ${running.node}`);
    const survivor = s.fleet.nodes.find((n) => n !== victim)!;
    await victim.kill();
    const killedAt = Date.now();

    const moved = await (async () => {
      for (;;) {
        const e = (await allEvents(survivor, created.id)).find((x) => x.type === 'task.moved');
        if (e) return e;
        if (Date.now() - killedAt > LEASE_MS + 15_000) assert.fail('no node took the task over within 15 s of the lease running out');
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const movedAt = Date.now();
    assert.ok(moved.type === 'task.moved');
    assert.equal(moved.from, victim.id);
    assert.equal(moved.reason, 'lease_expired');
    assert.notEqual(moved.to, victim.id);

    const done = await waitForTask(survivor, created.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.summary, 'survived');
    assert.equal(done.node, moved.to);
    assert.deepEqual(done.changedFiles.map((f) => f.path).sort(), ['after.txt', 'before.txt', 'latin1.txt']);
    const diff = await api<string>(survivor, 'GET', `/v1/tasks/${created.id}/diff`);
    assert.equal(diff.status, 200);
    assert.match(diff.body, /\+before/);
    assert.match(diff.body, /\+after/);
    const all = await allEvents(survivor, created.id);
    const bytes = all.find((e) => e.type === 'tool.result' && e.output.includes('63 61 66'));
    assert.ok(bytes?.type === 'tool.result' && /63 61 66 e9 0a/.test(bytes.output), `latin1.txt after the move: ${bytes?.type === 'tool.result' ? bytes.output : 'not read'}`);
    assert.equal(all.filter((e) => e.type === 'agent.finished').length, 1, 'finished once');
    assert.equal(all.filter((e) => e.type === 'task.moved').length, 1, 'moved once');
    // The agent went on from its conversation, told that the files may be further along.
    const resumed = s.model.requests.filter((r) => JSON.stringify(r.body).includes('survive a crash')).at(-1);
    assert.ok(JSON.stringify(resumed?.body).includes('echo before > before.txt'), 'the earlier conversation came along');
    assert.ok(JSON.stringify(resumed?.body).includes('the server stopped during your previous run'));
    console.log(`      takeover ${movedAt - killedAt} ms after kill -9 (lease ${LEASE_MS} ms)`);
  });

  it('a question open on a node that dies keeps waiting; answered through another node, the task goes on with the answer', async () => {
    const alive = s.fleet.nodes.filter((n) => !n.exited());
    const created = await createTaskOn(alive[0]!, s.repo, 'ask then die [[script:ask-die]]');
    await until(async () => (await getTask(alive[0]!, created.id)).status === 'waiting_for_input', 60_000, 'the question');
    const holder = (await getTask(alive[0]!, created.id)).node;
    const asking = alive.find((n) => n.id === holder)!;
    const other = alive.find((n) => n !== asking)!;
    await asking.kill();
    // Nobody runs it now: the question stays open, and the answer is taken and kept.
    const waiting = await getTask(other, created.id);
    assert.equal(waiting.status, 'waiting_for_input');
    assert.equal(waiting.question?.text, 'Which color?');
    const res = await api<{ kind: string }>(other, 'POST', `/v1/tasks/${created.id}/messages`, { text: 'teal' });
    assert.equal(res.body.kind, 'answer');
    const done = await waitForTask(other, created.id, isDone, LEASE_MS + 30_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.summary, 'answered: teal');
    assert.equal(done.node, other.id);
    const events = await allEvents(other, created.id);
    assert.ok(events.some((e) => e.type === 'task.moved' && e.from === asking.id && e.to === other.id));
    assert.ok(events.some((e) => e.type === 'user.message' && e.kind === 'answer' && e.text === 'teal'));
  });
});
