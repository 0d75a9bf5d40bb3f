// A watched repository that nothing touched since the last scan is not scanned again; anything
// that would change what a scan finds makes the next task scan it. Real git, real inotify.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RepoWatches } from '../../../server/src/workspace';
import { dirsOf } from '../../../server/src/workspace/repoWatch';
import type { Workspace } from '../../../server/src/workspace/types';
import { commitAll, git, makeRepo } from '../../support/gitRepo';
import { makeFixture, type Fixture } from './fixture';

describe('workspace: watched repositories', function () {
  this.timeout(60_000);
  let fx: Fixture;
  let repo: string;
  let watches: RepoWatches;
  let n = 0;

  // The rescan after a change waits 20× the last scan's time for quiet: on a slow machine (scans of
  // ~2 s were seen) that is past this test's patience, which is not what it tests.
  beforeEach(() => setUp({ maxQuietMs: 1000 }));
  function setUp(quiet: { maxQuietMs: number; minQuietMs?: number }): void {
    watches = new RepoWatches({ firstScanDelayMs: 0, ...quiet });
    fx = makeFixture('watch', { watches });
    repo = join(fx.root, 'repo');
    makeRepo(repo, { 'a.txt': 'one\n', 'src/b.ts': 'b\n', '.gitignore': '*.log\n' });
    writeFileSync(join(repo, 'a.txt'), 'one\nedited\n');
    writeFileSync(join(repo, 'debug.log'), 'ignored\n');
  }
  afterEach(async () => {
    await watches.close();
    await fx.cleanup();
  });

  const prepare = (): Promise<Workspace> => fx.prepare({ key: `t${++n}`, repo: { kind: 'local', path: repo } });
  const read = (ws: Workspace, path: string): string | null => (existsSync(join(ws.dir, path)) ? readFileSync(join(ws.dir, path), 'utf8') : null);

  /** Until the background scan has a result to offer. */
  async function kept(): Promise<void> {
    for (const deadline = Date.now() + 15_000; !watches.offers(repo); ) {
      if (Date.now() > deadline) throw new Error(`no scan was kept: ${JSON.stringify(watches.stats())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a task on an untouched repository uses the kept scan, with the same result', async () => {
    const first = await prepare();
    assert.equal(read(first, 'a.txt'), 'one\nedited\n');
    await kept();
    const hits = watches.stats().hits;
    const second = await prepare();
    assert.equal(watches.stats().hits, hits + 1, 'the kept scan was not used');
    assert.equal(read(second, 'a.txt'), 'one\nedited\n');
    assert.equal(read(second, 'debug.log'), null, 'ignored files stay out');
    assert.deepEqual(await second.changedFiles(), [], 'the uncommitted change is part of the base');
    assert.ok(watches.stats().watchedDirs >= 2, 'the top and src/ are watched');
  });

  const changes: Array<{ what: string; before?: () => void; change: () => void; check: (ws: Workspace) => void }> = [
    {
      what: 'an edit to a tracked file',
      change: () => appendFileSync(join(repo, 'src/b.ts'), 'more\n'),
      check: (ws) => assert.equal(read(ws, 'src/b.ts'), 'b\nmore\n'),
    },
    {
      what: 'a new file in a new directory',
      change: () => {
        mkdirSync(join(repo, 'new/deep'), { recursive: true });
        writeFileSync(join(repo, 'new/deep/c.txt'), 'c\n');
      },
      check: (ws) => assert.equal(read(ws, 'new/deep/c.txt'), 'c\n'),
    },
    {
      what: 'a deleted file',
      change: () => unlinkSync(join(repo, 'src/b.ts')),
      check: (ws) => assert.equal(read(ws, 'src/b.ts'), null),
    },
    {
      what: 'a .gitignore that stops ignoring a file',
      change: () => writeFileSync(join(repo, '.gitignore'), '# nothing\n'),
      check: (ws) => assert.equal(read(ws, 'debug.log'), 'ignored\n'),
    },
    {
      what: 'a change to info/exclude (inside .git: not watched, part of the stamp)',
      before: () => {
        writeFileSync(join(repo, 'notes.txt'), 'mine\n');
        writeFileSync(join(repo, '.git/info/exclude'), 'notes.txt\n');
      },
      change: () => writeFileSync(join(repo, '.git/info/exclude'), '# nothing\n'),
      check: (ws) => assert.equal(read(ws, 'notes.txt'), 'mine\n'),
    },
    {
      what: 'a staged edit (the index, not the work tree)',
      change: () => {
        git(repo, 'add', 'a.txt');
        writeFileSync(join(repo, 'a.txt'), 'one\n');
      },
      check: (ws) => assert.equal(read(ws, 'a.txt'), 'one\n'),
    },
    {
      what: 'a commit (HEAD moves)',
      change: () => {
        writeFileSync(join(repo, 'src/b.ts'), 'committed\n');
        commitAll(repo, 'next');
      },
      check: (ws) => {
        assert.equal(ws.repo.commit, git(repo, 'rev-parse', 'HEAD'));
        assert.equal(read(ws, 'src/b.ts'), 'committed\n');
        assert.equal(read(ws, 'a.txt'), 'one\nedited\n');
      },
    },
  ];
  for (const { what, before, change, check } of changes) {
    it(`the next task scans again after ${what}`, async () => {
      before?.();
      await prepare();
      await kept();
      change();
      const ws = await prepare();
      check(ws);
    });
  }

  it('rescans in the background after a change, and the task after that uses it', async () => {
    await prepare();
    await kept();
    writeFileSync(join(repo, 'src/b.ts'), 'changed\n');
    const scans = watches.stats().scans;
    for (const deadline = Date.now() + 15_000; watches.stats().scans === scans || !watches.offers(repo); ) {
      if (Date.now() > deadline) throw new Error('no new background scan');
      await new Promise((r) => setTimeout(r, 20));
    }
    const hits = watches.stats().hits;
    const ws = await prepare();
    assert.equal(watches.stats().hits, hits + 1);
    assert.equal(read(ws, 'src/b.ts'), 'changed\n');
  });

  it('keeps a task\'s own scan after a commit for the next task, with no background scan', async () => {
    // No background rescan within this test: what the next task finds is the previous task's scan.
    await watches.close();
    await fx.cleanup();
    setUp({ minQuietMs: 600_000, maxQuietMs: 600_000 });
    await prepare();
    await kept();
    writeFileSync(join(repo, 'src/b.ts'), 'committed\n');
    commitAll(repo, 'next');
    writeFileSync(join(repo, 'a.txt'), 'after the commit\n');
    const { scans, hits, adopted } = watches.stats();
    const first = await prepare();
    assert.equal(watches.stats().hits, hits, 'the scan from before the commit was not offered');
    assert.equal(read(first, 'a.txt'), 'after the commit\n');
    for (const deadline = Date.now() + 15_000; !watches.offers(repo); ) {
      if (Date.now() > deadline) throw new Error(`the task's scan was not kept: ${JSON.stringify(watches.stats())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(watches.stats().adopted, adopted + 1);
    const second = await prepare();
    assert.equal(watches.stats().hits, hits + 1, 'the next task used the kept scan');
    assert.equal(watches.stats().scans, scans, 'no background scan ran');
    assert.equal(second.repo.commit, git(repo, 'rev-parse', 'HEAD'));
    assert.equal(read(second, 'a.txt'), 'after the commit\n');
    assert.equal(read(second, 'src/b.ts'), 'committed\n');
    // And a change after it is seen as before.
    writeFileSync(join(repo, 'a.txt'), 'and again\n');
    const third = await prepare();
    assert.equal(read(third, 'a.txt'), 'and again\n');
  });

  it('dirsOf: the directories of the paths and all their ancestors', () => {
    assert.deepEqual([...dirsOf(['a', 'x/y/z.txt', 'x/w.txt'])].sort(), ['', 'x', 'x/y']);
  });
});
