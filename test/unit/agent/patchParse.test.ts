import assert from 'node:assert/strict';
import { parsePatch } from '../../../server/src/agent/patch/parse';

describe('agent patch parser', () => {
  it('parses add, delete, update with move, anchors and end-of-file markers', () => {
    const result = parsePatch(
      [
        '*** Begin Patch',
        '*** Add File: src/new.ts',
        '+export const a = 1;',
        '+',
        '*** Delete File: old.txt',
        '*** Update File: src/a.ts',
        '*** Move to: src/b.ts',
        '@@ function main() {',
        ' const x = 1;',
        '-const y = 2;',
        '+const y = 3;',
        '@@',
        ' last',
        '+appended',
        '*** End of File',
        '*** End Patch',
      ].join('\n'),
    );
    assert.ok(result.ok, !result.ok ? result.error : '');
    assert.deepEqual(result.ops, [
      { kind: 'add', path: 'src/new.ts', lines: ['export const a = 1;', ''] },
      { kind: 'delete', path: 'old.txt' },
      {
        kind: 'update',
        path: 'src/a.ts',
        moveTo: 'src/b.ts',
        chunks: [
          { anchor: 'function main() {', oldLines: ['const x = 1;', 'const y = 2;'], newLines: ['const x = 1;', 'const y = 3;'], endOfFile: false },
          { anchor: undefined, oldLines: ['last'], newLines: ['last', 'appended'], endOfFile: true },
        ],
      },
    ]);
  });

  it('accepts a first hunk without @@, CRLF line ends and a heredoc wrapper', () => {
    const text = "apply_patch <<'EOF'\r\n*** Begin Patch\r\n*** Update File: a.txt\r\n-one\r\n+two\r\n*** End Patch\r\nEOF\r\n";
    const result = parsePatch(text);
    assert.ok(result.ok, !result.ok ? result.error : '');
    assert.deepEqual(result.ops[0], { kind: 'update', path: 'a.txt', moveTo: undefined, chunks: [{ oldLines: ['one'], newLines: ['two'], endOfFile: false }] });
  });

  it('treats an empty line inside a hunk as an empty context line', () => {
    const result = parsePatch('*** Begin Patch\n*** Update File: a\n a\n\n-b\n*** End Patch');
    assert.ok(result.ok);
    const op = result.ops[0]!;
    assert.equal(op.kind, 'update');
    if (op.kind === 'update') assert.deepEqual(op.chunks[0]!.oldLines, ['a', '', 'b']);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['no begin marker', '*** Update File: a\n-x\n*** End Patch', /must start with '\*\*\* Begin Patch'/],
    ['no end marker', '*** Begin Patch\n*** Update File: a\n-x', /must end with '\*\*\* End Patch'/],
    ['an unknown header', '*** Begin Patch\n*** Modify File: a\n*** End Patch', /line 2: expected '\*\*\* Add File: '/],
    ['an added line without +', '*** Begin Patch\n*** Add File: a\nhello\n*** End Patch', /line 3: every line of an added file must start with '\+'/],
    ['a hunk line without prefix', '*** Begin Patch\n*** Update File: a\n@@\nfoo\n*** End Patch', /line 4: unexpected line in the hunk for a/],
    ['an update without hunks', '*** Begin Patch\n*** Update File: a\n*** End Patch', /has no hunks/],
    ['an empty patch', '*** Begin Patch\n*** End Patch', /no file operations/],
    ['a missing path', '*** Begin Patch\n*** Delete File: \n*** End Patch', /missing path/],
  ];
  for (const [name, text, expected] of bad) {
    it(`rejects ${name} with a clear message`, () => {
      const result = parsePatch(text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, expected);
    });
  }
});
