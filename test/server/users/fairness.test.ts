// Users (#16): users' queues take turns for free slots, and one user holds at most
// --max-parallel-per-user of them, so one person's many tasks never block a teammate's one.
import assert from 'node:assert/strict';
import type { ServerFrame, Task } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { isDone, waitForTask } from '../../support/tasks';
import { as, createBundleTask, fakeUsers, stream, uploadBundle, USERS, type As } from './fixture';

/** Task ids in the order they started (status `preparing`), and the most each owner ran at once. */
function starts(frames: ServerFrame[], ownerOf: (id: string) => string): { order: string[]; peak: Map<string, number>; peakAll: number } {
  const order: string[] = [];
  const active = new Set<string>();
  const peak = new Map<string, number>();
  let peakAll = 0;
  for (const f of frames) {
    if (f.type !== 'event' || f.event.type !== 'task.status') continue;
    const e = f.event;
    if (e.status === 'preparing' && !order.includes(e.taskId)) order.push(e.taskId);
    if (['preparing', 'running', 'waiting_for_input'].includes(e.status)) active.add(e.taskId);
    else active.delete(e.taskId);
    const owner = ownerOf(e.taskId);
    peak.set(owner, Math.max(peak.get(owner) ?? 0, [...active].filter((id) => ownerOf(id) === owner).length));
    peakAll = Math.max(peakAll, active.size);
  }
  return { order, peak, peakAll };
}

describe('users: fair turns', function () {
  this.timeout(240_000);
  let github: FakeGitHub;
  let model: FakeModel;
  before(async () => {
    github = await startFakeGitHub({ token: 'server-side-unused-token', users: fakeUsers() });
    model = await startFakeModel();
    model.setScript('short', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 1' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] },
    ]);
  });
  after(async () => {
    await model?.close();
    await github?.close();
  });

  async function run(args: string[], submit: (alice: As, bob: As) => Promise<Task[]>): Promise<{ tasks: Task[]; frames: ServerFrame[] }> {
    const server: ServerProcess = await startServer({ modelBaseUrl: model.baseUrl, args: ['--github-allow', 'alice,Bob-Builder', '--github-api-url', github.apiBaseUrl, '--sandbox', 'bwrap', ...args] });
    try {
      const { ws, frames } = await stream(server, 0);
      const tasks = await submit(as(server.url, USERS.alice!.token), as(server.url, USERS.bob!.token));
      for (const t of tasks) assert.equal((await waitForTask(server, t.id, isDone, 180_000)).status, 'completed');
      ws.close();
      return { tasks, frames };
    } finally {
      await server.stop();
    }
  }

  it('with one slot, a teammate\'s task goes next, not after the first user\'s whole queue', async () => {
    const { tasks, frames } = await run(['--max-parallel', '1'], async (alice, bob) => {
      const a = await uploadBundle(alice);
      const b = await uploadBundle(bob);
      const out: Task[] = [];
      for (let i = 0; i < 4; i++) out.push(await createBundleTask(alice, a, `alice ${i} [[script:short]]`));
      out.push(await createBundleTask(bob, b, 'bob 0 [[script:short]]'));
      out.push(await createBundleTask(bob, b, 'bob 1 [[script:short]]'));
      return out;
    });
    const byId = new Map(tasks.map((t) => [t.id, t.owner!]));
    const { order } = starts(frames, (id) => byId.get(id)!);
    // Alice's first was already running when Bob's arrived; from then on they alternate.
    assert.deepEqual(order.map((id) => byId.get(id)), ['alice', 'Bob-Builder', 'alice', 'Bob-Builder', 'alice', 'alice']);
    // Within a user, oldest first.
    assert.deepEqual(order.filter((id) => byId.get(id) === 'alice'), tasks.slice(0, 4).map((t) => t.id));
  });

  it('holds one user to --max-parallel-per-user (default half the slots) while a teammate gets the rest', async () => {
    const { tasks, frames } = await run(['--max-parallel', '2'], async (alice, bob) => {
      const a = await uploadBundle(alice);
      const b = await uploadBundle(bob);
      const out: Task[] = [];
      for (let i = 0; i < 3; i++) out.push(await createBundleTask(alice, a, `alice ${i} [[script:short]]`));
      out.push(await createBundleTask(bob, b, 'bob 0 [[script:short]]'));
      return out;
    });
    const byId = new Map(tasks.map((t) => [t.id, t.owner!]));
    const { order, peak, peakAll } = starts(frames, (id) => byId.get(id)!);
    assert.equal(peak.get('alice'), 1, 'Alice never holds more than 1 of the 2 slots');
    assert.equal(peakAll, 2);
    // Bob's task started second: it did not wait for Alice's queue.
    assert.equal(order[1], tasks[3]!.id);
  });
});
