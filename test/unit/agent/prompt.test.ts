import assert from 'node:assert/strict';
import { buildSystemPrompt, buildTaskMessage } from '../../../server/src/agent/prompt';

describe('agent prompt building', () => {
  it('tells the model how to work and how to write patches', () => {
    const prompt = buildSystemPrompt();
    for (const expected of [/read the files you will change/i, /run the relevant tests/i, /call finish/i, /\*\*\* Begin Patch/, /conventions/i]) {
      assert.match(prompt, expected);
    }
  });

  it('says whether commands have the network, as the task chose', () => {
    assert.match(buildSystemPrompt(), /Commands have no network access/);
    assert.match(buildSystemPrompt([], { network: false }), /Commands have no network access/);
    const on = buildSystemPrompt([{ path: 'AGENTS.md', text: 'x' }], { network: true });
    assert.match(on, /Commands may use the network/);
    assert.doesNotMatch(on, /no network access|\{\{NETWORK\}\}/);
  });

  it('includes AGENTS.md files in order, the nearest last, and says the nearest wins', () => {
    const prompt = buildSystemPrompt([
      { path: 'AGENTS.md', text: 'Use tabs.' },
      { path: 'pkg/AGENTS.md', text: 'Use spaces.' },
    ]);
    const root = prompt.indexOf('<instructions path="AGENTS.md">\nUse tabs.');
    const nearest = prompt.indexOf('<instructions path="pkg/AGENTS.md">\nUse spaces.');
    assert.ok(root > 0 && nearest > root);
    assert.match(prompt, /nearer to the code you are changing .* wins/);
  });

  it('puts the selection with its path, lines and a fence that its text cannot close', () => {
    const text = 'const s = `a`;\n```\nnot a fence end';
    const message = buildTaskMessage('  Fix the bug  ', { path: 'src/a.ts', startLine: 3, endLine: 5, text });
    assert.ok(message.startsWith('Task:\nFix the bug\n\n'));
    assert.ok(message.includes(`in src/a.ts (lines 3-5):\n\`\`\`\`ts\n${text}\n\`\`\`\``));
    assert.equal(buildTaskMessage('Just this'), 'Task:\nJust this');
  });
});
