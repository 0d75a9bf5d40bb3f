// Tool calls read as what they do: the files a patch touches, the command, the path read.
import * as assert from 'node:assert/strict';
import { patchFiles, toolLabel } from '../../../src/model/toolLabel';

const patch = [
  '*** Begin Patch',
  '*** Update File: src/a.ts',
  '@@',
  '-old',
  '+new',
  '*** Add File: src/b.ts',
  '+export const b = 1;',
  '*** End Patch',
].join('\n');

describe('extension: tool call labels', () => {
  it('names the files an apply_patch edits, adds, deletes and moves, in order', () => {
    assert.equal(toolLabel('apply_patch', { patch }), 'Edit src/a.ts, add src/b.ts');
    const more = '*** Begin Patch\n*** Delete File: old.txt\n*** Update File: x.js\n*** Move to: y.js\n@@\n-a\n+b\n*** End Patch';
    assert.equal(toolLabel('apply_patch', { patch: more }), 'Delete old.txt, move x.js → y.js');
  });

  it('caps a long patch at a few files and says how many more', () => {
    const files = ['a', 'b', 'c', 'd', 'e', 'f'].map((f) => `*** Add File: ${f}.txt\n+x`).join('\n');
    assert.equal(toolLabel('apply_patch', { patch: `*** Begin Patch\n${files}\n*** End Patch` }), 'Add a.txt, add b.txt, add c.txt, add d.txt, 2 more files');
  });

  it('reads a patch whose arguments arrived as a raw string (unparsable JSON)', () => {
    assert.equal(toolLabel('apply_patch', patch), 'Edit src/a.ts, add src/b.ts');
    assert.deepEqual(patchFiles('no patch here'), []);
    assert.equal(toolLabel('apply_patch', { patch: 'garbage' }), 'Patch');
  });

  it('shows a shell call as its command, with the directory when not the root', () => {
    assert.equal(toolLabel('shell', { command: 'npm test' }), 'npm test');
    assert.equal(toolLabel('shell', { command: 'make', workdir: 'server' }), 'make (in server)');
    assert.equal(toolLabel('shell', { command: 'set -e\nnpm ci\nnpm test' }), 'set -e …');
    assert.equal(toolLabel('shell', { command: ['git', 'status'] }), 'git status');
  });

  it('shows a read as the path and the line range', () => {
    assert.equal(toolLabel('read_file', { path: 'src/a.ts' }), 'Read src/a.ts');
    assert.equal(toolLabel('read_file', { path: 'src/a.ts', start_line: 10, end_line: 20 }), 'Read src/a.ts:10-20');
    assert.equal(toolLabel('read_file', { path: 'src/a.ts', start_line: 10 }), 'Read src/a.ts:10-');
  });

  it('labels the other tools and falls back to compact JSON for unknown ones', () => {
    assert.equal(toolLabel('search', { pattern: 'TODO', path: 'src' }), 'Search "TODO" in src');
    assert.equal(toolLabel('list_files', { path: 'src', recursive: false }), 'List src');
    assert.equal(toolLabel('ask_user', { question: 'Which port?' }), 'Ask: Which port?');
    assert.equal(toolLabel('finish', { summary: 'Done.\nDetails.' }), 'Finish');
    assert.equal(toolLabel('mystery', { a: 1 }), 'mystery {"a":1}');
    assert.equal(toolLabel('mystery', {}), 'mystery');
    const long = toolLabel('mystery', { text: 'x'.repeat(500) });
    assert.ok(long.length <= 160 && long.endsWith('…'), long);
  });
});
