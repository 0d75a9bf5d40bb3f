// A follow-up on a task that already has a PR: a new fast-forward commit on the same branch and
// the same PR's body updated — never a second PR.
import assert from 'node:assert/strict';
import { openPullRequest } from '../../../server/src/github';
import { acceptFirstHunkOfA, baseParams, scenario, TASK_EDITS, taskDiff, type Scenario } from './fixture';

describe('github: a follow-up pushes to the same branch and updates the same PR', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario();
  });
  after(async () => {
    await s.close();
  });

  it('adds a commit on top of the first and PATCHes the PR body', async () => {
    const diff = await taskDiff(s, TASK_EDITS);
    const first = await openPullRequest(baseParams(s, acceptFirstHunkOfA(diff).patch));
    assert.ok(first.ok, JSON.stringify(first));
    const before = await s.fake.readBranch(s.owner, s.repo, first.pullRequest.branch);
    assert.ok(before);

    // The follow-up's diff is cumulative against the base; this time both hunks are accepted.
    const followUp = await openPullRequest(
      baseParams(s, diff, { existing: first.pullRequest, summary: 'Also took line 35 after the follow-up.', testResult: { command: 'npm test', passed: false, summary: '1 failing' } }),
    );
    assert.ok(followUp.ok, JSON.stringify(followUp));
    assert.equal(followUp.updated, true);
    assert.deepEqual(followUp.pullRequest, first.pullRequest);

    const after = await s.fake.readBranch(s.owner, s.repo, first.pullRequest.branch);
    assert.ok(after);
    assert.notEqual(after.commit, before.commit, 'a new commit');
    assert.deepEqual(after.parents, [before.commit], 'fast-forward from the first commit');
    assert.ok(after.files['a.txt']!.includes('a line 35 REJECTED\n') && after.files['a.txt']!.includes('a line 3 CHANGED\n'));

    assert.equal(s.fake.pulls.length, 1, 'no second PR');
    assert.equal(s.fake.requests.filter((r) => r.operation === 'pulls/create').length, 1);
    const update = s.fake.requests.find((r) => r.operation === 'pulls/update');
    assert.equal(update?.status, 200);
    assert.equal(update?.path, `/repos/${s.owner}/${s.repo}/pulls/${first.pullRequest.number}`);
    const pr = s.fake.pulls[0]!;
    assert.match(pr.body ?? '', /Also took line 35 after the follow-up\./);
    assert.match(pr.body ?? '', /`npm test` — ❌ failed/);
    assert.match(pr.body ?? '', /updated \d{4}-\d\d-\d\dT/);
    assert.deepEqual(s.fake.schemaErrors, []);
  });

  it('updates the body without a new commit when the accepted changes are already on the branch', async () => {
    const diff = await taskDiff(s, TASK_EDITS);
    const pr = s.fake.pulls[0]!;
    const head = await s.fake.readBranch(s.owner, s.repo, pr.head);
    const again = await openPullRequest(
      baseParams(s, diff, { existing: { url: '', number: pr.number, branch: pr.head }, summary: 'Nothing new, only a better summary.' }),
    );
    assert.ok(again.ok, JSON.stringify(again));
    assert.equal((await s.fake.readBranch(s.owner, s.repo, pr.head))?.commit, head?.commit, 'no new commit');
    assert.match(s.fake.pulls[0]!.body ?? '', /only a better summary/);
    assert.equal(s.fake.pulls.length, 1);
  });

  it('refuses to build on a branch head that someone else pushed', async () => {
    const pr = s.fake.pulls[0]!;
    const foreign = await s.fake.commit(s.owner, s.repo, pr.head, { 'README.md': '# edited by a human\n' }, 'Human fix');
    const diff = await taskDiff(s, TASK_EDITS);
    const r = await openPullRequest(baseParams(s, diff, { existing: { url: '', number: pr.number, branch: pr.head } }));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'conflict');
    assert.match(!r.ok ? r.error.message : '', /Delegate did not make/);
    assert.equal((await s.fake.readBranch(s.owner, s.repo, pr.head))?.commit, foreign, 'the human commit is kept');
  });
});
