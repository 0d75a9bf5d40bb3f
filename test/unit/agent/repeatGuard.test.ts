import assert from 'node:assert/strict';
import { RepeatGuard } from '../../../server/src/agent/repeatGuard';

describe('agent repeated-call detection', () => {
  it('warns on the third identical call in a row and stops on the fourth', () => {
    const guard = new RepeatGuard();
    const verdicts = [1, 2, 3, 4].map(() => guard.observe('shell', '{"command":"ls"}'));
    assert.deepEqual(verdicts, ['ok', 'ok', 'warn', 'stop']);
  });

  it('treats reordered JSON keys as the same call and a different call as a reset', () => {
    const guard = new RepeatGuard();
    assert.equal(guard.observe('read_file', '{"path":"a","start_line":1}'), 'ok');
    assert.equal(guard.observe('read_file', '{"start_line":1,"path":"a"}'), 'ok');
    assert.equal(guard.observe('read_file', '{"path":"b"}'), 'ok');
    assert.equal(guard.observe('read_file', '{"start_line":1,"path":"a"}'), 'ok');
    assert.equal(guard.observe('read_file', '{"start_line":1,"path":"a"}'), 'ok');
    assert.equal(guard.observe('read_file', '{"path":"a","start_line":1}'), 'warn');
  });
});
