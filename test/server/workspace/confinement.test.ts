// The agent's file tools stay inside the workspace: `..`, absolute paths and symlinks that lead
// out are refused with errors a model can act on; links that stay inside work.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { WorkspacePathError, type Workspace } from '../../../server/src/workspace';
import { makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, SANDBOX_UID, type Fixture } from './fixture';

function refused(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof WorkspacePathError, `expected WorkspacePathError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

for (const mode of MODES) {
  describe(`workspace (${mode}): confined file access`, () => {
    let fx: Fixture;
    let ws: Workspace;
    const passwd = readFileSync('/etc/passwd');

    before(async () => {
      fx = makeFixture('confine');
      const repo = join(fx.root, 'repo');
      makeRepo(repo, { 'src/a.txt': 'inside\n', 'src/b.ts': 'const needle = 1;\n', 'docs/readme.md': 'needle in docs\n', '.gitignore': 'dist/\n' });
      ws = await fx.prepare({ key: 'confine', repo: { kind: 'local', path: repo }, mode });
      // What an agent could leave behind from the shell.
      symlinkSync('/etc/passwd', join(ws.dir, 'passwd-link'));
      symlinkSync('/etc', join(ws.dir, 'etc-link'));
      symlinkSync('../../..', join(ws.dir, 'src', 'up'));
      symlinkSync('src/a.txt', join(ws.dir, 'inner-link'));
      symlinkSync('/workspace/src', join(ws.dir, 'abs-inner'));
      symlinkSync('loop2', join(ws.dir, 'loop1'));
      symlinkSync('loop1', join(ws.dir, 'loop2'));
      mkdirSync(join(ws.dir, 'dist'));
      execFileSync('sh', ['-c', `echo built > ${join(ws.dir, 'dist', 'out.js')}`]);
      execFileSync('mkfifo', [join(ws.dir, 'pipe')]);
    });
    after(() => fx.cleanup());

    it('refuses .., absolute paths and NUL bytes', async () => {
      await assert.rejects(ws.files.readFile('../state.json'), refused(/'\.\.' is not allowed/));
      await assert.rejects(ws.files.readFile('src/../../state.json'), refused(/'\.\.' is not allowed/));
      await assert.rejects(ws.files.readFile('/etc/passwd'), refused(/absolute paths are not allowed/));
      await assert.rejects(ws.files.writeFile('/tmp/x', 'x'), refused(/absolute/));
      await assert.rejects(ws.files.readFile('src/a.txt\0'), refused(/NUL/));
      await assert.rejects(ws.files.exists('../git'), refused(/'\.\.'/));
    });

    it('refuses symlinks that lead outside, for reading and writing', async () => {
      await assert.rejects(ws.files.readFile('passwd-link'), refused(/outside the workspace/));
      await assert.rejects(ws.files.writeFile('passwd-link', 'root::0:0::/:/bin/sh\n'), refused(/outside the workspace/));
      await assert.rejects(ws.files.readFile('etc-link/passwd'), refused(/outside the workspace/));
      await assert.rejects(ws.files.writeFile('etc-link/delegate-escape', 'x'), refused(/outside the workspace/));
      await assert.rejects(ws.files.readFile('src/up/etc/passwd'), refused(/outside the workspace/));
      await assert.rejects(ws.files.list({ dir: 'etc-link' }), refused(/outside the workspace/));
      await assert.rejects(ws.files.readFile('loop1'), refused(/too many levels/));
      assert.deepEqual(readFileSync('/etc/passwd'), passwd);
      assert.equal(existsSync('/etc/delegate-escape'), false);
      // Deleting the link removes the link, never its target.
      await ws.files.deleteFile('passwd-link');
      assert.equal(existsSync(join(ws.dir, 'passwd-link')), false);
      assert.deepEqual(readFileSync('/etc/passwd'), passwd);
      symlinkSync('/etc/passwd', join(ws.dir, 'passwd-link'));
    });

    it('follows symlinks that stay inside', async () => {
      assert.equal((await ws.files.readFile('inner-link')).toString(), 'inside\n');
      assert.equal((await ws.files.readFile('abs-inner/a.txt')).toString(), 'inside\n');
      await ws.files.writeFile('inner-link', 'rewritten\n');
      assert.equal(readFileSync(join(ws.dir, 'src/a.txt'), 'utf8'), 'rewritten\n');
      assert.ok(lstatSync(join(ws.dir, 'inner-link')).isSymbolicLink());
      assert.equal((await ws.readVersion('head', 'inner-link'))?.toString(), 'src/a.txt', 'head of a link is its target, as git shows it');
      await ws.files.writeFile('src/a.txt', 'inside\n');
    });

    it('keeps .git off limits and creates files as the sandbox user', async () => {
      await assert.rejects(ws.files.writeFile('.git/config', '[core]\n\tfsmonitor = touch /tmp/pwned\n'), refused(/\.git is managed by Delegate/));
      await assert.rejects(ws.files.writeFile('sub/.git/hooks/pre-commit', 'x'), refused(/\.git/));
      await assert.rejects(ws.files.readFile('.git/HEAD'), refused(/\.git/));
      await ws.files.writeFile('made/by/agent.txt', 'hi\n');
      for (const p of ['made', 'made/by', 'made/by/agent.txt']) assert.equal(statSync(join(ws.dir, p)).uid, SANDBOX_UID, p);
      assert.equal(await ws.files.exists('made/by/agent.txt'), true);
      assert.equal(await ws.files.exists('made/nothing'), false);
      assert.equal(await ws.files.exists('nothing/at/all'), false);
      await ws.files.deleteFile('made/by/agent.txt');
      assert.equal(await ws.files.exists('made/by/agent.txt'), false);
    });

    it('refuses special files without blocking and directories with a hint', async () => {
      await assert.rejects(ws.files.readFile('pipe'), refused(/not a regular file/));
      await assert.rejects(ws.files.writeFile('pipe', 'x'), refused(/not a regular file/));
      await assert.rejects(ws.files.readFile('src'), refused(/is a directory/));
      await assert.rejects(ws.files.readFile('missing.txt'), refused(/no such file/));
    });

    it('lists files as git sees them: ignored and deleted ones left out', async () => {
      await ws.files.deleteFile('docs/readme.md');
      const all = await ws.files.list();
      assert.ok(all.entries.includes('src/a.txt'));
      assert.ok(all.entries.includes('inner-link'));
      assert.ok(!all.entries.includes('docs/readme.md'), 'deleted');
      assert.ok(!all.entries.some((e) => e.startsWith('dist/')), 'ignored');
      assert.ok(!all.entries.some((e) => e === '.git' || e.startsWith('.git/')));
      assert.equal(all.truncated, false);
      assert.deepEqual((await ws.files.list({ dir: 'src' })).entries, ['src/a.txt', 'src/b.ts', 'src/up']);
      const top = await ws.files.list({ recursive: false });
      assert.ok(top.entries.includes('src/') && top.entries.includes('.gitignore'));
      const capped = await ws.files.list({ limit: 2 });
      assert.equal(capped.entries.length, 2);
      assert.equal(capped.truncated, true);
      await ws.files.writeFile('docs/readme.md', 'needle in docs\n');
    });

    it('searches tracked and untracked files, never through links that leave', async () => {
      await ws.files.writeFile('notes/untracked.md', 'a needle here too\n');
      const found = await ws.files.search('needle');
      assert.deepEqual(found.matches.map((m) => `${m.path}:${m.line}`).sort(), ['docs/readme.md:1', 'notes/untracked.md:1', 'src/b.ts:1']);
      assert.equal(found.truncated, false);
      assert.deepEqual((await ws.files.search('needle', { path: 'src' })).matches.map((m) => m.text), ['const needle = 1;']);
      assert.equal((await ws.files.search('NEEDLE', { ignoreCase: true, fixed: true })).matches.length, 3);
      assert.deepEqual((await ws.files.search('root:', { fixed: true })).matches, [], '/etc/passwd is not searched');
      const one = await ws.files.search('needle', { maxResults: 1 });
      assert.equal(one.matches.length, 1);
      assert.equal(one.truncated, true);
      await assert.rejects(ws.files.search('(unclosed'), refused(/search failed/));
      await ws.files.deleteFile('notes/untracked.md');
    });
  });
}
