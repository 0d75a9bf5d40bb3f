import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { branchName } from '../../../server/src/github/remote';

describe('github: branchName', () => {
  it('is delegate/<first 8 of the task id>-<slug of the prompt>', () => {
    assert.equal(branchName('3f2a9c41-7d1e-4c55', 'Fix the login bug!'), 'delegate/3f2a9c41-fix-the-login-bug');
  });

  it('keeps the slug at most 40 characters, cut at a word boundary when one is near', () => {
    const b = branchName('abcdef0123', 'Refactor the authentication middleware so that tokens are refreshed lazily');
    assert.equal(b, 'delegate/abcdef01-refactor-the-authentication-middleware');
    assert.ok(b.length - 'delegate/abcdef01-'.length <= 40);
    const long = branchName('abcdef0123', 'x'.repeat(100));
    assert.equal(long, `delegate/abcdef01-${'x'.repeat(40)}`);
  });

  it('folds accents and drops everything git dislikes in a ref', () => {
    const b = branchName('12345678', 'Café ~^:?*[ .. @{ \\ résumé.lock');
    assert.equal(b, 'delegate/12345678-cafe-resume-lock');
    execFileSync('git', ['check-ref-format', `refs/heads/${b}`]);
  });

  it('falls back to the id alone when the prompt has no letters', () => {
    assert.equal(branchName('ABCDEF99xyz', '!!! ???'), 'delegate/abcdef99');
    assert.equal(branchName('--', 'ok'), 'delegate/task-ok');
  });
});
