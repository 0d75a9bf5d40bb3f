// An attempt with an environment's setup, taken over after kill -9 of its node: the node that takes
// it over (and one that only serves its diff) has no set-up layer, so it builds its own (same key)
// before applying the saved work. The agent's later command finds setup's output there, and the diff
// stays the agent's changes only, also where the agent edited a file setup had changed.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';
import { makeRepo } from '../../support/gitRepo';
import { api } from '../../support/serverProcess';
import { allEvents, getTask, isDone, until, waitForTask } from '../../support/tasks';
import { cacheEntries } from '../environments/helpers';
import { createTaskOn, fleetSetting, type FleetSetting } from './helpers';

// Offline: a tiny node_modules tree (ignored) and a tracked file setup changes.
const SETUP = 'mkdir -p node_modules/dep && echo "dep ready" > node_modules/dep/index.txt && echo generated > tracked.txt';

describe('fleet: a taken-over attempt on a node without its set-up layer [bwrap]', function () {
  this.timeout(120_000);
  let s: FleetSetting;
  let root: string;
  let repo: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-fleet-env-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, { 'README.md': '# env\n', 'tracked.txt': 'original\n', '.gitignore': 'node_modules/\n', '.delegate/setup.sh': `${SETUP}\n` });
    s = await fleetSetting({ nodes: 3 });
    s.model.setScript('setup-survive', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo before > before.txt && echo agent >> tracked.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 4' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'cat node_modules/dep/index.txt && echo after > after.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'survived with setup' } }] },
    ]);
  });
  after(async () => {
    await s?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the taker builds the layer, the command needing setup succeeds there, and every node shows the same agent-only diff', async () => {
    const [entry] = s.fleet.nodes;
    const created = await createTaskOn(entry!, repo, 'setup then crash [[script:setup-survive]]');
    let events: TaskEvent[] = [];
    await until(async () => {
      events = await allEvents(entry!, created.id);
      return events.some((e) => e.type === 'diff.updated' && e.diffVersion !== undefined && e.changedFiles.some((f) => f.path === 'before.txt'));
    }, 60_000, 'the first snapshot');
    const holder = (await getTask(entry!, created.id)).node;
    const dying = s.fleet.nodes.find((n) => n.id === holder);
    assert.ok(dying, `the task runs on ${holder}`);
    assert.equal(cacheEntries(dying.dataDir).length, 1, 'the first node built the layer');
    await dying.kill();
    const others = s.fleet.nodes.filter((n) => n !== dying);

    const done = await waitForTask(others[0]!, created.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.summary, 'survived with setup');
    const taker = others.find((n) => n.id === done.node)!;
    assert.ok(taker, `completed on ${done.node}`);
    const bystander = others.find((n) => n !== taker)!;

    const all = await allEvents(taker, created.id);
    const results = all.flatMap((e) => (e.type === 'tool.result' ? [e] : []));
    const needing = results.find((r) => r.output.includes('dep ready') || r.output.includes('node_modules'));
    assert.ok(needing, 'the command that needs setup ran');
    assert.match(needing.output, /dep ready/, `setup's output is there on the taker: ${needing.output}`);
    assert.deepEqual(done.changedFiles.map((f) => f.path).sort(), ['after.txt', 'before.txt', 'tracked.txt']);
    const moved = all.findIndex((e) => e.type === 'task.moved');
    assert.ok(moved > 0, 'moved');
    assert.deepEqual(all.slice(moved).flatMap((e) => (e.type === 'setup.finished' ? [[e.cached, e.exitCode]] : [])), [[false, 0]], 'the taker ran the setup into its own cache');
    assert.equal(cacheEntries(taker.dataDir).length, 1, 'the taker has the layer now');
    assert.deepEqual(cacheEntries(taker.dataDir), cacheEntries(dying.dataDir), 'the same key');

    const diff = await api<string>(taker, 'GET', `/v1/tasks/${created.id}/diff`);
    assert.equal(diff.status, 200);
    const body = String(diff.body);
    assert.match(body, /\+before/);
    assert.match(body, /\+after/);
    assert.match(body, /\+agent/);
    assert.doesNotMatch(body, /[-+]original|\+generated|node_modules/, "setup's changes are not the agent's");

    // A node that never ran the task prepares the workspace from the repository spec too.
    assert.equal(cacheEntries(bystander.dataDir).length, 0);
    const seen = await api<string>(bystander, 'GET', `/v1/tasks/${created.id}/diff`);
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    assert.equal(String(seen.body), body);
    assert.equal(cacheEntries(bystander.dataDir).length, 1, 'the bystander built the layer to serve the diff');
  });
});
