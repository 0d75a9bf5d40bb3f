// The fleet (#15): server nodes as processes (the bench's bundle) on one private PostgreSQL.
// - pick-up: a task posted while every node is idle, from its task.created event to the
//   task.status `preparing` the claiming node writes (both event times, stamped by the nodes on
//   this machine's clock). Target ≤ 100 ms median (LISTEN/NOTIFY, no polling).
// - cross-node event: an event written on one node to its arrival at a WebSocket client of
//   another (the event's own time to this process's clock on receipt). Target ≤ 50 ms p95.
// - throughput: a batch of 3-step tasks posted round robin, wall time to the last completed, with
//   1, 2 and 3 nodes of --max-parallel 2 each (all on this machine's cores).
import type { TaskEvent } from '../../protocol';
import type { FakeModel } from '../../test/support/fakeModel';
import { startFleet, type Fleet, type FleetNode } from '../../test/support/fleet';
import { startPostgres } from '../../test/support/postgres';
import { api } from '../../test/support/serverProcess';
import { finish, shell } from '../bench';
import { nowMs } from '../clock';
import { EventFeed, type Received } from '../feed';
import { summarize, type Summary } from '../stats';
import { join } from 'node:path';

export interface FleetThroughput {
  nodes: number;
  tasks: number;
  wallMs: number;
  perMinute: number;
  allCompleted: boolean;
}

export interface FleetResult {
  pickupMs: Summary | null;
  crossNodeEventMs: Summary | null;
  throughput: FleetThroughput[];
}

export interface FleetPlan {
  /** Tasks for the pick-up figure (one at a time, every node idle). */
  runs: number;
  /** Tasks per throughput batch. */
  batch: number;
}

const BIN = join(__dirname, '..', 'serverBin.cjs');

async function post(node: FleetNode, repo: string, prompt: string): Promise<string> {
  const res = await api<{ id: string }>(node, 'POST', '/v1/tasks', { prompt, repo: { kind: 'local', path: repo } });
  if (res.status !== 201) throw new Error(`create failed on ${node.id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

function atOf(r: Received): number {
  return Date.parse(r.event.at);
}

async function throughput(fleet: Fleet, feed: EventFeed, repo: string, batch: number, round: number): Promise<FleetThroughput> {
  const started = nowMs();
  const ids: string[] = [];
  for (let i = 0; i < batch; i++) ids.push(await post(fleet.nodes[i % fleet.nodes.length]!, repo, `fleet batch ${round}.${i} [[script:fleet-work]]`));
  const ends = await Promise.all(ids.map((id) => feed.finished(id, 300_000)));
  const wallMs = nowMs() - started;
  const allCompleted = ends.every((r) => r.event.type === 'task.status' && r.event.status === 'completed');
  return { nodes: fleet.nodes.length, tasks: batch, wallMs: Math.round(wallMs), perMinute: Math.round((batch / wallMs) * 60_000 * 10) / 10, allCompleted };
}

export async function fleetStage(bundle: string, model: FakeModel, repo: string, plan: FleetPlan, log: (text: string) => void): Promise<FleetResult> {
  model.setScript('fleet-work', [shell('echo work > work.txt'), shell('cat work.txt'), finish('Done.')]);
  model.setScript('fleet-pickup', [finish('Picked up.')]);
  const pg = await startPostgres();
  let fleet: Fleet | undefined;
  let feed: EventFeed | undefined;
  try {
    const databaseUrl = await pg.createDatabase('bench');
    fleet = await startFleet({ nodes: 1, databaseUrl, modelBaseUrl: model.baseUrl, command: [BIN, bundle], args: ['--max-parallel', '2', '--sandbox', 'bwrap'] });
    feed = await EventFeed.open(fleet.nodes[0]!);
    const result: FleetResult = { pickupMs: null, crossNodeEventMs: null, throughput: [] };
    for (let n = 1; n <= 3; n++) {
      if (n > 1) await fleet.add();
      // A warm-up batch (first sandboxes, mirrors, views on each node), then the measured one.
      log(`fleet: ${n} node(s), warm-up batch of ${fleet.nodes.length}, then ${plan.batch} tasks`);
      await throughput(fleet, feed, repo, fleet.nodes.length, n * 10);
      result.throughput.push(await throughput(fleet, feed, repo, plan.batch, n * 10 + 1));
    }
    log(`fleet: pick-up on an idle node (${plan.runs} tasks, one at a time)`);
    const pickups: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < plan.runs; i++) {
      const id = await post(fleet.nodes[i % 3]!, repo, `fleet pickup ${i} [[script:fleet-pickup]]`);
      ids.push(id);
      await feed.finished(id);
      const created = feed.events(id).find((r) => r.event.type === 'task.created');
      const preparing = feed.events(id).find((r) => r.event.type === 'task.status' && r.event.status === 'preparing');
      if (created && preparing) pickups.push(atOf(preparing) - atOf(created));
    }
    result.pickupMs = summarize(pickups);
    // Events of tasks that ran on another node than the one the client is connected to.
    const watched = fleet.nodes[0]!.id;
    const crossNode: number[] = [];
    for (const id of ids) {
      const task = (await api<{ node?: string | null }>(fleet.nodes[0]!, 'GET', `/v1/tasks/${id}`)).body;
      if (!task.node || task.node === watched) continue;
      for (const r of feed.events(id)) if (isAgentEvent(r.event)) crossNode.push(r.at - atOf(r));
    }
    result.crossNodeEventMs = summarize(crossNode);
    return result;
  } finally {
    feed?.close();
    await fleet?.close();
    await pg.stop();
  }
}

/** Events a running attempt writes (not the creating node's task.created). */
function isAgentEvent(e: TaskEvent): boolean {
  return e.type !== 'task.created';
}
