// GET /v1/tasks/{id}/diff?path=… answers a path outside the repository with 422, as /file does,
// never 500 (issue #18.8).
import assert from 'node:assert/strict';
import { api } from '../../support/serverProcess';
import { finishedTask, type Fixture } from './finishedTask';

type ErrorReply = { error: { code: string; message: string } };

describe('diff paths', function () {
  this.timeout(120_000);
  let f: Fixture;
  before(async () => {
    f = await finishedTask();
  });
  after(async () => {
    await f?.stop();
  });

  it('refuses paths outside the repository with 422 validation_failed on /diff and /file alike', async () => {
    for (const path of ['../../etc/passwd', '/etc/passwd', '%00', 'calc.js%00', 'calc.js/..', 'a/../../b', '..', '']) {
      for (const route of ['diff', 'file']) {
        const res = await api<ErrorReply>(f.server, 'GET', `/v1/tasks/${f.task.id}/${route}?path=${path.startsWith('%') || path.includes('%') ? path : encodeURIComponent(path)}`);
        assert.equal(res.status, 422, `${route} ${JSON.stringify(path)} → ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'validation_failed');
        assert.match(res.body.error.message, /^path: /);
      }
    }
    const mixed = await api<ErrorReply>(f.server, 'GET', `/v1/tasks/${f.task.id}/diff?path=calc.js&path=..%2Fx`);
    assert.equal(mixed.status, 422);
  });

  it('still answers good paths', async () => {
    const one = await api<string>(f.server, 'GET', `/v1/tasks/${f.task.id}/diff?path=calc.js`);
    assert.equal(one.status, 200);
    assert.match(one.body, /\+module\.exports = \(a, b\) => a \+ b;/);
    const untouched = await api<string>(f.server, 'GET', `/v1/tasks/${f.task.id}/diff?path=README.md&path=dir/none.js`);
    assert.equal(untouched.status, 200);
    assert.equal(untouched.body, '');
  });
});
