import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';

const TOKEN = 'ghp_' + 'x1y2z3'.repeat(6);
const A = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
const PATCH = `*** Begin Patch
*** Update File: a.txt
@@
 line 2
-line 3
+line 3 ACCEPTED
 line 4
@@
 line 34
-line 35
+line 35 REJECTED
 line 36
*** End Patch`;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

describe('pull requests through the API', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let github: FakeGitHub;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    github = await startFakeGitHub({ token: TOKEN });
    const { remoteUrl, dir } = await github.createRepo('octo', 'demo', { 'a.txt': A });
    repo = join(mkdtempSync(join(tmpdir(), 'delegate-pr-user-')), 'demo');
    execFileSync('git', ['clone', '-q', dir, repo]);
    execFileSync('git', ['-C', repo, 'remote', 'set-url', 'origin', remoteUrl]);
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap', '--github-api-url', github.apiBaseUrl] });
    model.setScript('pr', [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: PATCH } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Changed two lines.', test_command: 'true', tests_passed: true } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo more >> b.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Added b.txt.' } }] },
    ]);
  });
  after(async () => {
    await server?.stop();
    await github?.close();
    await model?.close();
  });

  it('pushes exactly the accepted hunks, opens the PR with the summary, and updates it after a follow-up', async () => {
    const t = await createTask(server, repo, 'Change lines [[script:pr]]');
    const done = await waitForTask(server, t.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.repo.remoteUrl, github.url + '/octo/demo.git');

    const res = await api<{ url: string; number: number; branch: string }>(server, 'POST', `/v1/tasks/${t.id}/pull-request`, {
      githubToken: TOKEN,
      accept: { files: [{ path: 'a.txt', hunks: [0] }] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.branch, /^delegate\/[0-9a-f]{8}-/);
    const branch = await github.readBranch('octo', 'demo', res.body.branch);
    assert.ok(branch);
    const a = branch.files['a.txt']!.toString();
    assert.match(a, /line 3 ACCEPTED/);
    assert.doesNotMatch(a, /REJECTED/);
    assert.equal(github.pulls.length, 1);
    assert.match(github.pulls[0]!.body ?? '', /Changed two lines\./);
    assert.match(github.pulls[0]!.body ?? '', /Change lines/);
    assert.deepEqual(github.schemaErrors, []);
    const task = (await api<Task>(server, 'GET', `/v1/tasks/${t.id}`)).body;
    assert.equal(task.pullRequest?.number, res.body.number);

    // Follow-up, then the same call updates the same PR.
    await api(server, 'POST', `/v1/tasks/${t.id}/messages`, { text: 'Also add b.txt' });
    const again = await waitForTask(server, t.id, (x) => isDone(x) && x.summary === 'Added b.txt.');
    assert.equal(again.status, 'completed');
    const second = await api<{ number: number; branch: string }>(server, 'POST', `/v1/tasks/${t.id}/pull-request`, { githubToken: TOKEN });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal(second.body.number, res.body.number);
    assert.equal(github.pulls.length, 1);
    const after = await github.readBranch('octo', 'demo', res.body.branch);
    assert.match(after!.files['b.txt']!.toString(), /more/);
    assert.match(github.pulls[0]!.body ?? '', /Added b\.txt\./);
  });

  it('answers clear errors: wrong token, unknown hunk', async () => {
    const t = await createTask(server, repo, 'Change lines again [[script:pr]]');
    await waitForTask(server, t.id, isDone);
    const bad = await api<{ error: { code: string; message: string } }>(server, 'POST', `/v1/tasks/${t.id}/pull-request`, { githubToken: 'ghp_wrongwrongwrongwrongwrong' });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, 'github_unauthorized');
    const hunk = await api<{ error: { code: string; message: string } }>(server, 'POST', `/v1/tasks/${t.id}/pull-request`, { githubToken: TOKEN, accept: { files: [{ path: 'a.txt', hunks: [7] }] } });
    assert.equal(hunk.status, 422);
    assert.match(hunk.body.error.message, /no hunk 7/);
  });

  it('never writes the GitHub token to the data dir, the logs or the events', async () => {
    const leaks = filesUnder(server.dataDir).filter((f) => readFileSync(f).includes(TOKEN));
    assert.deepEqual(leaks, []);
    assert.ok(!server.logs().includes(TOKEN));
    const tasks = (await api<{ tasks: Task[] }>(server, 'GET', '/v1/tasks')).body.tasks;
    for (const t of tasks) assert.ok(!JSON.stringify(await allEvents(server, t.id)).includes(TOKEN));
    const environ = readFileSync(`/proc/${server.pid}/environ`, 'utf8');
    assert.ok(!environ.includes(TOKEN));
  });
});
