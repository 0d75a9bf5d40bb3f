// Hunk decisions name the diff they were made on. A decision is a position (file, hunk index): on a
// diff that moved since (here a follow-up adds a hunk before the chosen one) the same position is
// another hunk, so the pull request refuses it (409) instead of committing the wrong change.
// Through the real server, git http-backend and the GitHub REST double.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, until, waitForTask } from '../../support/tasks';

const TOKEN = 'ghp_' + 'd1f2v3'.repeat(6);
const A = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
const patch = (...hunks: Array<[before: string, old: string, now: string, after: string]>) =>
  `*** Begin Patch\n*** Update File: a.txt\n${hunks.map(([b, o, n, a]) => `@@\n ${b}\n-${o}\n+${n}\n ${a}\n`).join('')}*** End Patch`;
const VERSION = 'x-delegate-diff-version';
type ErrorReply = { error: { code: string; message: string } };

describe('pull requests name the diff their decisions were made on', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let github: FakeGitHub;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    github = await startFakeGitHub({ token: TOKEN });
    const { remoteUrl, dir } = await github.createRepo('octo', 'versions', { 'a.txt': A });
    repo = join(mkdtempSync(join(tmpdir(), 'delegate-dv-user-')), 'versions');
    execFileSync('git', ['clone', '-q', dir, repo]);
    execFileSync('git', ['-C', repo, 'remote', 'set-url', 'origin', remoteUrl]);
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap', '--github-api-url', github.apiBaseUrl] });
    model.setScript('dv', [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: patch(['line 2', 'line 3', 'line 3 FIRST', 'line 4'], ['line 34', 'line 35', 'line 35 SECOND', 'line 36']) } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Two changes.' } }] },
      // The follow-up puts a hunk between the two: hunk 1 is now line 20, not line 35.
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: patch(['line 19', 'line 20', 'line 20 INSERTED', 'line 21']) } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'One more change.' } }] },
    ]);
  });
  after(async () => {
    await server?.stop();
    await github?.close();
    await model?.close();
  });

  it('refuses decisions made on an older diff with 409 and takes them on the current one', async () => {
    const t = await createTask(server, repo, 'Change lines [[script:dv]]');
    assert.equal((await waitForTask(server, t.id, isDone)).status, 'completed');
    const first = await api<string>(server, 'GET', `/v1/tasks/${t.id}/diff`);
    const v1 = first.headers.get(VERSION);
    assert.match(v1 ?? '', /^[0-9a-f]{16}$/);
    assert.equal((await api<string>(server, 'GET', `/v1/tasks/${t.id}/diff`)).headers.get(VERSION), v1, 'the same diff, the same version');
    // Named off the run's path: the announcement may follow the task's end by a moment.
    const announced = async () => (await allEvents(server, t.id)).flatMap((e: TaskEvent) => (e.type === 'diff.updated' && e.diffVersion ? [e.diffVersion] : [])).at(-1);
    await until(async () => (await announced()) === v1, 5_000, 'diff.updated announcing the version GET /diff serves');

    // The user rejects hunk 0 (line 3) and accepts hunk 1 (line 35) of that diff; then a follow-up runs.
    await api(server, 'POST', `/v1/tasks/${t.id}/messages`, { text: 'And line 20' });
    await waitForTask(server, t.id, (x) => isDone(x) && x.summary === 'One more change.');
    const second = await api<string>(server, 'GET', `/v1/tasks/${t.id}/diff`);
    const v2 = second.headers.get(VERSION);
    assert.ok(v2 && v2 !== v1, 'the follow-up changed the diff version');
    await until(async () => (await announced()) === v2, 5_000, 'diff.updated announcing the new version');

    const stale = await api<ErrorReply>(server, 'POST', `/v1/tasks/${t.id}/pull-request`, {
      githubToken: TOKEN,
      accept: { diffVersion: v1, files: [{ path: 'a.txt', hunks: [1] }] },
    });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.equal(stale.body.error.code, 'conflict');
    assert.match(stale.body.error.message, /stale_diff/);
    assert.equal(stale.headers.get(VERSION), v2, 'the refusal names the current version');
    assert.equal(github.pulls.length, 0, 'nothing was pushed or opened');

    // On the current diff the same choice (line 35) is hunk 2.
    const ok = await api<{ branch: string }>(server, 'POST', `/v1/tasks/${t.id}/pull-request`, {
      githubToken: TOKEN,
      accept: { diffVersion: v2, files: [{ path: 'a.txt', hunks: [2] }] },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const a = (await github.readBranch('octo', 'versions', ok.body.branch))!.files['a.txt']!.toString();
    assert.match(a, /line 35 SECOND/);
    assert.doesNotMatch(a, /FIRST|INSERTED/);
    assert.deepEqual(github.schemaErrors, []);
  });
});
