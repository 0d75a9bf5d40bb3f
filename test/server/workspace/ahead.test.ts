// A local repository a task used is watched for new commits (ahead.ts): a new HEAD is copied into
// the mirror and gets its base before any task asks, the task then mounts that base as it is, and
// the base it replaced as the last one goes when nothing needs it. Switched off, nothing happens
// between tasks.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_LAYERS } from '../../../server/src/workspace/bases';
import { commitAll, git, makeRepo } from '../../support/gitRepo';
import { makeFixture, type Fixture } from './fixture';

function basesOf(fx: Fixture): string[] {
  return readdirSync(join(fx.dataDir, 'bases')).filter((n) => /^[0-9a-f]{40}$/.test(n)).sort();
}

/** Waits (≤ 20 s) until `check` holds. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (const end = Date.now() + 20_000; !check(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('workspace: new commits prepared ahead of their first task', function () {
  let fx: Fixture;
  let repo: string;
  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // bases are for overlay views, which need root
  });
  function setUp(prepareAhead: boolean): void {
    fx = makeFixture('ahead', { prepareAhead, flattenBases: false });
    repo = join(fx.root, 'repo');
    makeRepo(repo, { 'a.txt': 'a\n', 'src/b.txt': 'b\n' });
  }
  afterEach(() => fx.cleanup());

  const based = (commit: string) => existsSync(join(fx.dataDir, 'bases', `${commit}.index`)) && existsSync(join(fx.dataDir, 'bases', commit));

  it('copies a new commit and builds its base before a task asks; the task mounts that base as it is', async () => {
    setUp(true);
    const first = await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    writeFileSync(join(repo, 'a.txt'), 'a, second\n');
    const second = commitAll(repo, 'second');
    await until('the base of the new commit', () => based(second));
    await fx.manager.idle();
    const mirror = readdirSync(join(fx.dataDir, 'repos')).find((n) => n.endsWith('.git'))!;
    assert.ok(existsSync(join(fx.dataDir, 'repos', mirror, 'refs', 'pins', second)), 'the commit is in the mirror');
    const built = statSync(join(fx.dataDir, 'bases', second)).ino;
    const layers = readFileSync(join(fx.dataDir, 'bases', `${second}.layers`), 'utf8').trim().split('\n');
    assert.deepEqual(layers, [second, git(repo, 'rev-parse', 'HEAD~1')], 'one layer on the last base');

    assert.ok(fx.logs.includes('info new commit prepared ahead of its task'), fx.logs.join('\n'));
    const ws = await fx.prepare({ key: 'second', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    assert.equal(statSync(join(fx.dataDir, 'bases', second)).ino, built, 'the task mounted the base built ahead');
    assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'a, second\n');
    assert.deepEqual(await ws.changedFiles(), []);
    // The first task still mounts its own base: the one replaced as the last base stays for it.
    assert.equal(readFileSync(join(first.dir, 'a.txt'), 'utf8'), 'a\n');
    assert.ok(based(git(repo, 'rev-parse', 'HEAD~1')));
  });

  it('prepares the newest commit when HEAD moves on while it works, and a checkout of another branch too', async () => {
    setUp(true);
    await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    let last = '';
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(repo, `n${i}.txt`), `${i}\n`);
      last = commitAll(repo, `commit ${i}`);
      await new Promise((r) => setTimeout(r, 60 * i)); // some inside the quiet time, some after
    }
    await until('the base of the newest commit', () => based(last));
    git(repo, 'checkout', '-q', '-b', 'other', 'HEAD~2');
    writeFileSync(join(repo, 'other.txt'), 'other\n');
    const other = commitAll(repo, 'on another branch');
    await until('the base of the other branch', () => based(other));
    await fx.manager.idle();
    const ws = await fx.prepare({ key: 'other', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    assert.ok(existsSync(join(ws.dir, 'other.txt')) && existsSync(join(ws.dir, 'n1.txt')) && !existsSync(join(ws.dir, 'n2.txt')));
  });

  it(`removes the bases it built when a new stack replaces them and no task needs them (${MAX_LAYERS + 1} commits)`, async () => {
    setUp(true);
    const start = git(repo, 'rev-parse', 'HEAD');
    await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    const commits: string[] = [];
    for (let i = 0; i < MAX_LAYERS; i++) {
      writeFileSync(join(repo, 'a.txt'), `a ${i}\n`);
      commits.push(commitAll(repo, `commit ${i}`));
      await until(`the base of commit ${i}`, () => based(commits[i]!));
    }
    await fx.manager.idle();
    // The last commit's base is a whole checkout (the stack was full): the stack it replaced goes,
    // but for the base the first task mounts.
    assert.deepEqual(basesOf(fx), [start, commits.at(-1)!].sort());
    assert.equal(existsSync(join(fx.dataDir, 'bases', `${commits.at(-1)!}.layers`)), false);
  });

  it('leaves a commit to the task that prepares it (a commit and a task back to back)', async () => {
    setUp(true);
    await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    writeFileSync(join(repo, 'a.txt'), 'a, second\n');
    const second = commitAll(repo, 'second');
    const ws = await fx.prepare({ key: 'second', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    await new Promise((r) => setTimeout(r, 1000)); // past the quiet time: the layer looked
    await fx.manager.idle();
    assert.ok(based(second) && readFileSync(join(ws.dir, 'a.txt'), 'utf8') === 'a, second\n');
    assert.deepEqual(fx.logs.filter((l) => l.includes('prepared ahead')), [], 'nothing was done ahead');
  });

  it('does nothing between tasks when switched off', async () => {
    setUp(false);
    await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    writeFileSync(join(repo, 'a.txt'), 'a, second\n');
    const second = commitAll(repo, 'second');
    await new Promise((r) => setTimeout(r, 1500)); // ten times the quiet time the layer waits for
    await fx.manager.idle();
    assert.equal(based(second), false);
    const mirror = readdirSync(join(fx.dataDir, 'repos')).find((n) => n.endsWith('.git'))!;
    assert.equal(existsSync(join(fx.dataDir, 'repos', mirror, 'refs', 'pins', second)), false);
  });
});
