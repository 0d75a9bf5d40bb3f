// Apply edits only the changed middle of a document; the splice must rebuild the new text exactly.
import * as assert from 'node:assert/strict';
import { splice } from '../../../src/review/textSplice';

function applied(before: string, after: string): string {
  const s = splice(before, after);
  return s ? before.slice(0, s.start) + s.text + before.slice(s.end) : before;
}

describe('extension: text splice for Apply', () => {
  it('replaces only the changed middle', () => {
    const before = 'a\nb\nc\nd\n';
    const after = 'a\nB\nc\nd\n';
    assert.deepEqual(splice(before, after), { start: 2, end: 3, text: 'B' });
    assert.equal(splice('same', 'same'), null);
  });

  it('rebuilds the new text exactly for insertions, deletions and repeats', () => {
    const cases: [string, string][] = [
      ['', 'new file\n'],
      ['gone\n', ''],
      ['x\nx\nx\n', 'x\nx\nx\nx\n'],
      ['return a + b;\n', 'return (a + b);\n'],
      ['a\r\nb\r\n', 'a\r\nc\r\nb\r\n'],
      ['😀a', '😁a'],
    ];
    for (const [before, after] of cases) assert.equal(applied(before, after), after, JSON.stringify([before, after]));
  });

  it('never cuts a CRLF or a surrogate pair in half', () => {
    const crlf = splice('a\r\nb', 'a\nb')!;
    assert.ok(crlf.start <= 1 && crlf.end >= 3, JSON.stringify(crlf));
    const emoji = splice('😀', '😁')!;
    assert.equal(emoji.start, 0);
    assert.equal(emoji.text, '😁');
  });
});
