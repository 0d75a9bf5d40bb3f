// A new pull request: the branch arrives over real smart HTTP with exactly the accepted hunks, and
// the PR request Octokit sends is schema-valid and carries the summary, tests and usage.
import assert from 'node:assert/strict';
import { openPullRequest } from '../../../server/src/github';
import { acceptFirstHunkOfA, baseParams, changedFilesOf, linesLogger, scenario, TASK_EDITS, taskDiff, type Scenario } from './fixture';

describe('github: openPullRequest creates a branch, a commit of the accepted hunks and a PR', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario();
  });
  after(async () => {
    await s.close();
  });

  it('pushes exactly the accepted hunks and opens a schema-valid PR with summary and test results', async () => {
    const { patch, files } = acceptFirstHunkOfA(await taskDiff(s, TASK_EDITS));
    assert.equal(files.find((f) => f.path === 'a.txt')?.hunks.length, 2, 'the task diff has two hunks in a.txt');
    const logs: string[] = [];
    const result = await openPullRequest(baseParams(s, patch, { changedFiles: changedFilesOf(files), title: 'Louder line three', draft: true, log: linesLogger(logs) }));
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.updated, false);
    assert.equal(result.pullRequest.branch, 'delegate/3f2a9c41-make-line-three-louder-and-add-the');
    assert.equal(result.pullRequest.number, 1);
    assert.equal(result.pullRequest.url, `${s.fake.url}/${s.owner}/${s.repo}/pull/1`);

    const branch = await s.fake.readBranch(s.owner, s.repo, result.pullRequest.branch);
    assert.ok(branch, 'the branch exists on the remote');
    assert.deepEqual(branch.parents, [s.baseCommit]);
    assert.equal(branch.author, 'Delegate <delegate@localhost>');
    assert.match(branch.message, /^Louder line three\n\nChanged line 3 of a\.txt/);
    assert.match(branch.message, /Delegate-Task: 3f2a9c41-7d1e-4c55-9e0b-123456789abc/);
    assert.ok(branch.files['a.txt']!.includes('a line 3 CHANGED\n'), 'accepted hunk is there');
    assert.ok(branch.files['a.txt']!.includes('a line 35\n') && !branch.files['a.txt']!.includes('REJECTED'), 'rejected hunk is not');
    assert.equal(branch.files['src/new.ts'], 'export const answer = 42;\n');
    assert.equal(branch.files['old.txt'], undefined, 'deletion taken');
    assert.deepEqual([...branch.raw['img.bin']!], [...(TASK_EDITS['img.bin'] as Buffer)], 'binary change byte-exact');
    assert.deepEqual(Object.keys(branch.files).sort(), ['README.md', 'a.txt', 'img.bin', 'src/new.ts']);
    const main = await s.fake.readBranch(s.owner, s.repo, 'main');
    assert.equal(main?.commit, s.baseCommit, 'the base branch is untouched');

    assert.deepEqual(s.fake.schemaErrors, []);
    const create = s.fake.requests.find((r) => r.operation === 'pulls/create');
    assert.ok(create && create.status === 201, JSON.stringify(s.fake.requests));
    const body = create.body as { title: string; head: string; base: string; body: string; draft: boolean };
    assert.equal(body.title, 'Louder line three');
    assert.equal(body.head, result.pullRequest.branch);
    assert.equal(body.base, 'main');
    assert.equal(body.draft, true);
    assert.match(body.body, /> Make line three louder and add the answer module/);
    assert.match(body.body, /Changed line 3 of a\.txt and added src\/new\.ts/);
    assert.match(body.body, /`npm test` — ✅ passed/);
    assert.match(body.body, /12 passing/);
    assert.match(body.body, /\| `src\/new\.ts` \| added \| \+1 \| −0 \|/);
    assert.match(body.body, /\| `a\.txt` \| modified \| \+1 \| −1 \|/);
    assert.match(body.body, /\| 12,345 \| 2,000 \| 678 \| 90 \| 4 \| \$0\.0421 \|/);
    assert.match(body.body, /Opened by Delegate/);
    const [pr] = s.fake.pulls;
    assert.equal(pr?.draft, true);
    assert.equal(s.fake.pulls.length, 1);
    assert.ok(logs.some((l) => l.includes('pushing')), logs.join('\n'));
  });

  it('defaults the title to the prompt and the PR to ready for review', async () => {
    const patch = acceptFirstHunkOfA(await taskDiff(s, { 'README.md': '# demo\n\nMore.\n' })).patch;
    const result = await openPullRequest(baseParams(s, patch, { taskId: 'beefcafe-0000', prompt: 'Document the demo\nwith details' }));
    assert.ok(result.ok, JSON.stringify(result));
    const pr = s.fake.pulls.find((p) => p.number === result.pullRequest.number);
    assert.equal(pr?.title, 'Document the demo');
    assert.equal(pr?.draft, false);
    assert.equal(pr?.head, 'delegate/beefcafe-document-the-demo-with-details');
    assert.deepEqual(s.fake.schemaErrors, []);
  });
});
