// Work survives a server kill -9 (new manager, view still mounted), a reboot (view and tmpfs gone:
// rebuilt from the last snapshot) and close() (answers from the snapshot, reopens on demand).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo } from '../../support/gitRepo';
import { makeFixture, mountsUnder, MODES, type Fixture } from './fixture';

for (const mode of MODES) {
  describe(`workspace (${mode}): snapshots and restarts`, () => {
    let fx: Fixture;
    let repo: string;

    beforeEach(() => {
      fx = makeFixture('restart');
      repo = join(fx.root, 'repo');
      makeRepo(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n', 'dir/c.txt': 'c\n' });
      writeFileSync(join(repo, 'uncommitted.txt'), 'mine\n');
    });
    afterEach(() => fx.cleanup());

    async function doWork(key: string) {
      const ws = await fx.prepare({ key, repo: { kind: 'local', path: repo }, mode });
      await ws.files.writeFile('a.txt', 'agent\n');
      await ws.files.deleteFile('dir/c.txt');
      await ws.files.writeFile('new/file.txt', 'new\n');
      const first = await ws.snapshot('turn 1');
      assert.equal(await ws.snapshot('nothing new'), first, 'no empty snapshot commits');
      await ws.files.writeFile('b.txt', 'agent b\n');
      const second = await ws.snapshot('turn 2');
      assert.notEqual(second, first);
      const gitDir = `--git-dir=${ws.gitDir}`;
      assert.equal(execFileSync('git', [gitDir, 'rev-parse', `refs/delegate/${key}`], { encoding: 'utf8' }).trim(), second);
      assert.equal(execFileSync('git', [gitDir, 'rev-parse', `${second}^`], { encoding: 'utf8' }).trim(), first);
      assert.equal(execFileSync('git', [gitDir, 'rev-parse', `${first}^`], { encoding: 'utf8' }).trim(), ws.baseRef);
      return { ws, changed: await ws.changedFiles() };
    }

    it('refuses to move a snapshot ref someone else moved, then starts over from it', async () => {
      const { ws } = await doWork(`moved-${mode}`);
      const gitDir = `--git-dir=${ws.gitDir}`;
      // Someone else points the ref back at the base.
      execFileSync('git', [gitDir, 'update-ref', `refs/delegate/moved-${mode}`, ws.baseRef]);
      await ws.files.writeFile('b.txt', 'agent b again\n');
      await assert.rejects(ws.snapshot('turn 3'), /snapshot ref moved underneath/);
      const third = await ws.snapshot('turn 3, again');
      assert.equal(execFileSync('git', [gitDir, 'rev-parse', `${third}^`], { encoding: 'utf8' }).trim(), ws.baseRef, 'built on what the ref now says');
      assert.equal(execFileSync('git', [gitDir, 'show', `${third}:b.txt`], { encoding: 'utf8' }), 'agent b again\n');
    });

    it('finds the workspace again after a restart, view still in place', async () => {
      const { ws, changed } = await doWork('kill9');
      writeFileSync(join(ws.dir, 'after-snapshot.txt'), 'unsaved\n');
      const again = await fx.restart().open('kill9');
      assert.ok(again);
      assert.equal(again.dir, ws.dir);
      assert.equal(again.mode, mode);
      assert.equal(again.baseRef, ws.baseRef);
      assert.deepEqual(again.repo, ws.repo);
      assert.equal(readFileSync(join(again.dir, 'after-snapshot.txt'), 'utf8'), 'unsaved\n', 'the live view is reused');
      assert.deepEqual(
        (await again.changedFiles()).map((f) => f.path),
        [...changed.map((f) => f.path), 'after-snapshot.txt'].sort(),
      );
    });

    it('finds the work of a server that was killed with SIGKILL', async () => {
      // A real server process prepares and works, then dies without any cleanup.
      const script = `
        const { createWorkspaceManager } = require(${JSON.stringify(join(__dirname, '../../../server/src/workspace/index.ts'))});
        const { SpawnRunner } = require(${JSON.stringify(join(__dirname, '../../../server/src/util/processRunner.ts'))});
        (async () => {
          const m = createWorkspaceManager({ dataDir: ${JSON.stringify(fx.dataDir)}, sandboxUid: 1500, host: { runner: new SpawnRunner(), env: { PATH: process.env.PATH } } });
          const ws = await m.prepare({ key: 'killed', repo: { kind: 'local', path: ${JSON.stringify(repo)} }, mode: ${JSON.stringify(mode)} });
          await ws.files.writeFile('work.txt', 'precious\\n');
          await ws.snapshot('turn');
          process.stdout.write('ready\\n');
          setInterval(() => undefined, 1000);
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: join(__dirname, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
          child.on('exit', (code) => reject(new Error(`child exited with ${code}`)));
        });
      } finally {
        child.kill('SIGKILL');
      }
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      const ws = await fx.manager.open('killed');
      assert.ok(ws);
      assert.equal(readFileSync(join(ws.dir, 'work.txt'), 'utf8'), 'precious\n');
      assert.deepEqual((await ws.changedFiles()).map((f) => f.path), ['work.txt'], 'uncommitted changes are base, not work');
      await ws.destroy();
    });

    it('rebuilds the view from the last snapshot when it is gone', async () => {
      const { ws, changed } = await doWork('reboot');
      // A reboot: mounts gone (overlay) or the checkout lost (checkout mode: simulate by removal).
      if (mode === 'overlay') {
        for (const m of mountsUnder(fx.root).sort((a, b) => b.length - a.length)) execFileSync('umount', [m]);
      } else {
        execFileSync('rm', ['-rf', ws.dir]);
      }
      const again = await fx.restart().open('reboot');
      assert.ok(again);
      assert.equal(again.mode, mode);
      assert.equal(readFileSync(join(again.dir, 'a.txt'), 'utf8'), 'agent\n');
      assert.equal(readFileSync(join(again.dir, 'b.txt'), 'utf8'), 'agent b\n');
      assert.equal(readFileSync(join(again.dir, 'new/file.txt'), 'utf8'), 'new\n');
      assert.equal(readFileSync(join(again.dir, 'uncommitted.txt'), 'utf8'), 'mine\n');
      assert.equal(existsSync(join(again.dir, 'dir/c.txt')), false);
      assert.deepEqual(await again.changedFiles(), changed);
      await again.files.writeFile('more.txt', 'more\n');
      assert.ok((await again.changedFiles()).some((f) => f.path === 'more.txt'));
    });

    it('answers from the snapshot once closed and reopens on demand', async () => {
      const { ws, changed } = await doWork('closing');
      await ws.files.writeFile('last.txt', 'last words\n');
      await ws.close();
      if (mode === 'overlay') assert.deepEqual(mountsUnder(join(fx.dataDir, 'tasks', 'closing')), [], 'unmounted');
      const closedChanges = await ws.changedFiles();
      assert.deepEqual(closedChanges.map((f) => f.path), [...changed.map((f) => f.path), 'last.txt'].sort());
      assert.ok((await ws.diff(['last.txt'])).includes('+last words'));
      assert.equal((await ws.readVersion('head', 'last.txt'))?.toString(), 'last words\n');
      await assert.rejects(ws.files.readFile('a.txt'), /closed/);

      const again = await fx.manager.open('closing');
      assert.ok(again);
      assert.equal(readFileSync(join(again.dir, 'last.txt'), 'utf8'), 'last words\n');
      assert.deepEqual(await again.changedFiles(), closedChanges);
    });

    it('knows nothing of keys it never prepared and forgets destroyed ones', async () => {
      assert.equal(await fx.manager.open('never-prepared'), null);
      const { ws } = await doWork('doomed');
      await ws.destroy();
      assert.equal(existsSync(join(fx.dataDir, 'tasks', 'doomed')), false);
      assert.equal(await fx.restart().open('doomed'), null);
      assert.deepEqual(mountsUnder(fx.root), []);
      const bases = join(fx.dataDir, 'bases');
      assert.deepEqual(existsSync(bases) ? readdirSync(bases) : [], [], 'an unused base is removed');
    });
  });
}
