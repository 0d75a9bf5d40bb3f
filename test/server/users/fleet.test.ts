// Users (#16) in a fleet: three nodes on one PostgreSQL, each admitting GitHub users. Whatever node
// a user or a teammate talks to, a task is its owner's alone, streams carry only the caller's
// events, bundles stay with who uploaded them, audit events name the actor on the node that acted,
// the per-user cap and fair turns hold across the fleet, and no GitHub token reaches the database.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ServerFrame, Task, TaskEvent } from '../../../protocol';
import type { FleetNode } from '../../support/fleet';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import type { TestPostgres } from '../../support/postgres';
import { api } from '../../support/serverProcess';
import { allEvents, isDone, until, waitForTask } from '../../support/tasks';
import { fleetSetting, type FleetSetting } from '../fleet/helpers';
import { as, createBundleTask, fakeUsers, stream, uploadBundle, USERS, type As } from './fixture';

const eventsOf = (frames: ServerFrame[]): TaskEvent[] => frames.flatMap((f) => (f.type === 'event' ? [f.event] : []));
const tokens = Object.values(USERS).map((u) => u.token);

/** Every value of every row of every table in the database, as the test can search it. */
async function dumpDatabase(url: string): Promise<{ tables: string[]; values: (string | Buffer)[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const list = await client.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
       WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
    );
    const values: (string | Buffer)[] = [];
    for (const t of list.rows) {
      const rows = await client.query<Record<string, unknown>>(`SELECT * FROM ${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`);
      for (const row of rows.rows) for (const v of Object.values(row)) values.push(Buffer.isBuffer(v) ? v : JSON.stringify(v) ?? '');
    }
    return { tables: list.rows.map((t) => t.name), values };
  } finally {
    await client.end();
  }
}

/** The cluster's data directory's files (its server's -D), once a checkpoint wrote its pages out. */
async function clusterFiles(cluster: TestPostgres): Promise<string[]> {
  const client = new pg.Client({ connectionString: cluster.url('postgres') });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
  const argv = readFileSync(`/proc/${cluster.pid}/cmdline`, 'utf8').split('\0');
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => {
      const p = join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      return !st ? [] : st.isDirectory() ? walk(p) : st.isFile() ? [p] : [];
    });
  return walk(argv[argv.indexOf('-D') + 1]!);
}

describe('users: in a fleet on PostgreSQL', function () {
  this.timeout(180_000);
  let github: FakeGitHub;
  let s: FleetSetting;
  let nodes: FleetNode[];
  const user = (login: 'alice' | 'bob', node: FleetNode): As => as(node.url, USERS[login]!.token);
  before(async () => {
    // Alice's GitHub token may also push to the double's repositories (the pull request below).
    github = await startFakeGitHub({ token: USERS.alice!.token, users: fakeUsers() });
    s = await fleetSetting({
      nodes: 3,
      nodeArgs: () => ['--github-allow', 'alice,Bob-Builder', '--github-api-url', github.apiBaseUrl, '--max-parallel-per-user', '2'],
    });
    nodes = s.fleet.nodes;
    s.model.setScript('short', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 1' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] },
    ]);
    s.model.setScript('long', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo started > started.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 60' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'never' } }] },
    ]);
    s.model.setScript('edit', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo changed >> a.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Changed a.txt.' } }] },
    ]);
    const steps = Array.from({ length: 4 }, (_, i) => ({ toolCalls: [{ name: 'shell', arguments: { command: `echo ${i} >> log.txt` } }] }));
    s.model.setScript('chatty', [...steps, { toolCalls: [{ name: 'finish', arguments: { summary: 'chatty' } }] }]);
  });
  after(async () => {
    await s?.close();
    await github?.close();
  });

  it('serves a task created on one node to its owner through another, and to nobody else on any node', async () => {
    const [a, b, c] = nodes as [FleetNode, FleetNode, FleetNode];
    const bundle = await uploadBundle(user('alice', a), { 'a.txt': 'alice\n' });
    const task = await createBundleTask(user('alice', a), bundle, 'hold [[script:long]]');
    assert.equal(task.owner, 'alice');
    const running = await waitForTask(user('alice', b), task.id, (t) => t.status === 'running' && t.changedFiles.length > 0, 60_000);
    const ids = async (who: As) => (await api<{ tasks: Task[] }>(who, 'GET', '/v1/tasks')).body.tasks.map((t) => t.id);
    assert.ok((await ids(user('alice', b))).includes(task.id));
    assert.ok((await ids(s.fleet.nodes[2]!)).includes(task.id), 'the admin sees it');
    const onB = await stream(user('alice', b), 0);
    onB.ws.close();
    assert.ok(eventsOf(onB.frames).some((e) => e.taskId === task.id && e.type === 'task.created'));
    assert.ok((await allEvents(user('alice', b), task.id)).some((e) => e.type === 'tool.call'));

    // Bob: every route on every node answers as for a task that does not exist.
    const missing = randomUUID();
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/tasks/ID'],
      ['GET', '/v1/tasks/ID/diff'],
      ['GET', '/v1/tasks/ID/diff?path=started.txt'],
      ['GET', '/v1/tasks/ID/file?path=started.txt&side=head'],
      ['GET', '/v1/tasks/ID/events?since=0'],
      ['POST', '/v1/tasks/ID/messages', { text: 'let me in' }],
      ['POST', '/v1/tasks/ID/cancel'],
      ['POST', '/v1/tasks/ID/select-attempt', { attempt: 0 }],
      ['POST', '/v1/tasks/ID/pull-request', { githubToken: USERS.bob!.token }],
      ['DELETE', '/v1/tasks/ID'],
    ];
    for (const node of nodes) {
      assert.ok(!(await ids(user('bob', node))).includes(task.id), `${node.id} lists Alice's task to Bob`);
      // Asking the stream for her task by id gives him nothing of it either.
      const named = await stream(user('bob', node), 0, `&taskId=${task.id}`);
      named.ws.close();
      assert.deepEqual(eventsOf(named.frames), [], `${node.id} streams Alice's task to Bob`);
      for (const [method, path, body] of routes) {
        const theirs = await api<unknown>(user('bob', node), method, path.replace('ID', task.id), body);
        const none = await api<unknown>(user('bob', node), method, path.replace('ID', missing), body);
        assert.equal(theirs.status, 404, `${node.id} ${method} ${path}: ${JSON.stringify(theirs.body)}`);
        assert.deepEqual(JSON.parse(JSON.stringify(theirs.body).replaceAll(task.id, 'ID')), JSON.parse(JSON.stringify(none.body).replaceAll(missing, 'ID')), `${node.id} ${method} ${path}`);
      }
    }
    assert.equal((await api<Task>(user('alice', c), 'GET', `/v1/tasks/${task.id}`)).body.status, 'running', 'Bob changed nothing');

    // Alice cancels through a node that does not run it, and deletes it through a third.
    const canceller = nodes.find((n) => n.id !== running.node)!;
    const cancelled = await api<Task>(user('alice', canceller), 'POST', `/v1/tasks/${task.id}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.status, 'cancelled');
    const deleter = nodes.find((n) => n.id !== running.node && n.id !== canceller.id) ?? canceller;
    assert.equal((await api(user('alice', deleter), 'DELETE', `/v1/tasks/${task.id}`)).status, 204);
    // The audit trail, as the admin reads it on the node that ran the task.
    const adminView = await stream(nodes.find((n) => n.id === running.node)!, 0);
    adminView.ws.close();
    const log = eventsOf(adminView.frames).filter((e) => e.taskId === task.id);
    const created = log.find((e) => e.type === 'task.created');
    assert.equal(created?.type === 'task.created' && created.actor, 'alice');
    const stops = log.filter((e) => e.type === 'task.status' && e.status === 'cancelled');
    assert.equal(stops.length, 1);
    assert.equal(stops[0]!.type === 'task.status' && stops[0].actor, 'alice', JSON.stringify(stops[0]));
    const deleted = log.find((e) => e.type === 'task.deleted');
    assert.equal(deleted?.type === 'task.deleted' && deleted.actor, 'alice');
  });

  it('keeps a bundle its uploader\'s across nodes', async () => {
    const [a, b] = nodes as [FleetNode, FleetNode];
    const bundle = await uploadBundle(user('alice', a), { 'secret.txt': 'alice only\n' });
    const spec = (bundleId: string) => ({ prompt: 'x [[script:short]]', repo: { kind: 'bundle', bundleId, commit: bundle.commit, branch: 'main' } });
    const theirs = await api<{ error: { code: string; message: string } }>(user('bob', b), 'POST', '/v1/tasks', spec(bundle.bundleId));
    const none = await api<{ error: { code: string; message: string } }>(user('bob', b), 'POST', '/v1/tasks', spec('f'.repeat(40)));
    assert.equal(theirs.status, none.status, JSON.stringify(theirs.body));
    assert.equal(theirs.body.error.code, 'repo_error');
    assert.equal(theirs.body.error.message.replace(bundle.bundleId, 'ID'), none.body.error.message.replace('f'.repeat(40), 'ID'));
    const mine = await api<Task>(user('alice', b), 'POST', '/v1/tasks', spec(bundle.bundleId));
    assert.equal(mine.status, 201, JSON.stringify(mine.body));
    const done = await waitForTask(user('alice', b), mine.body.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
  });

  it('streams to a user on one node only their own tasks\' events, across reconnects with since, while both users\' tasks run elsewhere', async () => {
    const [a, b, c] = nodes as [FleetNode, FleetNode, FleetNode];
    const bobBundle = await uploadBundle(user('bob', c), { 'b.txt': 'bob\n' });
    const aliceBundle = await uploadBundle(user('alice', a), { 'a.txt': 'a\n' });
    let live = await stream(user('bob', b), 0);
    const seen: TaskEvent[] = [];
    const bobIds = new Set<string>();
    const all: string[] = [];
    for (let i = 0; i < 2; i++) {
      const mine = await createBundleTask(user('bob', i === 0 ? a : c), bobBundle, `bob ${i} [[script:chatty]]`);
      bobIds.add(mine.id);
      all.push(mine.id, (await createBundleTask(user('alice', i === 0 ? c : a), aliceBundle, `alice ${i} [[script:chatty]]`)).id);
    }
    const bobsEvents = (frames: ServerFrame[]) => eventsOf(frames).filter((e) => bobIds.has(e.taskId));
    for (let r = 0; r < 2; r++) {
      await until(() => bobsEvents(live.frames).length > 6 * (r + 1), 60_000, 'Bob\'s events to stream in');
      live.ws.close();
      seen.push(...eventsOf(live.frames));
      live = await stream(user('bob', b), seen.at(-1)!.seq);
    }
    const done = await Promise.all(all.map((id) => waitForTask(s.fleet.nodes[0]!, id, isDone, 90_000)));
    for (const t of done) assert.equal(t.status, 'completed', JSON.stringify(t.error));
    await until(() => [...bobIds].every((id) => eventsOf(live.frames).some((e) => e.taskId === id && e.type === 'agent.finished')), 20_000, 'Bob\'s tasks to finish on his stream');
    live.ws.close();
    seen.push(...eventsOf(live.frames));
    assert.ok(seen.every((e) => bobIds.has(e.taskId)), `Bob's stream carried someone else's event: ${JSON.stringify(seen.find((e) => !bobIds.has(e.taskId)))}`);
    const seqs = seen.map((e) => e.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'each once');
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in order');
    // Exactly the log's events of Bob's tasks, as the admin reads the log on a third node.
    const admin = await stream(c, 0);
    admin.ws.close();
    const last = seqs.at(-1)!;
    assert.deepEqual(seqs, eventsOf(admin.frames).filter((e) => bobIds.has(e.taskId) && e.seq <= last).map((e) => e.seq), 'no event of Bob\'s missing');
    assert.ok(new Set(done.map((t) => t.node)).size >= 2, 'the tasks ran on several nodes');
  });

  it('holds a user to --max-parallel-per-user across the fleet, and a teammate\'s task starts before that user\'s queue drains', async () => {
    const [a, b, c] = nodes as [FleetNode, FleetNode, FleetNode];
    const watch = await stream(b, 0);
    const start = watch.frames.length;
    const aliceBundle = await uploadBundle(user('alice', a));
    const bobBundle = await uploadBundle(user('bob', c));
    const alices: Task[] = [];
    for (let i = 0; i < 4; i++) alices.push(await createBundleTask(user('alice', nodes[i % 3]!), aliceBundle, `alice turn ${i} [[script:short]]`));
    const bobs = await createBundleTask(user('bob', c), bobBundle, 'bob turn [[script:short]]');
    const done = await Promise.all([...alices, bobs].map((t) => waitForTask(b, t.id, isDone, 90_000)));
    for (const t of done) assert.equal(t.status, 'completed', JSON.stringify(t.error));
    watch.ws.close();
    const ids = new Set(alices.map((t) => t.id));
    const order: string[] = [];
    const active = new Set<string>();
    let peak = 0;
    for (const e of eventsOf(watch.frames.slice(start))) {
      if (e.type !== 'task.status' || (!ids.has(e.taskId) && e.taskId !== bobs.id)) continue;
      if (e.status === 'preparing' && !order.includes(e.taskId)) order.push(e.taskId);
      if (['preparing', 'running', 'waiting_for_input'].includes(e.status)) active.add(e.taskId);
      else active.delete(e.taskId);
      peak = Math.max(peak, [...active].filter((id) => ids.has(id)).length);
    }
    // Three nodes with two slots each: only the fleet-wide cap keeps Alice at two.
    assert.equal(peak, 2, 'Alice held at most 2 slots of the fleet\'s 6 at once');
    // Bob's one task, posted after Alice's four, is among the first three to start: it waits for
    // none of her queue, only for the two she may hold.
    const who = order.map((id) => (id === bobs.id ? 'bob' : 'alice')).join(',');
    assert.equal(order.length, 5, who);
    assert.ok(order.indexOf(bobs.id) >= 0 && order.indexOf(bobs.id) <= 2, `Bob's task waited for Alice's queue: ${who}`);
    assert.ok(new Set(done.map((t) => t.node)).size >= 2, 'the tasks ran on several nodes');
  });

  it('records a pull request opened through another node with its actor, and no GitHub token reaches PostgreSQL', async () => {
    const [a] = nodes as [FleetNode];
    const { dir } = await github.createRepo('octo', 'demo', { 'a.txt': 'a\n' });
    const work = join(mkdtempSync(join(tmpdir(), 'delegate-users-fleet-')), 'demo');
    execFileSync('git', ['clone', '-q', dir, work]);
    execFileSync('git', ['-C', work, 'bundle', 'create', '-q', `${work}.bundle`, '--all']);
    const up = await api<{ bundleId: string }>(user('alice', a), 'POST', '/v1/bundles', new Uint8Array(readFileSync(`${work}.bundle`)), { 'content-type': 'application/octet-stream' });
    assert.equal(up.status, 201);
    const commit = execFileSync('git', ['-C', work, 'rev-parse', 'HEAD']).toString().trim();
    const created = await api<Task>(user('alice', a), 'POST', '/v1/tasks', {
      prompt: 'edit [[script:edit]]',
      repo: { kind: 'bundle', bundleId: up.body.bundleId, commit, branch: 'main', remoteUrl: `${github.url}/octo/demo.git` },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitForTask(user('alice', a), created.body.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const other = nodes.find((n) => n.id !== done.node)!;
    const pr = await api<{ number: number }>(user('alice', other), 'POST', `/v1/tasks/${done.id}/pull-request`, { githubToken: USERS.alice!.token });
    assert.equal(pr.status, 201, JSON.stringify(pr.body));
    const event = (await allEvents(user('alice', a), done.id)).find((e) => e.type === 'pull_request');
    assert.equal(event?.type === 'pull_request' && event.actor, 'alice');

    const db = await dumpDatabase(s.pg.url('fleet'));
    assert.ok(db.tables.includes('events') && db.values.length > 100, `the dump read the store: ${db.tables.join(', ')}`);
    for (const v of db.values) for (const t of tokens) assert.ok(!(Buffer.isBuffer(v) ? v.includes(Buffer.from(t)) : v.includes(t)), 'a GitHub token is in PostgreSQL');
    for (const n of nodes) for (const t of tokens) assert.ok(!n.logs().includes(t), `a GitHub token is in ${n.id}'s log`);
    // And not in the cluster's files either (write-ahead log included), where a row written and
    // later overwritten or deleted would still show.
    const files = await clusterFiles(s.pg);
    assert.ok(files.some((f) => f.includes('/pg_wal/')), 'the walk found the write-ahead log');
    assert.ok(files.some((f) => readFileSync(f).includes(Buffer.from('alice turn 3'))), 'the walk reads what the store wrote (a prompt)');
    for (const f of files) {
      const data = readFileSync(f);
      for (const t of tokens) assert.ok(!data.includes(Buffer.from(t)), `${f} holds a GitHub token`);
    }
  });
});
