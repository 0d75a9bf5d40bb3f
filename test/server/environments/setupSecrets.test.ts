// A setup secret (--setup-secret NAME, its value from the server's environment) reaches the setup
// step alone: not the agent's commands (their environment, /proc, /tmp), not the events (setup's
// output is scrubbed), not the snapshots, not the cached layer, not the server's log. A setup that
// writes it into a file fails and leaves no cache entry. Real server, bwrap sandbox.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';
import { cacheEntries, setupEvents } from './helpers';

const SECRET = `npm_${Date.now().toString(36)}SeCrEtToKeN7`;

describe('environments: setup secrets reach the setup step alone [bwrap]', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let server: ServerProcess;
  let root: string;
  let repo: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-env-secret-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, { 'README.md': '# secret\n', '.gitignore': 'node_modules/\n' });
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap', '--setup-secret', 'REGISTRY_TOKEN'], env: { REGISTRY_TOKEN: SECRET } });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the setup uses it; the agent, the events, the snapshots, the layer and the log never hold it', async () => {
    // The setup proves it has the secret (its length, and the secret itself, which the scrubber
    // must catch in the log), keeps it in /tmp and in its environment only, and installs a file.
    const setup = 'echo "token length ${#REGISTRY_TOKEN}"; echo "token $REGISTRY_TOKEN"; echo "$REGISTRY_TOKEN" > /tmp/npmrc; mkdir -p node_modules && echo installed > node_modules/dep.txt';
    model.setScript('secret', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'env; cat /proc/1/environ | tr "\\0" "\\n"; ls -a /tmp; cat /tmp/npmrc; cat node_modules/dep.txt; echo change > work.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
    ]);
    const task = await createTask(server, repo, 'Look [[script:secret]]', { environment: { setup, secrets: ['REGISTRY_TOKEN'] } });
    const done = await waitForTask(server, task.id, isDone, 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const events = await allEvents(server, task.id);
    const s = setupEvents(events);
    assert.match(s.log, new RegExp(`token length ${SECRET.length}`), 'the setup had the secret');
    const result = events.find((e) => e.type === 'tool.result');
    assert.ok(result?.type === 'tool.result');
    assert.match(result.output, /installed/, 'the agent sees what setup installed');
    assert.doesNotMatch(result.output, /REGISTRY_TOKEN/);
    assert.ok(!result.output.includes(SECRET), 'the agent never sees the secret');
    assert.ok(!JSON.stringify(events).includes(SECRET), 'no event holds the secret');
    assert.ok(!server.logs().includes(SECRET), 'the server log never holds it');
    // Snapshots: every object of the task's git dir; the layer and the whole cache: every file.
    const gitDir = join(server.dataDir, 'tasks', task.id, 'git');
    const objects = execFileSync('git', ['--git-dir', gitDir, 'log', '-p', '--all', '--format=%H %B'], { encoding: 'utf8' });
    assert.match(objects, /work\.txt/, 'the snapshot holds the agent\'s work');
    assert.ok(!objects.includes(SECRET), 'no snapshot holds the secret');
    const grep = execFileSync('sh', ['-c', 'grep -rlaF "$1" "$2" || true', 'sh', SECRET, join(server.dataDir, 'environments')], { encoding: 'utf8' });
    assert.equal(grep.trim(), '', 'no file of the cache holds the secret');
    assert.equal(cacheEntries(server.dataDir).length, 1);
  });

  it('a setup that writes the secret into the workspace fails and leaves no entry', async () => {
    const before = cacheEntries(server.dataDir).length;
    model.setScript('leak', [{ toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
    const task = await createTask(server, repo, 'Leak [[script:leak]]', { environment: { setup: 'mkdir -p node_modules && echo "//registry/:_authToken=$REGISTRY_TOKEN" > node_modules/.npmrc', secrets: ['REGISTRY_TOKEN'] } });
    const done = await waitForTask(server, task.id, isDone, 120_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'setup_failed');
    assert.match(done.error?.message ?? '', /wrote a setup secret into node_modules\/\.npmrc/);
    assert.equal(cacheEntries(server.dataDir).length, before);
    assert.deepEqual(readdirSync(join(server.dataDir, 'environments')).filter((n) => n.startsWith('.')), []);
    assert.ok(!JSON.stringify(await allEvents(server, task.id)).includes(SECRET));
  });

  it('an environment asking for a secret the server lacks fails saying which', async () => {
    model.setScript('lacks', [{ toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
    const task = await createTask(server, repo, 'Lacks [[script:lacks]]', { environment: { setup: 'true', secrets: ['OTHER_TOKEN'] } });
    const done = await waitForTask(server, task.id, isDone, 60_000);
    assert.equal(done.status, 'failed');
    assert.match(done.error?.message ?? '', /--setup-secret OTHER_TOKEN/);
  });
});
