import assert from 'node:assert/strict';
import { OutputCapture } from '../../../server/src/sandbox/output';

describe('output capture', () => {
  it('keeps everything under the cap', () => {
    const capture = new OutputCapture(100);
    capture.push(Buffer.from('hello '));
    capture.push(Buffer.from('world'));
    assert.equal(capture.text(), 'hello world');
    assert.equal(capture.truncated, false);
  });

  it('keeps head and tail and counts what it dropped', () => {
    const capture = new OutputCapture(10);
    for (const part of ['abcde', 'fghij', 'klmno', 'pqrst']) capture.push(Buffer.from(part));
    assert.equal(capture.truncated, true);
    assert.equal(capture.text(), 'abcde\n[... 10 bytes omitted ...]\npqrst');
  });

  it('streams whole characters even when a chunk splits one', () => {
    const seen: string[] = [];
    const capture = new OutputCapture(100, (text) => seen.push(text));
    const bytes = Buffer.from('né€', 'utf8');
    capture.push(bytes.subarray(0, 2));
    capture.push(bytes.subarray(2));
    capture.end();
    assert.equal(seen.join(''), 'né€');
    assert.ok(seen.every((s) => !s.includes('\ufffd')));
  });

  it('keeps nothing with a zero cap but still streams', () => {
    let streamed = '';
    const capture = new OutputCapture(0, (t) => (streamed += t));
    capture.push(Buffer.from('data'));
    assert.equal(streamed, 'data');
    assert.equal(capture.truncated, true);
    assert.equal(capture.text(), '\n[... 4 bytes omitted ...]\n');
  });
});
