// Parsers for what git and the kernel print: diff --raw --numstat -z, grep -z, ls-files -t, mountinfo.
import assert from 'node:assert/strict';
import { directChildren, parseChanges, parseGrep, parseLsFiles, parseMountInfo } from '../../../server/src/workspace/parse';

describe('workspace git output parsers', () => {
  it('parses changed files with renames, binaries and odd names', () => {
    const raw = [
      ':100644 100644 7898192 7898192 R100', 'old name.txt', 'new\tname.txt',
      ':000000 100644 0000000 d7070d8 A', 'bin',
      ':100644 000000 3e75765 0000000 D', 'gone',
      ':100644 100644 3e75765 3e75766 M', 'dir/ü.ts',
      ':100644 120000 3e75765 3e75766 T', 'link',
    ];
    const numstat = ['0\t0\t', 'old name.txt', 'new\tname.txt', '-\t-\tbin', '0\t3\tgone', '2\t1\tdir/ü.ts', '1\t1\tlink'];
    const out = [...raw, ...numstat, ''].join('\0');
    assert.deepEqual(parseChanges(out), [
      { path: 'new\tname.txt', status: 'renamed', oldPath: 'old name.txt', additions: 0, deletions: 0 },
      { path: 'bin', status: 'added', additions: 0, deletions: 0, binary: true },
      { path: 'gone', status: 'deleted', additions: 0, deletions: 3 },
      { path: 'dir/ü.ts', status: 'modified', additions: 2, deletions: 1 },
      { path: 'link', status: 'modified', additions: 1, deletions: 1 },
    ]);
    assert.deepEqual(parseChanges(''), []);
  });

  it('parses grep matches and caps them', () => {
    const out = 'a.ts\u00001\u0000const x = 1;\nb/c.ts\u000012\u0000  x();\n';
    assert.deepEqual(parseGrep(out, 10), {
      matches: [
        { path: 'a.ts', line: 1, text: 'const x = 1;' },
        { path: 'b/c.ts', line: 12, text: '  x();' },
      ],
      truncated: false,
    });
    assert.equal(parseGrep(out, 1).truncated, true);
    assert.equal(parseGrep(`f\u00001\u0000${'y'.repeat(1000)}\n`, 5, 10).matches[0]!.text, 'yyyyyyyyyy…');
  });

  it('lists existing files from ls-files -t', () => {
    const out = ['H a', 'H gone', 'R gone', '? new file', 'H dir/x', ''].join('\0');
    assert.deepEqual(parseLsFiles(out), ['a', 'dir/x', 'new file']);
    assert.deepEqual(directChildren(['a', 'dir/x', 'dir/y/z', 'e/f'], ''), ['a', 'dir/', 'e/']);
    assert.deepEqual(directChildren(['a', 'dir/x', 'dir/y/z'], 'dir'), ['dir/x', 'dir/y/']);
  });

  it('reads mount points and types from mountinfo, escapes decoded', () => {
    const text = [
      '26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
      '42 26 0:39 / /data/tasks/t\\0401/scratch rw,relatime - tmpfs tmpfs rw,size=1024k',
      '45 26 0:40 / /data/tasks/t\\0401/view rw,relatime - overlay overlay rw,lowerdir=/b',
      '',
    ].join('\n');
    assert.deepEqual(parseMountInfo(text), [
      { mountPoint: '/', fsType: 'ext4' },
      { mountPoint: '/data/tasks/t 1/scratch', fsType: 'tmpfs' },
      { mountPoint: '/data/tasks/t 1/view', fsType: 'overlay' },
    ]);
  });
});
