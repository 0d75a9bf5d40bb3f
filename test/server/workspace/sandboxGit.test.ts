// Inside a sandbox the trusted git dir is mounted read-only at /workspace/.git: git there sees the
// task's base and the agent's changes (the git dir is self-contained: no alternates to the mirror)
// and cannot write to it. Two tasks prepared at once share one base.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Workspace } from '../../../server/src/workspace';
import { makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, SANDBOX_UID, type Fixture } from './fixture';

function inSandbox(ws: Workspace, script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    'setpriv',
    [
      `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_UID}`, '--clear-groups', 'bwrap',
      '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
      '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
      '--bind', ws.dir, '/workspace', '--ro-bind', ws.gitDir, '/workspace/.git', '--chdir', '/workspace',
      '--unshare-all', '--die-with-parent', '--new-session',
      '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', '/tmp',
      // The sandbox user is not the git dir's owner.
      '--setenv', 'GIT_CONFIG_COUNT', '1', '--setenv', 'GIT_CONFIG_KEY_0', 'safe.directory', '--setenv', 'GIT_CONFIG_VALUE_0', '*',
      'sh', '-c', script,
    ],
    { encoding: 'utf8', env: {}, timeout: 30_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const mode of MODES) {
  describe(`workspace (${mode}): git inside the sandbox`, () => {
    let fx: Fixture;
    let repo: string;

    beforeEach(() => {
      fx = makeFixture('sandboxgit');
      repo = join(fx.root, 'repo');
      makeRepo(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n' });
    });
    afterEach(() => fx.cleanup());

    it('shows the base and the changes, read-only', async () => {
      const ws = await fx.prepare({ key: 'sbx', repo: { kind: 'local', path: repo }, mode });
      const edit = inSandbox(ws, 'echo changed > a.txt && echo new > c.txt && git status --porcelain && git log --format=%s -1 && git diff --stat HEAD');
      assert.equal(edit.status, 0, edit.stderr);
      assert.match(edit.stdout, /^ M a\.txt$/m);
      assert.match(edit.stdout, /^\?\? c\.txt$/m);
      assert.match(edit.stdout, /^initial$/m);
      assert.doesNotMatch(edit.stderr, /alternate|error/i);
      const write = inSandbox(ws, 'git add -A 2>&1; git commit -qm x 2>&1; exit 0');
      assert.match(write.stdout, /Read-only file system|Unable to create|unable to/i);
      assert.deepEqual(new Set((await ws.changedFiles()).map((f) => f.path)), new Set(['a.txt', 'c.txt']));
    });

    it('prepares two tasks at once on one shared base', async () => {
      const [one, two] = await Promise.all([
        fx.prepare({ key: 'par-1', repo: { kind: 'local', path: repo }, mode }),
        fx.prepare({ key: 'par-2', repo: { kind: 'local', path: repo }, mode }),
      ]);
      await one.files.writeFile('a.txt', 'one\n');
      assert.deepEqual(await two.changedFiles(), [], 'views are independent');
      assert.equal((await two.files.readFile('a.txt')).toString(), 'a\n');
      const basesDir = join(fx.dataDir, 'bases');
      const bases = existsSync(basesDir) ? readdirSync(basesDir).filter((n) => !n.startsWith('.')) : [];
      assert.deepEqual(bases.length, mode === 'overlay' ? 2 : 0, `one base dir + its index: ${bases.join(', ')}`);
    });
  });
}
