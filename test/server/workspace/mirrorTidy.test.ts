// A mirror that collected a pack per new commit is rolled up in the background once it has more
// than MAX_PACKS, losing no commit; tasks prepared meanwhile and after read every commit. Real git.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostEnvOf } from '../../../server/src/config';
import { SpawnRunner } from '../../../server/src/util/processRunner';
import { copyCommit, noteCopied } from '../../../server/src/workspace/localCopy';
import { MAX_PACKS, packCount } from '../../../server/src/workspace/mirrorTidy';
import { commitAll, makeRepo } from '../../support/gitRepo';
import { makeFixture, type Fixture } from './fixture';

describe('workspace: mirror packs', function () {
  this.timeout(120_000);
  let fx: Fixture;
  let repo: string;
  let n = 0;
  const host = { runner: new SpawnRunner(), env: hostEnvOf(process.env) };

  beforeEach(() => {
    fx = makeFixture('packs');
    repo = join(fx.root, 'repo');
    makeRepo(repo, { 'a.txt': 'zero\n', 'src/b.ts': 'b\n' });
  });
  afterEach(() => fx.cleanup());

  const prepare = (commit?: string) => fx.prepare({ key: `t${++n}`, repo: { kind: 'local', path: repo, ...(commit ? { commit } : {}) } });

  it(`rolls up a mirror past ${MAX_PACKS} packs in the background; every commit stays readable`, async () => {
    await prepare();
    const [name] = readdirSync(join(fx.dataDir, 'repos'));
    const mirrorDir = join(fx.dataDir, 'repos', name!);
    // New commits copied into the mirror the way a task on each would (resolveLocal): a pack each.
    const commits: string[] = [];
    for (let i = 1; i <= MAX_PACKS + 5; i++) {
      writeFileSync(join(repo, 'a.txt'), `revision ${i}\n`);
      const commit = commitAll(repo, `revision ${i}`);
      assert.ok(await copyCommit({ host, top: repo, mirrorDir, commit }), `commit ${i} was copied`);
      await noteCopied(mirrorDir, commit);
      commits.push(commit);
    }
    const before = await packCount(mirrorDir);
    assert.ok(before > MAX_PACKS, `${before} packs`);

    // A task prepared now reads its commit while the mirror is repacked behind it.
    const during = await prepare();
    assert.equal(readFileSync(join(during.dir, 'a.txt'), 'utf8'), `revision ${MAX_PACKS + 5}\n`);
    for (const deadline = Date.now() + 60_000; (await packCount(mirrorDir)) > MAX_PACKS; ) {
      if (Date.now() > deadline) throw new Error(`the mirror still has ${await packCount(mirrorDir)} packs`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = await packCount(mirrorDir);
    assert.ok(after <= 8, `${after} packs after the roll-up`);

    // Every commit is still there: an old one, one in the middle, the newest.
    for (const i of [1, 27, MAX_PACKS + 5]) {
      const ws = await prepare(commits[i - 1]);
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), `revision ${i}\n`);
      assert.equal(readFileSync(join(ws.dir, 'src/b.ts'), 'utf8'), 'b\n');
    }
    assert.equal(await packCount(mirrorDir), after, 'no repack below the limit');
  });
});
