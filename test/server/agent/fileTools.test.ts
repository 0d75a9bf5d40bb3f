import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

const finish = { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] };

describe('agent file tools on the real workspace', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('reads with line numbers and ranges, lists and searches', async () => {
    fx.fake.setScript('read', [
      {
        toolCalls: [
          { name: 'read_file', arguments: { path: '/workspace/test.sh', start_line: 2, end_line: 2 } },
          { name: 'read_file', arguments: { path: 'nope.txt' } },
          { name: 'list_files', arguments: { path: 'lib', recursive: false } },
          { name: 'search', arguments: { pattern: 'greet\\(\\)', path: 'lib' } },
          { name: 'search', arguments: { pattern: 'Hi $1', fixed: true } },
        ],
      },
      finish,
    ]);
    const { host } = await fx.run('Go [[script:read]]');
    const out = host.ofType('tool.result').map((r) => r.output);
    assert.equal(out[0], '     2\t. ./lib/greet.sh\n[showing lines 2-2 of 3; call read_file with start_line=3 to continue]');
    assert.match(out[1]!, /nope\.txt/);
    assert.equal(host.ofType('tool.result')[1]!.ok, false);
    assert.match(out[2]!, /greet\.sh/);
    assert.equal(out[3], 'lib/greet.sh:1: greet() {');
    assert.equal(out[4], 'lib/greet.sh:2:   echo "Hi $1"');
  });

  it('explains a patch whose context is not in the file and changes nothing', async () => {
    fx.fake.setScript('badpatch', [
      {
        toolCalls: [
          {
            name: 'apply_patch',
            arguments: { patch: '*** Begin Patch\n*** Add File: new.txt\n+x\n*** Update File: lib/greet.sh\n greet() {\n-  echo "Bye $1"\n+  echo "Yo $1"\n*** End Patch' },
          },
        ],
      },
      finish,
    ]);
    const { host } = await fx.run('Go [[script:badpatch]]');
    const result = host.ofType('tool.result')[0]!;
    assert.equal(result.ok, false);
    assert.match(result.output, /^Context not found in lib\/greet\.sh near line 1:\n {2}greet\(\) \{\n {4}echo "Bye \$1"/);
    assert.equal(await fx.workspace.files.exists('new.txt'), false, 'all or nothing');
  });

  it('refuses paths outside the workspace with a clear message', async () => {
    fx.fake.setScript('escape', [
      {
        toolCalls: [
          { name: 'apply_patch', arguments: { patch: '*** Begin Patch\n*** Add File: ../../escape.txt\n+x\n*** End Patch' } },
          { name: 'read_file', arguments: { path: '/etc/passwd' } },
        ],
      },
      finish,
    ]);
    const { host } = await fx.run('Go [[script:escape]]');
    const results = host.ofType('tool.result');
    assert.deepEqual(results.slice(0, 2).map((r) => r.ok), [false, false]);
    assert.doesNotMatch(results[1]!.output, /root:x:0/);
    assert.ok(results[0]!.output.length > 0 && results[1]!.output.length > 0);
  });

  it('adds, moves and deletes files in one patch', async () => {
    fx.fake.setScript('multi', [
      {
        toolCalls: [
          {
            name: 'apply_patch',
            arguments: {
              patch:
                '*** Begin Patch\n*** Add File: docs/usage.md\n+# Usage\n+Run sh test.sh\n*** Update File: README.md\n*** Move to: docs/README.md\n@@\n-# greeter\n+# greeter tool\n*** End Patch',
            },
          },
        ],
      },
      finish,
    ]);
    const { host } = await fx.run('Go [[script:multi]]');
    const result = host.ofType('tool.result')[0]!;
    assert.equal(result.output, 'Success. Updated the following files:\nA docs/usage.md\nR README.md -> docs/README.md');
    assert.equal((await fx.workspace.files.readFile('docs/README.md')).toString(), '# greeter tool\n');
    assert.equal(await fx.workspace.files.exists('README.md'), false);
    const changed = host.diffs.at(-1)!.map((f) => f.path).sort();
    assert.ok(changed.includes('docs/usage.md'));
  });
});
