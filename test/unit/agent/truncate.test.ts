import assert from 'node:assert/strict';
import { clipLine, fenceFor, truncateMiddle } from '../../../server/src/agent/truncate';

describe('agent output truncation', () => {
  it('keeps short text as it is', () => {
    assert.equal(truncateMiddle('abc', 10), 'abc');
  });

  it('keeps the head and the tail of long text and says how much was dropped', () => {
    const text = 'HEAD' + 'x'.repeat(50_000) + 'TAIL';
    const out = truncateMiddle(text, 1000);
    assert.ok(out.startsWith('HEAD'));
    assert.ok(out.endsWith('TAIL'));
    assert.match(out, /\[\.\.\. 49008 characters omitted \.\.\.\]/);
    assert.ok(out.length < 1100);
  });

  it('clips long lines and picks a fence longer than any backtick run', () => {
    assert.equal(clipLine('abcdef', 3), 'abc… [3 more characters]');
    assert.equal(fenceFor('no ticks'), '```');
    assert.equal(fenceFor('has ```` four'), '`````');
  });
});
