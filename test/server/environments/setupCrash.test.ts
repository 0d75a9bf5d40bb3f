// A server killed (kill -9) while a setup runs leaves no cache entry: the layer was being written in
// a temp dir, which the restarted server unmounts and removes; the next task on that environment
// runs the setup again. Real server, bwrap sandbox; the setup waits on a loopback listener the
// test holds, so it is surely running when the server dies.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import type { TaskEvent } from '../../../protocol';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, until, waitForTask } from '../../support/tasks';
import { cacheEntries, setupEvents } from './helpers';

describe('environments: a server killed mid-setup leaves no cache entry; a restart keeps the layer [bwrap]', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let server: ServerProcess;
  let listener: NetServer;
  let root: string;
  let repo: string;
  let release = false;
  let lastTask: string | undefined;
  const held: Socket[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-env-crash-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, { 'README.md': '# crash\n', '.gitignore': 'node_modules/\n' });
    listener = createServer((socket) => {
      socket.on('error', () => {});
      if (release) socket.end('go\n');
      else held.push(socket);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    for (const s of held) s.destroy();
    await new Promise((resolve) => listener?.close(resolve));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('kill -9 during setup: no entry, the temp dir and its mount are gone after the restart, and setup runs again', async () => {
    const port = (listener.address() as { port: number }).port;
    const setup = `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:${port}", Timeout => 5) or die "no listener"; $l = <$s>; print "released $l"' && mkdir -p node_modules && echo ok > node_modules/ok`;
    const environment = { setup, network: true };
    model.setScript('crash', [{ toolCalls: [{ name: 'shell', arguments: { command: 'cat node_modules/ok' } }] }, { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
    await createTask(server, repo, 'Crash [[script:crash]]', { environment });
    const cache = join(server.dataDir, 'environments');
    await until(() => held.length > 0, 60_000, 'the setup to connect');
    assert.equal(readdirSync(cache).filter((n) => n.startsWith('.tmp-')).length, 1, 'the layer is being built in a temp dir');
    await server.kill();
    for (const s of held) s.destroy();
    assert.deepEqual(cacheEntries(server.dataDir), [], 'no entry after the crash');

    release = true;
    server = await server.restart();
    assert.deepEqual(readdirSync(cache).filter((n) => n.startsWith('.')), [], 'the temp dir is removed at start');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(cache));
    assert.deepEqual(mounts, [], 'nothing stays mounted under the cache');

    model.setScript('again', [{ toolCalls: [{ name: 'shell', arguments: { command: 'cat node_modules/ok' } }] }, { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
    const task = await createTask(server, repo, 'Again [[script:again]]', { environment });
    const done = await waitForTask(server, task.id, isDone, 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const events = await allEvents(server, task.id);
    const result = events.find((e) => e.type === 'tool.result');
    assert.ok(result?.type === 'tool.result' && /ok/.test(result.output));
    // Built again (by this task, or by the interrupted one if it was resumed first): one entry.
    assert.ok(setupEvents(events).started.length === 1);
    assert.equal(cacheEntries(server.dataDir).length, 1);
    lastTask = task.id;
  });

  it('after a clean restart, a follow-up sees the set-up layer again (the view is rebuilt on it) and runs no setup', async () => {
    assert.ok(lastTask, 'the previous test left a task');
    model.setScript('again', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'cat node_modules/ok' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'cat node_modules/ok; git status --porcelain' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'again' } }] },
    ]);
    await server.stop();
    server = await server.restart();
    const before = (await allEvents(server, lastTask)).length;
    const res = await api(server, 'POST', `/v1/tasks/${lastTask}/messages`, { text: 'Again' });
    assert.ok(res.status < 300, JSON.stringify(res.body));
    let later: TaskEvent[] = [];
    await until(async () => (later = (await allEvents(server, lastTask!)).slice(before)).some((e) => e.type === 'agent.finished'), 60_000, 'the follow-up to finish');
    assert.deepEqual(setupEvents(later).started, []);
    const out = later.find((e) => e.type === 'tool.result');
    assert.ok(out?.type === 'tool.result');
    assert.match(out.output, /^ok$/m, 'the layer is under the view again');
    assert.doesNotMatch(out.output, /^(\?\?|.M|M.|A.|.D|D.) /m, `git sees no change: ${out.output}`);
  });
});
