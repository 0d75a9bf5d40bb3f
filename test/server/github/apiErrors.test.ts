// Failures of the REST API after the push: 401, 403 without the repo scope, rate limits (403 and
// 429) and an unreachable API each give their code and a clear message; a retry after the failure
// reuses the pushed branch and opens the PR.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { openPullRequest, type PullRequestResult } from '../../../server/src/github';
import { startFakeGitHub } from '../../support/githubDouble';
import { acceptFirstHunkOfA, baseParams, makeToken, scenario, TASK_EDITS, taskDiff, type Scenario } from './fixture';

function failure(r: PullRequestResult): { code: string; message: string } {
  assert.equal(r.ok, false, JSON.stringify(r));
  return (r).error;
}

describe('github: REST API errors after the push', () => {
  let s: Scenario;
  let patch: string;
  before(async () => {
    s = await scenario();
    patch = acceptFirstHunkOfA(await taskDiff(s, TASK_EDITS)).patch;
  });
  after(async () => {
    await s.close();
  });
  afterEach(() => {
    s.fake.setMode({ scopes: ['repo'], rateLimited: false });
    assert.deepEqual(s.fake.schemaErrors, []);
  });

  it('github_unauthorized when the API rejects the token', async () => {
    // Another GitHub on the same host (other port) that knows a different token.
    const other = await startFakeGitHub({ token: makeToken() });
    try {
      const e = failure(await openPullRequest(baseParams(s, patch, { taskId: 'a1a1a1a1-unauth', apiBaseUrl: other.apiBaseUrl })));
      assert.equal(e.code, 'github_unauthorized');
      assert.match(e.message, /401 Bad credentials/);
      assert.equal(other.requests[0]?.authorized, false);
    } finally {
      await other.close();
    }
  });

  it('github_forbidden naming the repo scope from x-accepted-oauth-scopes', async () => {
    s.fake.setMode({ scopes: ['read:org'] });
    const e = failure(await openPullRequest(baseParams(s, patch, { taskId: 'b2b2b2b2-scope' })));
    assert.equal(e.code, 'github_forbidden');
    assert.match(e.message, /403/);
    assert.match(e.message, /`repo` scope/);
    assert.match(e.message, /accepts the scope\(s\): repo; the token has: read:org/);
  });

  it('rate_limited with the reset time on a 403 with x-ratelimit-remaining: 0', async () => {
    s.fake.setMode({ rateLimited: 403 });
    const e = failure(await openPullRequest(baseParams(s, patch, { taskId: 'c3c3c3c3-rate' })));
    assert.equal(e.code, 'rate_limited');
    assert.match(e.message, /rate limit/);
    assert.match(e.message, /resets at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  });

  it('rate_limited on a 429 too', async () => {
    s.fake.setMode({ rateLimited: 429 });
    const e = failure(await openPullRequest(baseParams(s, patch, { taskId: 'd4d4d4d4-secondary' })));
    assert.equal(e.code, 'rate_limited');
    assert.match(e.message, /\(429\)/);
  });

  it('a retry after the failure reuses the pushed commit and opens the PR once', async () => {
    const params = baseParams(s, patch, { taskId: 'c3c3c3c3-rate' });
    const pushed = await s.fake.readBranch(s.owner, s.repo, 'delegate/c3c3c3c3-make-line-three-louder-and-add-the');
    assert.ok(pushed, 'the failed attempt had pushed its branch');
    const r = await openPullRequest(params);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.updated, false);
    assert.equal((await s.fake.readBranch(s.owner, s.repo, r.pullRequest.branch))?.commit, pushed.commit, 'no second commit');
    const again = await openPullRequest(params);
    assert.ok(again.ok, JSON.stringify(again));
    assert.equal(again.pullRequest.number, r.pullRequest.number, 'the open PR is found, not duplicated');
    assert.equal(s.fake.pulls.filter((p) => p.head === r.pullRequest.branch).length, 1);
  });

  it('github_error when the API cannot be reached', async () => {
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    const e = failure(await openPullRequest(baseParams(s, patch, { taskId: 'e5e5e5e5-down', apiBaseUrl: `http://127.0.0.1:${port}/api/v3` })));
    assert.equal(e.code, 'github_error');
    assert.match(e.message, new RegExp(`could not reach http://127\\.0\\.0\\.1:${port}/api/v3`));
  });
});
