import assert from 'node:assert/strict';
import type { ServerFrame, TaskEvent } from '../../../protocol';
import { isDone, openStream, until, waitForTask } from '../../support/tasks';
import { createTaskOn, fleetSetting, type FleetSetting } from './helpers';

function eventsOf(frames: ServerFrame[]): TaskEvent[] {
  return frames.flatMap((f) => (f.type === 'event' ? [f.event] : []));
}

/** The whole log as a fresh client of `node` gets it: a replay from 0, up to its `replayed` frame. */
async function wholeLog(node: { url: string; token: string }): Promise<TaskEvent[]> {
  const { ws, frames } = await openStream(node, 0);
  await until(() => frames.some((f) => f.type === 'replayed'), 30_000, 'the replay');
  ws.close();
  const end = frames.findIndex((f) => f.type === 'replayed');
  return eventsOf(frames.slice(0, end));
}

describe('fleet: one event sequence', function () {
  this.timeout(150_000);
  let s: FleetSetting;
  before(async () => {
    s = await fleetSetting({ nodes: 3 });
    const steps = [];
    // The first step holds each task's slot for 2 s: the six overlap, and with two slots a node
    // they must spread over the nodes (under load, quick tasks could all end on one node).
    for (let i = 0; i < 6; i++) steps.push({ toolCalls: [{ name: 'shell', arguments: { command: `${i === 0 ? 'sleep 2; ' : ''}echo ${i} >> log.txt` } }] });
    s.model.setScript('chatty', [...steps, { toolCalls: [{ name: 'finish', arguments: { summary: 'chatty' } }] }]);
  });
  after(async () => s?.close());

  it('a client of one node sees every node\'s events once, in order, without gaps, across reconnects with since=N', async () => {
    const [watched] = s.fleet.nodes;
    let stream = await openStream(watched!, 0);
    const seen: TaskEvent[] = [];
    const ids: string[] = [];
    // Six tasks posted round robin, running on all three nodes at once and writing events at the same instants.
    for (let i = 0; i < 6; i++) ids.push((await createTaskOn(s.fleet.nodes[i % 3]!, s.repo, `chatty ${i} [[script:chatty]]`)).id);
    // Reconnect twice while the tasks run, each time from the last event seen.
    for (let r = 0; r < 2; r++) {
      await until(() => eventsOf(stream.frames).length > 20 * (r + 1), 60_000, 'events to stream in');
      stream.ws.close();
      seen.push(...eventsOf(stream.frames));
      stream = await openStream(watched!, seen.at(-1)!.seq);
    }
    const done = await Promise.all(ids.map((id) => waitForTask(watched!, id, isDone, 90_000)));
    for (const t of done) assert.equal(t.status, 'completed', JSON.stringify(t.error));
    assert.ok(new Set(done.map((t) => t.node)).size >= 2, 'the tasks ran on several nodes');
    // Until the log is still (finished runs may announce a last diff version), then compare.
    let log = await wholeLog(s.fleet.nodes[2]!);
    for (let still = 0; still < 3; ) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await wholeLog(s.fleet.nodes[2]!);
      still = now.length === log.length ? still + 1 : 0;
      log = now;
    }
    await until(() => (eventsOf(stream.frames).at(-1)?.seq ?? 0) >= log.at(-1)!.seq, 10_000, 'the live stream to catch up');
    stream.ws.close();
    seen.push(...eventsOf(stream.frames));
    const seqs = seen.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
    assert.equal(new Set(seqs).size, seqs.length, 'each once');
    assert.deepEqual(seqs, log.map((e) => e.seq), 'exactly the log: no event missing');
    assert.deepEqual(seen, log);
    for (const id of ids) assert.ok(seen.some((e) => e.taskId === id && e.type === 'agent.finished'));
  });
});
