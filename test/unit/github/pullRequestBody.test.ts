import assert from 'node:assert/strict';
import { EMPTY_USAGE } from '../../../protocol';
import { commitMessage, defaultTitle, filesOfPatch, hasTaskTrailer, pullRequestBody } from '../../../server/src/github/body';

const usage = { ...EMPTY_USAGE, inputTokens: 1000, cachedInputTokens: 200, outputTokens: 30, reasoningTokens: 4, modelRequests: 2 };

describe('github: pull request body, title and commit message', () => {
  it('quotes the prompt and lists summary, files, tests, usage and the footer', () => {
    const body = pullRequestBody({
      taskId: 't-1',
      prompt: 'Fix it\n\nplease',
      summary: 'Fixed.',
      changedFiles: [
        { path: 'a|b.ts', status: 'modified', additions: 2, deletions: 1 },
        { path: 'new.ts', status: 'renamed', oldPath: 'old.ts', additions: 0, deletions: 0 },
        { path: 'logo.png', status: 'added', additions: 0, deletions: 0, binary: true },
      ],
      testResult: { command: 'npm test', passed: false, summary: '2 failing' },
      usage,
    });
    assert.match(body, /### Task\n\n> Fix it\n>\n> please/);
    assert.match(body, /### Summary\n\nFixed\./);
    assert.match(body, /3 files changed, \+2 −1/);
    assert.match(body, /\| `a\\\|b\.ts` \| modified \| \+2 \| −1 \|/);
    assert.match(body, /`old\.ts` → `new\.ts`/);
    assert.match(body, /\| `logo\.png` \| added \| binary \|/);
    assert.match(body, /`npm test` — ❌ failed\n\n```\n2 failing\n```/);
    assert.match(body, /\| 1,000 \| 200 \| 30 \| 4 \| 2 \| unknown \|/);
    assert.match(body, /Opened by Delegate · task `t-1`/);
    assert.doesNotMatch(body, /moved from/);
  });

  it('says when no tests ran, no summary was given, and when the base moved', () => {
    const body = pullRequestBody({ taskId: 't', prompt: 'p', changedFiles: [], usage, baseMoved: { branch: 'main', from: 'a'.repeat(40), to: 'b'.repeat(40) } });
    assert.match(body, /_No test command was run\._/);
    assert.match(body, /_The agent gave no summary\._/);
    assert.match(body, /`main` moved from aaaaaaaaaaaa to bbbbbbbbbbbb/);
  });

  it('stays under GitHub\'s body limit', () => {
    const body = pullRequestBody({ taskId: 't', prompt: 'p'.repeat(100_000), summary: 's'.repeat(100_000), changedFiles: [], usage });
    assert.ok(body.length < 65_536, String(body.length));
    assert.match(body, /more characters/);
    assert.match(body, /Opened by Delegate/);
  });

  it('counts the files of the accepted patch, not the whole task', () => {
    const patch = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+A\n b\n';
    assert.deepEqual(filesOfPatch(patch, []), [{ path: 'x', status: 'modified', additions: 1, deletions: 1 }]);
    const fallback = [{ path: 'y', status: 'added' as const, additions: 1, deletions: 0 }];
    assert.deepEqual(filesOfPatch('', fallback), fallback);
  });

  it('titles from the prompt\'s first line and tags the commit with the task', () => {
    assert.equal(defaultTitle('\n  Add caching\nmore'), 'Add caching');
    assert.equal(defaultTitle('x'.repeat(100)).length, 72);
    const msg = commitMessage('Add caching', 'Did it.', 'task-9');
    assert.equal(msg, 'Add caching\n\nDid it.\n\nDelegate-Task: task-9\n');
    assert.ok(hasTaskTrailer(msg, 'task-9'));
    assert.ok(!hasTaskTrailer(msg, 'task-1'));
  });
});
