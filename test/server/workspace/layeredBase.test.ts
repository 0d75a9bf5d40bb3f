// A new commit's base is built on the repository's last one (bases.ts): only the files that differ
// are written, deletions are overlay whiteouts. The view must show exactly the new commit, git in
// it must find nothing to report, and the agent's edits on such a view are seen as on any other.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLATTEN_AT, MAX_CHANGED, MAX_LAYERS } from '../../../server/src/workspace/bases';
import { commitAll, makeRepo } from '../../support/gitRepo';
import { makeFixture, SANDBOX_UID, type Fixture } from './fixture';

/** Every path in the view with its type and content (symlinks: their target), sorted. */
function snapshotOf(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    if (path === '.git') continue;
    const full = join(dir, path);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out.push(`${path} -> ${readlinkSync(full)}`);
    else if (st.isDirectory()) out.push(`${path}/`, ...snapshotOf(dir, path));
    else out.push(`${path} ${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${readFileSync(full, 'utf8')}`);
  }
  return out;
}

/** Every path under `dir` (itself included), depth first. */
function entriesOf(dir: string): string[] {
  return [dir, ...readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? entriesOf(join(dir, e.name)) : [join(dir, e.name)]))];
}

/** The same listing of a commit, from a fresh checkout of it. */
function checkoutOf(repo: string, commit: string, dest: string): string[] {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', repo, commit, dest]);
  return snapshotOf(dest);
}

describe('workspace (overlay): bases built on the last one', function () {
  let fx: Fixture;
  let repo: string;
  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // overlay views need root
  });
  /** A fixture and repository; `flattenBases` as the test needs it, else as the run says (fixture.ts). */
  function setUp(options: { flattenBases?: boolean } = {}): void {
    fx = makeFixture('layers', options);
    repo = join(fx.root, 'repo');
    makeRepo(repo, { 'a.txt': 'a\n', 'keep/k.txt': 'k\n', 'gone/deep/g.txt': 'g\n', 'gone/h.txt': 'h\n', 'becomes-dir': 'file\n', 'dir-to-file/x.txt': 'x\n', 'tool.sh': 'echo\n' });
    chmodSync(fx.root, 0o755);
  }
  beforeEach(() => setUp());
  afterEach(() => fx.cleanup());

  it('shows exactly the new commit: edits, additions, deletions, whole directories gone, type and mode changes', async () => {
    await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    writeFileSync(join(repo, 'a.txt'), 'a changed\n');
    mkdirSync(join(repo, 'new'));
    writeFileSync(join(repo, 'new', 'n.txt'), 'n\n');
    rmSync(join(repo, 'gone'), { recursive: true });
    unlinkSync(join(repo, 'becomes-dir'));
    mkdirSync(join(repo, 'becomes-dir'));
    writeFileSync(join(repo, 'becomes-dir', 'inside.txt'), 'inside\n');
    rmSync(join(repo, 'dir-to-file'), { recursive: true });
    writeFileSync(join(repo, 'dir-to-file'), 'now a file\n');
    chmodSync(join(repo, 'tool.sh'), 0o755);
    symlinkSync('a.txt', join(repo, 'link'));
    const second = commitAll(repo, 'second');
    const ws = await fx.prepare({ key: 'second', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    const layers = readFileSync(join(fx.dataDir, 'bases', `${second}.layers`), 'utf8').trim().split('\n');
    assert.equal(layers.length, 2, 'built on the first base');
    assert.ok(!existsSync(join(fx.dataDir, 'bases', second, 'keep')), 'unchanged files are not written again');
    // Written as root from the user's own objects while the commit was copied into the mirror,
    // then handed to the sandbox user, as a layer written by that user would be.
    const notTheirs = entriesOf(join(fx.dataDir, 'bases', second)).filter((p) => lstatSync(p).uid !== SANDBOX_UID && !lstatSync(p).isCharacterDevice());
    assert.deepEqual(notTheirs, [], 'every file of the layer belongs to the sandbox user');
    assert.deepEqual(snapshotOf(ws.dir), checkoutOf(repo, second, join(fx.root, 'expected')));
    assert.deepEqual(await ws.changedFiles(), []);
    const status = execFileSync('git', [`--git-dir=${ws.gitDir}`, `--work-tree=${ws.dir}`, 'status', '--porcelain'], { encoding: 'utf8' });
    assert.equal(status, '', 'git in the view finds nothing to report');
  });

  it('sees the agent\'s edits of files from every layer', async () => {
    await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    writeFileSync(join(repo, 'a.txt'), 'a changed\n');
    rmSync(join(repo, 'gone'), { recursive: true });
    commitAll(repo, 'second');
    const ws = await fx.prepare({ key: 'second', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    await ws.files.writeFile('a.txt', 'agent\n'); // from the top layer
    await ws.files.deleteFile('keep/k.txt'); // from the bottom one
    await ws.files.writeFile('gone/again.txt', 'back\n'); // where a whiteout is
    rmSync(join(ws.dir, 'dir-to-file'), { recursive: true });
    mkdirSync(join(ws.dir, 'dir-to-file'));
    const changed = (await ws.changedFiles()).map((f) => `${f.status} ${f.path}`).sort();
    assert.deepEqual(changed, ['added gone/again.txt', 'deleted dir-to-file/x.txt', 'deleted keep/k.txt', 'modified a.txt']);
  });

  it(`checks out in full a commit that changes more than ${MAX_CHANGED} files`, async () => {
    await fx.prepare({ key: 'first', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    for (let i = 0; i <= MAX_CHANGED; i++) {
      if (i % 100 === 0) mkdirSync(join(repo, 'many', `d${i / 100}`), { recursive: true });
      writeFileSync(join(repo, 'many', `d${Math.floor(i / 100)}`, `f${i}.txt`), `${i}\n`);
    }
    rmSync(join(repo, 'gone'), { recursive: true });
    const big = commitAll(repo, 'big');
    const ws = await fx.prepare({ key: 'big', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    assert.ok(!existsSync(join(fx.dataDir, 'bases', `${big}.layers`)), 'a base of its own, not a layer');
    assert.deepEqual(snapshotOf(ws.dir), checkoutOf(repo, big, join(fx.root, 'expected')));
    assert.deepEqual(await ws.changedFiles(), []);
  });

  it(`starts a new stack after ${MAX_LAYERS} layers when none was flattened, and removes bases no task needs`, async () => {
    await fx.cleanup();
    setUp({ flattenBases: false });
    const workspaces = [];
    for (let i = 0; i <= MAX_LAYERS; i++) {
      writeFileSync(join(repo, 'a.txt'), `a ${i}\n`);
      const commit = commitAll(repo, `c${i}`);
      const ws = await fx.prepare({ key: `t${i}`, repo: { kind: 'local', path: repo }, mode: 'overlay' });
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), `a ${i}\n`);
      workspaces.push({ ws, commit });
    }
    const depth = (c: string) => (existsSync(join(fx.dataDir, 'bases', `${c}.layers`)) ? readFileSync(join(fx.dataDir, 'bases', `${c}.layers`), 'utf8').trim().split('\n').length : 1);
    assert.equal(depth(workspaces[0]!.commit), 1, 'the first base is a full checkout');
    assert.equal(depth(workspaces[MAX_LAYERS - 1]!.commit), MAX_LAYERS);
    assert.equal(depth(workspaces[MAX_LAYERS]!.commit), 1, 'a full checkout again');
    // The bottom base stays while a base stacked on it is in use, and goes with the last one.
    const stack = workspaces.slice(0, MAX_LAYERS);
    for (const { ws } of stack.slice(0, -1)) await ws.destroy();
    assert.ok(existsSync(join(fx.dataDir, 'bases', stack[0]!.commit)), 'still under the top of the stack');
    assert.equal(readFileSync(join(stack.at(-1)!.ws.dir, 'keep/k.txt'), 'utf8'), 'k\n');
    await stack.at(-1)!.ws.destroy();
    for (const { commit } of stack) assert.ok(!existsSync(join(fx.dataDir, 'bases', commit)), `base of ${commit} removed`);
  });

  it(`flattens a stack ${FLATTEN_AT} layers deep in the background, and stacks the next commits on that`, async () => {
    await fx.cleanup();
    setUp({ flattenBases: true });
    const bases = join(fx.dataDir, 'bases');
    const depth = (name: string) => (existsSync(join(bases, `${name}.layers`)) ? readFileSync(join(bases, `${name}.layers`), 'utf8').trim().split('\n').length : 1);
    const workspaces = [];
    let top = '';
    for (let i = 0; i < FLATTEN_AT; i++) {
      writeFileSync(join(repo, 'a.txt'), `a ${i}\n`);
      top = commitAll(repo, `c${i}`);
      workspaces.push(await fx.prepare({ key: `t${i}`, repo: { kind: 'local', path: repo }, mode: 'overlay' }));
      await fx.manager.idle();
    }
    assert.equal(depth(top), FLATTEN_AT, 'the last commit stacked on the others');
    const flat = `${top}.flat`;
    assert.ok(existsSync(join(bases, flat, 'keep', 'k.txt')) && !existsSync(join(bases, `${flat}.layers`)), 'its whole tree, checked out beside the stack');
    assert.deepEqual(snapshotOf(join(bases, flat)), checkoutOf(repo, top, join(fx.root, 'expected')));
    assert.equal(readFileSync(join(bases, flat, 'a.txt'), 'utf8'), `a ${FLATTEN_AT - 1}\n`);
    // The next commit (an edit and a deletion) is one layer on the flattened base.
    writeFileSync(join(repo, 'a.txt'), 'after\n');
    rmSync(join(repo, 'gone'), { recursive: true });
    const next = commitAll(repo, 'next');
    const ws = await fx.prepare({ key: 'next', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    workspaces.push(ws);
    assert.deepEqual(readFileSync(join(bases, `${next}.layers`), 'utf8').trim().split('\n'), [next, flat]);
    assert.deepEqual(snapshotOf(ws.dir), checkoutOf(repo, next, join(fx.root, 'expected')));
    assert.deepEqual(await ws.changedFiles(), []);
    const status = execFileSync('git', [`--git-dir=${ws.gitDir}`, `--work-tree=${ws.dir}`, 'status', '--porcelain'], { encoding: 'utf8' });
    assert.equal(status, '', 'git in the view finds nothing to report');
    // A new task on the flattened commit mounts its one layer, not the stack.
    const again = await fx.prepare({ key: 'again', repo: { kind: 'local', path: repo, commit: top, includeUncommitted: false }, mode: 'overlay' });
    workspaces.push(again);
    assert.deepEqual(JSON.parse(readFileSync(join(fx.dataDir, 'tasks', 'again', 'state.json'), 'utf8')).baseLayers, [flat]);
    assert.equal(readFileSync(join(again.dir, 'a.txt'), 'utf8'), `a ${FLATTEN_AT - 1}\n`);
    // Every base goes once no task needs it, the flattened one too.
    for (const w of workspaces) await w.destroy();
    assert.deepEqual(readdirSync(bases).filter((name) => !name.startsWith('.')), []);
  });

  it('stops a flattening where it is: nothing half-built is left in the bases', async () => {
    await fx.cleanup();
    setUp({ flattenBases: true });
    const bases = join(fx.dataDir, 'bases');
    // Enough files that the flattening is still checking out when it is stopped.
    for (let d = 0; d < 30; d++) {
      mkdirSync(join(repo, 'many', `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(repo, 'many', `d${d}`, `f${f}.txt`), `${d} ${f}\n`);
    }
    let top = '';
    for (let i = 0; i < FLATTEN_AT; i++) {
      writeFileSync(join(repo, 'a.txt'), `a ${i}\n`);
      top = commitAll(repo, `c${i}`);
      await fx.prepare({ key: `t${i}`, repo: { kind: 'local', path: repo }, mode: 'overlay' });
      if (i < FLATTEN_AT - 1) await fx.manager.idle();
    }
    // The last prepare started a flattening; stop it (where it is, or after it, if it was quick).
    await fx.manager.stop();
    assert.deepEqual(readdirSync(bases).filter((name) => name.startsWith('.tmp-')), [], 'no half-built base');
    const flat = `${top}.flat`;
    assert.equal(existsSync(join(bases, flat)), existsSync(join(bases, `${flat}.index`)), 'a flattened base is whole or absent');
    // Tasks still start; no new flattening does.
    writeFileSync(join(repo, 'a.txt'), 'after\n');
    const next = commitAll(repo, 'next');
    const ws = await fx.prepare({ key: 'next', repo: { kind: 'local', path: repo }, mode: 'overlay' });
    assert.deepEqual(snapshotOf(ws.dir), checkoutOf(repo, next, join(fx.root, 'expected')));
  });
});
