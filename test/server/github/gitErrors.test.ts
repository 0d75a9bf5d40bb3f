// Failures before or during the push give a stable code and a message a user can act on, and
// leave the remote untouched.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { openPullRequest, type PullRequestResult } from '../../../server/src/github';
import { git } from '../../support/gitHttpServer';
import { acceptFirstHunkOfA, baseParams, makeToken, scenario, TASK_EDITS, taskDiff, type Scenario } from './fixture';

function failure(r: PullRequestResult): { code: string; message: string } {
  assert.equal(r.ok, false, JSON.stringify(r));
  return (r).error;
}

/** A loopback port with nothing listening (bound then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('github: errors before and during the push', () => {
  let s: Scenario;
  let patch: string;
  before(async () => {
    s = await scenario();
    patch = acceptFirstHunkOfA(await taskDiff(s, TASK_EDITS)).patch;
  });
  after(async () => {
    await s.close();
  });
  afterEach(async () => {
    s.fake.setMode({ pushForbidden: false });
    // None of these may leave a branch behind.
    const refs = await git(['for-each-ref', '--format=%(refname)', 'refs/heads'], { gitDir: s.fake.repoDir(s.owner, s.repo) });
    assert.equal(refs.stdout.toString().trim(), 'refs/heads/main');
  });

  it('no_remote when the repository has no remote', async () => {
    const e = failure(await openPullRequest(baseParams(s, patch, { remoteUrl: undefined })));
    assert.equal(e.code, 'no_remote');
    assert.match(e.message, /no remote/i);
    assert.match(e.message, /git remote add/);
  });

  it('not_github_remote when the remote is on another host', async () => {
    const e = failure(await openPullRequest(baseParams(s, patch, { remoteUrl: 'git@gitlab.example.com:octo/demo.git' })));
    assert.equal(e.code, 'not_github_remote');
    assert.match(e.message, /gitlab\.example\.com/);
    assert.match(e.message, /not on 127\.0\.0\.1/);
  });

  it('not_github_remote for github.com when the server talks to a GitHub Enterprise host', async () => {
    const e = failure(await openPullRequest(baseParams(s, patch, { remoteUrl: 'https://github.com/octo/demo.git' })));
    assert.equal(e.code, 'not_github_remote');
  });

  it('nothing_to_commit for an empty selection and for changes already in the base', async () => {
    assert.equal(failure(await openPullRequest(baseParams(s, ''))).code, 'nothing_to_commit');
    const noop = 'diff --git a/README.md b/README.md\nindex 0000000..1111111 100644\n--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# demo\n+# demo\n';
    const e = failure(await openPullRequest(baseParams(s, noop)));
    assert.equal(e.code, 'nothing_to_commit');
    assert.match(e.message, /no change/);
  });

  it('repo_error naming the file when the patch does not apply to the base commit', async () => {
    const bad = 'diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-not what is there\n+x\n a line 2\n';
    const e = failure(await openPullRequest(baseParams(s, bad)));
    assert.equal(e.code, 'repo_error');
    assert.match(e.message, /do not apply/);
    assert.match(e.message, /a\.txt/);
  });

  it('repo_error when the base commit is missing from the mirror', async () => {
    const e = failure(await openPullRequest(baseParams(s, patch, { baseCommit: 'f'.repeat(40) })));
    assert.equal(e.code, 'repo_error');
    assert.match(e.message, /ffffffffffff is not in/);
  });

  it('github_unauthorized when the git server rejects the token', async () => {
    const wrong = makeToken();
    const e = failure(await openPullRequest(baseParams(s, patch, { githubToken: wrong })));
    assert.equal(e.code, 'github_unauthorized');
    assert.match(e.message, /401/);
    assert.ok(!e.message.includes(wrong));
  });

  it('github_forbidden mentioning the repo scope when the push is refused', async () => {
    s.fake.setMode({ pushForbidden: true });
    const e = failure(await openPullRequest(baseParams(s, patch)));
    assert.equal(e.code, 'github_forbidden');
    assert.match(e.message, /`repo` scope/);
  });

  it('github_error when the repository does not exist', async () => {
    const e = failure(await openPullRequest(baseParams(s, patch, { remoteUrl: `${s.fake.url}/octo/missing.git` })));
    assert.equal(e.code, 'github_error');
    assert.match(e.message, /not found/);
  });

  it('github_error when the git host cannot be reached', async () => {
    const port = await closedPort();
    const e = failure(await openPullRequest(baseParams(s, patch, { remoteUrl: `http://127.0.0.1:${port}/octo/demo.git` })));
    assert.equal(e.code, 'github_error');
    assert.match(e.message, /could not reach 127\.0\.0\.1/);
  });

  it('github_error when cancelled before it starts', async () => {
    const ac = new AbortController();
    ac.abort();
    const e = failure(await openPullRequest(baseParams(s, patch, { signal: ac.signal })));
    assert.equal(e.code, 'github_error');
    assert.match(e.message, /cancelled/);
  });
});
