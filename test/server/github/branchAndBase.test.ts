// The remote moved under the task: an existing branch of the same name is never overwritten, and a
// moved base branch either still takes the changes (PR opened, body says so) or is reported.
import assert from 'node:assert/strict';
import { openPullRequest, type PullRequestResult } from '../../../server/src/github';
import { acceptFirstHunkOfA, baseParams, BASE_FILES, scenario, TASK_EDITS, taskDiff, type Scenario } from './fixture';

function failure(r: PullRequestResult): { code: string; message: string } {
  assert.equal(r.ok, false, JSON.stringify(r));
  return (r).error;
}

describe('github: existing branch and moved base', () => {
  let s: Scenario;
  let patch: string;
  beforeEach(async () => {
    s = await scenario();
    patch = acceptFirstHunkOfA(await taskDiff(s, TASK_EDITS)).patch;
  });
  afterEach(async () => {
    await s.close();
  });

  it('branch_exists when a branch of that name is already on the remote, and leaves it alone', async () => {
    const params = baseParams(s, patch);
    const branch = 'delegate/3f2a9c41-make-line-three-louder-and-add-the';
    const theirs = await s.fake.commit(s.owner, s.repo, branch, { 'other.txt': 'someone else\n' }, 'Unrelated work');
    const e = failure(await openPullRequest(params));
    assert.equal(e.code, 'branch_exists');
    assert.match(e.message, new RegExp(`Branch ${branch} already exists`));
    assert.equal((await s.fake.readBranch(s.owner, s.repo, branch))?.commit, theirs);
    assert.equal(s.fake.pulls.length, 0);
  });

  it('opens the PR when the base moved but the changes still apply, saying so in the body', async () => {
    const moved = await s.fake.commit(s.owner, s.repo, 'main', { 'README.md': '# demo\n\nMoved on.\n' }, 'Someone else');
    const r = await openPullRequest(baseParams(s, patch));
    assert.ok(r.ok, JSON.stringify(r));
    const branch = await s.fake.readBranch(s.owner, s.repo, r.pullRequest.branch);
    assert.deepEqual(branch?.parents, [s.baseCommit], 'the PR branch starts at the task base; GitHub shows the merge');
    const body = s.fake.pulls[0]?.body ?? '';
    assert.match(body, new RegExp(`\`main\` moved from ${s.baseCommit.slice(0, 12)} to ${moved.slice(0, 12)}`));
    assert.deepEqual(s.fake.schemaErrors, []);
  });

  it('base_moved when the base moved and the changes no longer apply', async () => {
    const moved = await s.fake.commit(s.owner, s.repo, 'main', { 'a.txt': BASE_FILES['a.txt'].replace('a line 3\n', 'a line 3 rewritten upstream\n') }, 'Conflicting');
    const e = failure(await openPullRequest(baseParams(s, patch)));
    assert.equal(e.code, 'base_moved');
    assert.match(e.message, new RegExp(`main on .* moved \\(${s.baseCommit.slice(0, 12)} → ${moved.slice(0, 12)}\\)`));
    assert.match(e.message, /rebase/);
    assert.equal(await s.fake.readBranch(s.owner, s.repo, 'delegate/3f2a9c41-make-line-three-louder-and-add-the'), null, 'nothing pushed');
  });

  it('reports a base branch that is missing on the remote', async () => {
    const e = failure(await openPullRequest(baseParams(s, patch, { baseBranch: 'local-only' })));
    assert.equal(e.code, 'repo_error');
    assert.match(e.message, /local-only does not exist on/);
    assert.match(e.message, /Push it first/);
  });
});
