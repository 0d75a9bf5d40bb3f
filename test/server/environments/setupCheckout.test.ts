// Without overlay mounts (the server run by an unprivileged user: plain checkouts) there is no
// set-up layer: the setup runs over the task's own view, in a sandbox of its own, for every task,
// and the agent still finds its result; its secrets still never reach the agent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';
import { setupEvents } from './helpers';

const NOBODY = 65534;
const SECRET = `tok_${Date.now().toString(36)}CheckoutSecret`;

describe('environments: setup over a plain checkout (unprivileged server, no layer) [bwrap]', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let root: string;
  let repo: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-env-checkout-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, {
      'README.md': '# checkout\n',
      '.gitignore': 'node_modules/\n',
      '.delegate/environment.json': JSON.stringify({ setup: 'mkdir -p node_modules && echo "len ${#TOKEN}" > node_modules/dep.txt && echo installed', secrets: ['TOKEN'] }),
    });
    const dataDir = join(root, 'data');
    const home = join(root, 'home');
    mkdirSync(dataDir);
    mkdirSync(home);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repo, dataDir, home]);
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, dataDir, unprivilegedUid: NOBODY, args: ['--sandbox', 'bwrap', '--allow-uncapped', '--setup-secret', 'TOKEN'], env: { HOME: home, TOKEN: SECRET } });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('runs the setup for each task, in its own sandbox, and the agent finds its result but not its secret', async () => {
    for (const i of [0, 1]) {
      model.setScript(`co-${i}`, [{ toolCalls: [{ name: 'shell', arguments: { command: 'cat node_modules/dep.txt; env | grep -c TOKEN' } }] }, { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
      const task = await createTask(server, repo, `Look [[script:co-${i}]]`);
      const done = await waitForTask(server, task.id, isDone, 90_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      const events = await allEvents(server, task.id);
      const s = setupEvents(events);
      assert.deepEqual(s.started, [false], 'no layer to take: the setup runs again');
      assert.deepEqual(s.finished.map((f) => f.exitCode), [0]);
      assert.match(s.log, /installed/);
      const out = events.find((e) => e.type === 'tool.result');
      assert.ok(out?.type === 'tool.result');
      assert.match(out.output, new RegExp(`len ${SECRET.length}`), 'the setup had the secret and its result is in the view');
      assert.match(out.output, /^0$/m, 'the agent\'s environment has no TOKEN');
      assert.ok(!JSON.stringify(events).includes(SECRET));
    }
  });
});
