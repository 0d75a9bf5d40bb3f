// A desktop user runs delegate-server as themselves, not as root. Tasks must still run sandboxed:
// bwrap through an unprivileged user namespace (the sandbox uid inside, the server's uid outside),
// the workspace a checkout instead of an overlay mount, and the server's own files out of reach.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';

const NOBODY = 65534;

describe('the server run by an unprivileged user', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let root: string;
  let repo: string;
  let dataDir: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-unprivileged-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, { 'src/app.js': 'module.exports = 1;\n', 'README.md': '# app\n' });
    dataDir = join(root, 'data');
    const home = join(root, 'home');
    mkdirSync(dataDir);
    mkdirSync(home);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repo, dataDir, home]);
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, dataDir, unprivilegedUid: NOBODY, args: ['--sandbox', 'bwrap', '--allow-uncapped'], env: { HOME: home } });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('runs a task in a bwrap sandbox and reports its diff', async () => {
    assert.match(server.logs(), /unprivileged user namespace/, 'the server says how it sandboxes');
    const own = readdirSync(dataDir);
    assert.ok(own.length > 0 && own.every((f) => statSync(join(dataDir, f)).uid === NOBODY), `it runs as that user: its files are theirs (${own.join(', ')})`);
    const probe = [
      'echo "uid=$(id -u)"',
      'echo changed > src/new.js',
      `ls ${dataDir} >/dev/null 2>&1 && echo "data dir VISIBLE" || echo "data dir hidden"`,
      'touch /usr/x 2>/dev/null && echo "usr WRITABLE" || echo "usr read-only"',
      'grep CapEff /proc/self/status',
      // No cgroup for an ordinary user here: the process count is still bounded (256 by default).
      // Bounded probe: at most 400 sleeps, all gone with the sandbox's pid namespace.
      // perl-base is essential on Debian; each child sleeps, then exits.
      `perl -e '$n = 0; for (1 .. 400) { $p = fork; last unless defined $p; if ($p == 0) { sleep 3; exit 0 } $n++ } print "started=$n\\n"'`,
    ].join('; ');
    model.setScript('unprivileged', [
      { toolCalls: [{ name: 'shell', arguments: { command: probe } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Probed.' } }] },
    ]);
    const task = await createTask(server, repo, 'Probe [[script:unprivileged]]');
    const done = await waitForTask(server, task.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.sandbox, 'bwrap');
    assert.deepEqual(done.changedFiles.map((f) => f.path), ['src/new.js']);

    const events = await allEvents(server, task.id);
    const result = events.find((e) => e.type === 'tool.result' && e.name === 'shell');
    assert.ok(result && result.type === 'tool.result', 'the shell ran');
    assert.match(result.output, /uid=1500/, 'the sandbox uid inside');
    assert.match(result.output, /data dir hidden/);
    assert.match(result.output, /usr read-only/);
    assert.match(result.output, /CapEff:\s*0+\b/, 'no capabilities');
    const started = Number(/started=(\d+)/.exec(result.output)?.[1]);
    assert.ok(started > 50 && started <= 256, `the process count is capped: ${started} processes in the sandbox`);

    const diff = await api<string>(server, 'GET', `/v1/tasks/${task.id}/diff`);
    assert.equal(diff.status, 200);
    assert.match(diff.body, /\+changed/);
    assert.equal(readFileSync(join(repo, 'src/app.js'), 'utf8'), 'module.exports = 1;\n', "the user's repository is untouched");
  });
});
