// A local repository path the server can see will not work is refused at POST /v1/tasks with the
// message the task would have failed with, and no task is made (issue #18.3).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';

type ErrorReply = { error: { code: string; message: string } };

describe('local repository paths', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let dir: string;
  before(async () => {
    server = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'delegate-localrepo-'));
  });
  after(async () => {
    await server.stop();
  });

  it('refuses paths that cannot work with 422 repo_error and creates no task', async () => {
    mkdirSync(join(dir, 'plain'));
    writeFileSync(join(dir, 'a-file'), 'x');
    mkdirSync(join(dir, 'empty'));
    git(join(dir, 'empty'), 'init', '-q');
    const cases: [string, string][] = [
      ['/etc', '/etc is not a git repository with a work tree'],
      ['/tmp/../etc', '/tmp/../etc is not a git repository with a work tree'],
      [join(dir, 'plain'), `${join(dir, 'plain')} is not a git repository with a work tree`],
      [join(dir, 'nothing-here'), `repository path ${join(dir, 'nothing-here')} does not exist`],
      [join(dir, 'a-file'), `${join(dir, 'a-file')} is not a git repository with a work tree`],
      [join(dir, 'empty'), `${join(dir, 'empty')} has no commits yet; commit something first`],
    ];
    for (const [path, message] of cases) {
      const res = await api<ErrorReply>(server, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'local', path } });
      assert.equal(res.status, 422, `${path} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body, { error: { code: 'repo_error', message } });
    }
    const list = await api<{ tasks: unknown[] }>(server, 'GET', '/v1/tasks');
    assert.deepEqual(list.body.tasks, []);
  });

  it('accepts a repository, a folder inside one and a linked worktree', async () => {
    const repo = join(dir, 'repo');
    makeRepo(repo, { 'src/a.js': 'module.exports = 1;\n' });
    git(repo, 'worktree', 'add', '-q', join(dir, 'linked'));
    for (const path of [repo, join(repo, 'src'), join(dir, 'linked')]) {
      const res = await api<{ id: string }>(server, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'local', path } });
      assert.equal(res.status, 201, `${path} → ${res.status} ${JSON.stringify(res.body)}`);
      await api(server, 'POST', `/v1/tasks/${res.body.id}/cancel`);
    }
  });
});
