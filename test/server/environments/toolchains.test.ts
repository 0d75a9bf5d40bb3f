// A JavaScript and a Python repository (test/fixtures) run their own tests inside the Docker
// sandbox from the universal image, through real tasks: the repository's .delegate/environment.json
// names the image and a setup (npm install; a venv), the scripted model runs the tests with the
// shell tool. The second task on the same commit starts from the cached set-up layer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';
import { testDockerd } from '../sandbox/drivers';
import { setupEvents } from './helpers';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
const UNIVERSAL = 'delegate-sandbox:universal';

/** The fixture's files, by path. */
function fixture(name: string): Record<string, string> {
  const dir = join(ROOT, 'test', 'fixtures', name);
  const files: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return files;
}

describe('environments: JavaScript and Python repositories run their tests in the universal image [docker]', function () {
  this.timeout(20 * 60_000);
  let model: FakeModel;
  let server: ServerProcess;
  let root: string;

  before(async function () {
    this.timeout(20 * 60_000); // the first run on a machine builds the universal rootfs (minutes)
    const dockerd = await testDockerd();
    const docker = new Docker({ socketPath: dockerd.socket });
    if (!(await docker.getImage(UNIVERSAL).inspect().then(() => true, () => false))) {
      await run('sh', [join(ROOT, 'scripts', 'build-sandbox-image.sh'), '--universal', UNIVERSAL], { env: { ...process.env, DOCKER_HOST: `unix://${dockerd.socket}` }, maxBuffer: 16 << 20, timeout: 20 * 60_000 });
    }
    root = mkdtempSync(join(tmpdir(), 'delegate-env-tools-'));
    chmodSync(root, 0o755);
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'docker'], env: { DOCKER_HOST: `unix://${dockerd.socket}` } });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const cases = [
    { name: 'js-app', command: 'npm test 2>&1; echo "exit $?"', passed: /# pass 2[\s\S]*exit 0/ },
    { name: 'py-app', command: '.venv/bin/python -m unittest -v 2>&1; echo "exit $?"', passed: /Ran 2 tests[\s\S]*OK[\s\S]*exit 0/ },
  ];
  for (const c of cases) {
    it(`${c.name}: setup once, then its tests pass in the sandbox, from the cache the second time`, async () => {
      const repo = join(root, c.name);
      makeRepo(repo, fixture(c.name));
      for (const [i, cached] of [false, true].entries()) {
        const script = `${c.name}-${i}`;
        model.setScript(script, [{ toolCalls: [{ name: 'shell', arguments: { command: c.command } }] }, { toolCalls: [{ name: 'finish', arguments: { summary: 'tests pass' } }] }]);
        const task = await createTask(server, repo, `Run the tests [[script:${script}]]`);
        const done = await waitForTask(server, task.id, isDone, 10 * 60_000);
        assert.equal(done.status, 'completed', JSON.stringify(done.error));
        assert.equal(done.sandbox, 'docker');
        const events = await allEvents(server, task.id);
        assert.deepEqual(setupEvents(events).started, [cached]);
        const result = events.find((e) => e.type === 'tool.result');
        assert.ok(result?.type === 'tool.result');
        assert.match(result.output, c.passed, result.output);
        assert.deepEqual(done.changedFiles, [], 'setup and tests change nothing of the task\'s diff');
      }
    });
  }
});
